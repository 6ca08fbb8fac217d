"""Predictions of a trained model for skeleton files or packs (``skelkd predict``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .config import ExperimentConfig, load_config
from .data.transforms import Pipeline, flip
from .errors import SkelkdError
from .io import open_pack
from .io.pack import Sample
from .io.readers import get_reader
from .layouts import get_layout
from .layouts.mapping import map_layout
from .models.recognizer import member_probabilities, members_of
from .train.api import load_module

GUESS_FORMAT = {".npz": "blazepose", ".skeleton": "ntu", ".json": "coco", ".npy": "numpy",
                ".jsonl": "pifpaf"}


def read_samples(path: str | Path, fmt: str | None = None, **options) -> list[Sample]:
    """Samples from a pack, or from a raw file or folder read by a ``skelkd data
    import`` reader (``fmt``, guessed from the suffix when not given)."""

    path = Path(path)
    if (path / "meta.json").exists() or path.name.endswith((".skpack", ".skpack.zip")):
        return list(open_pack(path))
    fmt = fmt or GUESS_FORMAT.get(path.suffix)
    if fmt is None:
        raise SkelkdError(f"{path}: cannot tell its format; pass --format (see `skelkd data "
                          "formats`)")
    return [sample for sample, _, _ in get_reader(fmt).read(path, **options).items]


def _prepared(spec, sample: Sample, num_frames: int):
    """``sample``'s joints in the model's layout (mapped by landmark names when it
    differs; missing joints stay missing) and the pipeline that feeds the model."""

    layout = get_layout(spec.layout)
    kp, sc = sample.keypoints, sample.scores
    if sample.layout != layout.name:
        kp, sc = map_layout(kp, sc, get_layout(sample.layout), layout)
    coords = spec.coord_dims or kp.shape[-1]
    if kp.shape[-1] != coords:
        raise SkelkdError(f"sample {sample.instance_id}: {kp.shape[-1]}D joints, the model "
                          f"takes {coords}D")
    return kp, sc, Pipeline(layout, num_frames, spec.num_persons,
                            **spec.pipeline_options(coords))


def _ranked(prob: np.ndarray, names: list[str], top: int) -> list[dict]:
    return [{"class": names[i], "index": int(i), "probability": float(prob[i])}
            for i in np.argsort(-prob)[:top]]


def predict(model: torch.nn.Module, samples: list[Sample], num_frames: int, top: int = 5,
            class_names: list[str] | None = None) -> list[dict]:
    """Top-``top`` classes and probabilities of each sample, each read as one input."""
    spec = model.spec
    names = class_names or spec.class_names or [f"class {c}" for c in range(spec.num_classes)]
    model.eval()
    out = []
    for s in samples:
        kp, sc, pipe = _prepared(spec, s, num_frames)
        x = torch.from_numpy(pipe(kp, sc, s.instance_id))[None]
        with torch.no_grad():
            prob = torch.softmax(model(x).float(), dim=1)[0].numpy()
        out.append({"instance_id": s.instance_id, "frames": s.num_frames,
                    "top": _ranked(prob, names, top)})
    return out


def is_model(path: str | Path) -> bool:
    p = Path(path)
    return p.suffix == ".ckpt" or (p / "checkpoints" / "last.ckpt").is_file()


def load_model(path: str | Path):
    """A trained model, its run configuration (None when the folder has none) and its
    run folder, from a run folder or a checkpoint."""
    return (load_module(path).model, *run_of(path))


def input_frames(model: torch.nn.Module, cfg: ExperimentConfig | None = None) -> int:
    """The frames T of one input of ``model``: its run's ``input.num_frames`` when the run
    configuration is at hand, else the T it was trained with (``spec.num_frames``), else
    32 (older checkpoints that did not record it)."""
    return cfg.input.num_frames if cfg is not None else (model.spec.num_frames or 32)


def run_of(path: str | Path) -> tuple[ExperimentConfig | None, Path]:
    """The run configuration (None when the folder has none) and the run folder of a
    model's run folder or checkpoint (``RUN/checkpoints/last.ckpt``)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent.parent
    cfg = load_config(folder / "config.yaml") if (folder / "config.yaml").exists() else None
    return cfg, folder


SHIPPED_MODEL = Path(__file__).parent / "resources" / "models" / "penn_action.ckpt"
"""The student shipped in the package (docs/model_card.md): Penn Action's 15 classes from
the 13 joints Penn Action annotates, which BlazePose's landmarks map to by name."""


