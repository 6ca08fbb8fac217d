"""Exporting a trained recogniser to TorchScript or ONNX, verified by running the
exported model beside PyTorch (``skelkd export``).

The exported model maps (N, M, T, V, C) inputs to (N, num_classes) logits (of an
ensemble: the log of its members' mean probabilities) and (N,) ``member_entropy``, its
members' mean entropy (a single network's own), which with the logits gives the
confidence that decides "no known action" (``skelkd.predict.window_confidence``); N is
dynamic in ONNX. ONNX export and its check need the ``export`` extra (onnx, onnxscript,
onnxruntime).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .data.calibrate import MISS_THRESHOLD
from .errors import SkelkdError
from .layouts import get_layout
from .models.recognizer import mean_entropy, mean_log_probability, member_probabilities, members_of
from .predict import WINDOW_SCALES


def example_input(model: torch.nn.Module, num_frames: int, batch: int = 2,
                  seed: int = 0) -> torch.Tensor:
    spec = model.spec

    g = torch.Generator().manual_seed(seed)
    v = get_layout(spec.layout).num_joints
    return torch.randn(batch, spec.num_persons, num_frames, v, spec.in_channels, generator=g)


class Deployed(torch.nn.Module):
    """What is exported: a recogniser or an ensemble, returning its logits and its
    members' mean entropy (:func:`skelkd.models.recognizer.mean_entropy`)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.spec = model.spec

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        nets = members_of(self.model)
        if len(nets) == 1:
            logits = self.model(x)
            probs = logits.float().softmax(dim=1)[None]
        else:
            probs = member_probabilities(nets, x)
            logits = mean_log_probability(probs)
        return logits, mean_entropy(probs)


def _replace(tmp: Path, out: Path) -> Path:
    os.replace(tmp, out)
    return out


def export_torchscript(model: torch.nn.Module, out: Path, num_frames: int) -> Path:
    model.eval()
    tmp = out.with_name(f".{out.name}.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is deprecated in favour of torch.export / ONNX; still asked for
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(Deployed(model), example_input(model, num_frames))
    traced.save(str(tmp))
    return _replace(tmp, out)


def deploy_metadata(model: torch.nn.Module, num_frames: int) -> dict[str, str]:
    """What a deployer needs beside the weights to feed the model and read its output,
    as strings (ONNX ``metadata_props``): classes, layout and joint names, input shape,
    channels and the preprocessing the model was trained with."""


    spec = model.spec
    layout = get_layout(spec.layout)
    coords = spec.coord_dims or (spec.in_channels if spec.in_channels in (2, 3) else 2)
    opts = spec.pipeline_options(coords)
    return {
        "skelkd_version": __version__,
        "class_names": json.dumps(list(spec.class_names)),
        "layout": layout.name,
        "joint_names": json.dumps(list(layout.joints)),
        "input": "skeletons: float32 (N, M, T, V, C)",
        "num_persons": str(spec.num_persons),
        "num_frames": str(num_frames),
        "num_joints": str(layout.num_joints),
        "channels": json.dumps(["x", "y", "z"][:coords] + (["score"] if opts["with_score"]
                                                           else [])),
        "normalization": opts["normalization"],
        "align_view": json.dumps(opts["align_view"]),
        "clip_seconds": f"{float(getattr(spec, 'clip_seconds', 0.0) or 0.0):g}",
        "window_scales": json.dumps(list(WINDOW_SCALES)),
        "miss_below": f"{MISS_THRESHOLD:g}",
        "reject_below": f"{float(getattr(spec, 'reject_below', 0.0) or 0.0):g}",
        "output": "logits: float32 (N, num_classes), softmax for probabilities; "
                  "member_entropy: float32 (N,), the ensemble members' mean entropy of "
                  "their probabilities (a single network's own), for the confidence "
                  "(docs/deploy.md)",
        "preprocessing": "frames sampled uniformly to num_frames (the middle frame of each "
                         "of num_frames equal segments); coordinates centred on the torso "
                         "middle (mean over frames of the shoulders' and hips' midpoint) and "
                         "divided by the median torso length; missing joints 0 with score "
                         "0, and so is an estimator's joint scored below miss_below (the "
                         "rule the training data's simulated misses follow; "
                         "skelkd.data.transforms.Pipeline, skelkd.video.to_sample, "
                         "docs/deploy.md)",
    }


def export_onnx(model: torch.nn.Module, out: Path, num_frames: int) -> Path:
    """One self-contained ONNX file (the weights inside, no side file) carrying
    :func:`deploy_metadata` as its metadata, written to a temporary name and renamed."""
    try:
        import onnx
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise SkelkdError("ONNX export needs the export extra: pip install 'skelkd[export]' "
                          f"({exc})") from exc
    model.eval()
    batch = torch.export.Dim("batch", min=1, max=4096)
    with torch.no_grad():
        program = torch.onnx.export(Deployed(model), (example_input(model, num_frames),),
                                    dynamo=True, input_names=["skeletons"],
                                    output_names=["logits", "member_entropy"],
                                    dynamic_shapes=({0: batch},), verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, deploy_metadata(model, num_frames))
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        return _replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def run_exported(path: Path, fmt: str, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The exported model's outputs on ``x``: logits and the members' mean entropy."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loaded = torch.jit.load(str(path))
        with torch.no_grad():
            return tuple(o.numpy() for o in loaded(x))
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise SkelkdError("checking an ONNX export needs onnxruntime (pip install "
                          f"'skelkd[export]'): {exc}") from exc
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return tuple(session.run(None, {session.get_inputs()[0].name: x.numpy()}))


def export_model(model: torch.nn.Module, out: Path, fmt: str, num_frames: int,
                 check_batch: int = 3) -> dict:
    """Export ``model`` and compare the exported model's outputs (:class:`Deployed`) with
    PyTorch's on an input of another batch size than the export's example. Returns the
    check's figures; raises if they differ by more than 1e-4 (relative to the logits'
    scale)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        export_torchscript(model, out, num_frames)
    elif fmt == "onnx":
        export_onnx(model, out, num_frames)
    else:
        raise SkelkdError(f"export format must be torchscript or onnx, not '{fmt}'")
    x = example_input(model, num_frames, batch=check_batch, seed=1)
    with torch.no_grad():
        want, want_entropy = (o.numpy() for o in Deployed(model).eval()(x))
    got, got_entropy = run_exported(out, fmt, x)
    diff = max(float(np.abs(got - want).max()), float(np.abs(got_entropy - want_entropy).max()))
    scale = float(np.abs(want).max()) or 1.0
    result = {"path": str(out), "format": fmt, "max_abs_diff": diff, "max_abs_logit": scale,
              "same_top1": bool((got.argmax(1) == want.argmax(1)).all())}
    if diff > 1e-4 * max(scale, 1.0):
        raise SkelkdError(f"{out}: exported model differs from PyTorch by {diff:.2e}")
    return result
