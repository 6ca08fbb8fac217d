"""Predictions of a trained model for skeleton files or packs (``skelkd predict``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .errors import SkelkdError
from .io.pack import Sample
from .layouts import get_layout
from .layouts.mapping import map_layout

GUESS_FORMAT = {".npz": "blazepose", ".skeleton": "ntu", ".json": "coco", ".npy": "numpy",
                ".jsonl": "pifpaf"}


def read_samples(path: str | Path, fmt: str | None = None, **options) -> list[Sample]:
    """Samples from a pack, or from a raw file or folder read by a ``skelkd data
    import`` reader (``fmt``, guessed from the suffix when not given)."""
    from .io import open_pack
    from .io.readers import get_reader

    path = Path(path)
    if (path / "meta.json").exists() or path.name.endswith((".skpack", ".skpack.zip")):
        return list(open_pack(path))
    fmt = fmt or GUESS_FORMAT.get(path.suffix)
    if fmt is None:
        raise SkelkdError(f"{path}: cannot tell its format; pass --format (see `skelkd data "
                          "formats`)")
    return [sample for sample, _, _ in get_reader(fmt).read(path, **options).items]


def predict(model: torch.nn.Module, samples: list[Sample], num_frames: int, top: int = 5,
            class_names: list[str] | None = None) -> list[dict]:
    """Top-``top`` classes and probabilities of each sample, mapped to the model's layout
    by landmark names when it differs (missing joints stay missing)."""
    from .data.transforms import Pipeline

    spec = model.spec
    layout = get_layout(spec.layout)
    names = class_names or spec.class_names or [f"class {c}" for c in range(spec.num_classes)]
    model.eval()
    out = []
    for s in samples:
        kp, sc = s.keypoints, s.scores
        if s.layout != layout.name:
            kp, sc = map_layout(kp, sc, get_layout(s.layout), layout)
        coords = spec.coord_dims or kp.shape[-1]
        if kp.shape[-1] != coords:
            raise SkelkdError(f"sample {s.instance_id}: {kp.shape[-1]}D joints, the model takes "
                              f"{coords}D")
        pipe = Pipeline(layout, num_frames, spec.num_persons, **spec.pipeline_options(coords))
        x = torch.from_numpy(pipe(kp, sc, s.instance_id))[None]
        with torch.no_grad():
            prob = torch.softmax(model(x).float(), dim=1)[0].numpy()
        best = np.argsort(-prob)[:top]
        out.append({"instance_id": s.instance_id, "frames": s.num_frames,
                    "top": [{"class": names[i], "index": int(i), "probability": float(prob[i])}
                            for i in best]})
    return out


def predict_windows(model: torch.nn.Module, sample: Sample, num_frames: int, window: int,
                    stride: int, top: int = 5,
                    class_names: list[str] | None = None) -> list[dict]:
    """:func:`predict` on sliding windows of ``window`` frames every ``stride`` frames
    (one window when the clip is shorter): ``start``, ``end`` and ``top`` per window."""
    if window < 1 or stride < 1:
        raise SkelkdError(f"window ({window}) and stride ({stride}) must be positive")
    t = sample.num_frames
    starts = list(range(0, max(t - window, 0) + 1, stride))
    if starts[-1] + window < t:
        starts.append(t - window)
    out = []
    for s in starts:
        e = min(s + window, t)
        part = Sample(sample.keypoints[:, s:e], sample.scores[:, s:e], sample.label,
                      f"{sample.instance_id}[{s}:{e}]", sample.layout, sample.meta)
        r = predict(model, [part], num_frames, top, class_names)[0]
        out.append({"start": s, "end": e, "top": r["top"]})
    return out