def default_model(path: str | Path | None = None):
    """:func:`load_model` of ``path``, or of the model ``skelkd predict`` uses when none is
    given: the shipped student (:data:`SHIPPED_MODEL`)."""
    if path is None:
        if not SHIPPED_MODEL.is_file():
            raise SkelkdError(f"no model given and the shipped one ({SHIPPED_MODEL}) is "
                              "missing from this installation: pass --model")
        path = SHIPPED_MODEL
    return load_model(path)


WINDOW_SCALES = (0.5, 1.0, 2.0, 4.0)
"""Window lengths :func:`predict_clip` reads a clip at, in units of the model's
``clip_seconds`` (the median duration of its training clips). Chosen on Penn Action
validation clips with a synthetic rest, each action played at five tempos from twice as
fast to twice as slow (``experiments/clip_tempo.py``, docs/clip_tempo.md): the fourth
length (added to 0.5, 1 and 2) reads a slowly performed action whole and was ahead at every
tempo, most at half speed."""


def clip_windows(num_frames: int, length: int, step: int | None = None
                 ) -> list[tuple[int, int]]:
    """(start, end) windows of ``length`` frames every ``step`` frames (default: half a
    window), the last ending at the clip's end; the whole clip when it is not longer
    than ``length``."""
    if num_frames <= length:
        return [(0, num_frames)]
    step = step or max(1, length // 2)
    starts = list(range(0, num_frames - length + 1, step))
    if starts[-1] + length < num_frames:
        starts.append(num_frames - length)
    return [(s, s + length) for s in starts]


NO_ACTION = "no known action"


READINGS = ("mean", "confident", "max", "best")
"""How :func:`predict_clip` combines its windows' probabilities: within each scale,
``mean``, every window alike; ``confident``, each window weighted by its top
probability; ``max``, the window the model is surest of (the model locating the action
in a clip that holds more than the action); then the scales averaged. ``best``: the one
window of any scale the model is surest of, so a scale whose windows all hold more than
the action (a short clip, read whole at the longer scales) does not outvote the scale
that holds the action alone."""

DEFAULT_READING = "max"
"""The reading ``skelkd predict`` uses: chosen on Penn Action validation clips with a
synthetic rest before and after the action, where it kept the most of the trimmed clips'
accuracy and lost none on the trimmed clips (``experiments/window_reading.py``,
docs/window_reading.md)."""


def check_reading(reading: str, name: str = "reading") -> None:
    """A :class:`SkelkdError` naming ``name`` unless ``reading`` is one of
    :data:`READINGS`."""
    if reading not in READINGS:
        raise SkelkdError(f"{name}: expected one of {', '.join(READINGS)}, got '{reading}'")


MIRROR = False
"""Whether :func:`predict_clip` averages each window's probabilities with those of its
mirror image (left and right swapped, :func:`skelkd.data.transforms.flip`, the training
augmentation's mirror). Off: over the shipped recipe's five students on Penn Action
validation clips it moved top-1 by -0.47 as trimmed and +0.71 with a rest, neither
significant (``experiments/mirror_reading.py``, docs/mirror_reading.md), for twice the
inference."""


def window_inputs(model: torch.nn.Module, sample: Sample, num_frames: int | None = None,
                  scales: tuple[float, ...] = WINDOW_SCALES, mirror: bool = MIRROR
                  ) -> list[tuple[list[tuple[int, int]], torch.Tensor]]:
    """Per scale of ``scales``, the windows :func:`predict_clip` reads ``sample`` in and
    the model's input batch of them: the windows in order, and with ``mirror`` then their
    mirror images (so the batch holds ``2 * len(windows)`` inputs)."""
    spec = model.spec
    frames = num_frames or input_frames(model)
    fps = sample.fps
    t = sample.num_frames
    spans = [[(0, t)]] if spec.clip_seconds <= 0 else [
        clip_windows(t, max(2, int(round(s * spec.clip_seconds * fps)))) for s in scales]
    kp, sc, pipe = _prepared(spec, sample, frames)
    views = [(kp, sc)] + ([flip(kp, sc, pipe.layout)] if mirror else [])
    return [(windows, torch.from_numpy(pipe.batch([(k[:, a:b], c[:, a:b], sample.instance_id,
                                                    None)
                                                   for k, c in views for a, b in windows])))
            for windows in spans]


def window_probabilities(model: torch.nn.Module, sample: Sample, num_frames: int | None = None,
                         scales: tuple[float, ...] = WINDOW_SCALES, mirror: bool = MIRROR,
                         members: bool = False
                         ) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
    """Per scale of ``scales``, the windows :func:`predict_clip` reads ``sample`` in
    (:func:`window_inputs`) and the model's (windows, classes) probabilities on each (of an
    ensemble: its members' mean); with ``members``, each network's (members, windows,
    classes) instead (one member for a single network); with ``mirror``, each the mean of
    the window's and its mirror image's."""
    model.eval()
    nets = members_of(model)
    out = []
    for windows, x in window_inputs(model, sample, num_frames, scales, mirror):
        with torch.no_grad():
            prob = member_probabilities(nets, x).numpy()
        prob = prob.reshape(len(nets), -1, len(windows), prob.shape[-1]).mean(1)
        out.append((windows, prob if members else prob.mean(0)))
    return out


def combine_windows(per_scale: list[tuple[list[tuple[int, int]], np.ndarray]],
                    reading: str = DEFAULT_READING) -> np.ndarray:
    """The clip's class probabilities from its windows' (:func:`window_probabilities`):
    within each scale the windows weighted as ``reading`` says (:data:`READINGS`), then
    the scales averaged; or, for ``best``, the surest window of them all."""
    check_reading(reading)
    if reading == "best":
        prob = np.concatenate([p for _, p in per_scale])
        return prob[prob.max(1).argmax()]
    combined = []
    for windows, prob in per_scale:
        if reading == "max":
            combined.append(prob[prob.max(1).argmax()])
            continue
        w = prob.max(1) if reading == "confident" else np.ones(len(windows))
        combined.append(w @ prob / w.sum())
    return np.mean(combined, axis=0)


def entropy(prob: np.ndarray) -> np.ndarray:
    """The entropy (nats) of class probabilities along their last axis."""
    return -(prob * np.log(np.clip(prob, np.finfo(prob.dtype).tiny, None))).sum(-1)


def window_confidence(prob: np.ndarray) -> np.ndarray:
    """Each window's confidence from its (members, windows, classes) probabilities (or
    (windows, classes), one member): the top probability of the members' mean, less how
    far the members disagree, their mutual information with the answer (the entropy of
    their mean less their mean entropy; Depeweg et al., ICML 2018), which is 0 for a single
    network."""
    prob = prob[None] if prob.ndim == 2 else prob
    mean = prob.mean(0)
    return mean.max(-1) - (entropy(mean) - entropy(prob).mean(0))


def surest_over_stretches(conf: np.ndarray, windows: list[tuple[int, int]],
                          stretch: int | None) -> float:
    """The largest of the windows' confidences ``conf`` (in the order of ``windows``,
    :func:`clip_windows`); with ``stretch`` (frames), the largest within each run of as
    many consecutive windows as a clip of ``stretch`` frames holds, averaged over the
    runs: what a ``stretch``-frame part of the clip would score, on average. Equal to the
    largest when the clip holds no more windows than that. The largest of more windows is
    larger whatever the clip shows, so without a stretch a longer clip reads surer. Measured
    in place of :func:`clip_confidence`'s surest window, not adopted (design item 84,
    docs/clip_length_rejection.md)."""
    k = len(clip_windows(stretch, windows[0][1] - windows[0][0])) if stretch else len(conf)
    if len(conf) <= k:
        return float(conf.max())
    runs = np.lib.stride_tricks.sliding_window_view(conf, k)
    return float(runs.max(1).mean())


def clip_confidence(per_scale: list[tuple[list[tuple[int, int]], np.ndarray]]) -> float:
    """How sure the model is that a clip shows one of its actions: per window length the
    confidence of the window it is surest of (:func:`window_confidence`: the top
    probability, less its members' disagreement), averaged over the lengths. ``per_scale``:
    :func:`window_probabilities`, with ``members=True`` for an ensemble. The threshold of
    "no known action" reads this, not the answer's probability: on held-out clips it tells
    actions the model does not know from known ones better (docs/unknown_action_score.md:
    the window lengths' surest windows against the answer's probability, which also drops
    when the lengths agree on no one class; then the members' disagreement subtracted,
    which answered fewer clips of unknown actions)."""
    return float(np.mean([window_confidence(prob).max() for _, prob in per_scale]))


def predict_clip(model: torch.nn.Module, sample: Sample, num_frames: int | None = None,
                 top: int = 5, scales: tuple[float, ...] = WINDOW_SCALES,
                 reading: str = DEFAULT_READING, mirror: bool = MIRROR,
                 reject_below: float | None = None) -> dict:
    """The model's answer for a whole clip (``skelkd predict`` on a video).

    A model learns the duration of its training clips: one input of ``num_frames``
    frames covers about ``spec.clip_seconds`` (Penn Action: about 2 s, one swing, one
    repetition). A real clip may last ten times longer and repeat the action, and
    squeezing all of it into one input plays it too fast for the model. So the clip is
    read in windows of ``scale * clip_seconds`` seconds (at the clip's own frame rate,
    ``sample.meta['fps']``, 30 when absent) for every scale of ``scales``, overlapping by
    half; the class probabilities are combined over the windows of each scale as
    ``reading`` says (:func:`combine_windows`), then averaged over the scales. A model
    without ``clip_seconds`` (older checkpoints) reads the whole clip as one input. The
    input frames per window: ``num_frames``, else the model's own (``spec.num_frames``),
    else 32.

    ``decision`` is the top class, or :data:`NO_ACTION` when ``confidence``
    (:func:`clip_confidence`) is below ``reject_below``: by default the model's
    ``spec.reject_below`` (calibrated on held-out data when the model was shipped:
    ``scripts/ship_model.py``); 0 always names a class.
    """
    spec = model.spec
    each = window_probabilities(model, sample, num_frames, scales, mirror, members=True)
    per_scale = [(windows, prob.mean(0)) for windows, prob in each]
    prob = combine_windows(per_scale, reading)
    names = spec.class_names or [f"class {c}" for c in range(spec.num_classes)]
    ranked = _ranked(prob, names, top)
    confidence = clip_confidence(each)
    known = confidence >= (spec.reject_below if reject_below is None else reject_below)
    return {"instance_id": sample.instance_id, "frames": sample.num_frames,
            "windows": sum(len(w) for w, _ in per_scale), "confidence": confidence,
            "decision": ranked[0]["class"] if known else NO_ACTION, "top": ranked}


def predict_windows(model: torch.nn.Module, sample: Sample, num_frames: int, window: int,
                    stride: int, top: int = 5,
                    class_names: list[str] | None = None) -> list[dict]:
    """:func:`predict` on sliding windows of ``window`` frames every ``stride`` frames
    (one window when the clip is shorter): ``start``, ``end`` and ``top`` per window."""
    if window < 1 or stride < 1:
        raise SkelkdError(f"window ({window}) and stride ({stride}) must be positive")
    out = []
    for s, e in clip_windows(sample.num_frames, window, stride):
        part = Sample(sample.keypoints[:, s:e], sample.scores[:, s:e], sample.label,
                      f"{sample.instance_id}[{s}:{e}]", sample.layout, sample.meta)
        r = predict(model, [part], num_frames, top, class_names)[0]
        out.append({"start": s, "end": e, "top": r["top"]})
    return out


def predict_video(model: torch.nn.Module, path: str | Path, num_frames: int, top: int = 5,
                  window: int = 64, stride: int = 32, out_dir: str | Path = ".",
                  reading: str = DEFAULT_READING, reject_below: float | None = None) -> dict:
    """``skelkd predict`` on a video (or a folder of frames): BlazePose, then the answer
    over the whole clip (:func:`predict_clip`) and over sliding windows
    (:func:`predict_windows`), and an annotated PNG strip (skeleton on frames, each
    frame's window's answer under it) in ``out_dir``. Needs the ``video`` extra."""
    from .video import extract, to_sample
    from .viz.skeleton import draw_strip

    e = extract(path, keep=6)
    if e.found == 0:
        raise SkelkdError(f"{path}: no person found in any of its {len(e.scores)} frames")
    sample = to_sample(e)
    result = predict_clip(model, sample, num_frames, top, reading=reading,
                          reject_below=reject_below)
    result["windows"] = predict_windows(model, sample, num_frames, window, stride, top)
    result["extract_fps"] = e.speed
    result["person_found"] = e.found

    def caption(t: int) -> str:
        if e.scores[t].max() == 0:
            return "no person"
        w = next(w for w in reversed(result["windows"]) if w["start"] <= t)
        b = w["top"][0]
        return f"{b['class']} {100 * b['probability']:.0f}%"

    clip_top = ", ".join(f"{t['class']} {100 * t['probability']:.0f}%" for t in result["top"][:3])
    out = draw_strip(e.frames, e.keypoints, e.scores, get_layout("blazepose"),
                     [caption(t) for t, _ in e.frames],
                     Path(out_dir) / f"{e.path.stem}_predicted.png",
                     title=f"{e.path.name}: {clip_top} (whole clip); under each frame: its "
                           f"{window}-frame window")
    result["annotated"] = str(out)
    return result
