"""A simulated low-quality pose estimator: high-quality skeletons in, the noisy,
incomplete 2D skeletons a fast estimator would give for the same instances out.

SIMULATED DATA. No dataset here has both qualities at scale, so low-quality training
data is made by this model of an estimator's errors. Its presets are calibrated
against real BlazePose output beside human or Kinect joints (``skelkd.data.calibrate``,
``docs/simulator.md``); they are a model of real errors, not real errors.

Per sequence, in order:

1. 3D sources are projected by an unmirrored pinhole camera (Kinect camera space:
   X to the sensor's left, Y up, Z away): u = cx - f X / Z, v = cy - f Y / Z.
2. Joints are mapped to the target layout by name; joints the source lacks are
   derived by :data:`skelkd.layouts.mapping.DERIVATIONS` or missing (score 0).
3. Jitter: Gaussian, relative to body height (the median over frames of the
   skeleton's vertical extent), larger at hands and feet and smaller on the face,
   correlated in time by an AR(1) process with coefficient ``jitter_rho``.
4. Outliers: a joint is displaced by up to ``outlier_scale`` body heights, a share
   ``outlier_rate`` of its frames, in runs of mean length ``outlier_burst`` frames (a
   two-state Markov chain as for misses) that keep the displacement drawn at their
   first frame; ``outlier_burst`` 1 draws every frame independently.
5. Left/right swaps: a share ``swap_rate`` of frames has the labels of one random pair
   of limbs (arms or legs) exchanged, in runs of mean length ``swap_burst`` frames that
   keep their pair; ``swap_burst`` 1 draws every frame independently.
6. Misses: each joint is lost in bursts (a two-state Markov chain with stationary
   rate ``miss_rate`` times the joint's factor and mean run ``miss_burst`` frames),
   and whole frames are lost the same way (``frame_miss_rate``, ``frame_miss_burst``).
7. Scores fall as errors grow: ``score = clip(score_max - score_slope * min(e / sigma,
   score_cap) + N(0, score_noise), score_min, 1)`` with e the joint's displacement and
   sigma its jitter scale; a missing joint has score 0 and coordinates 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from ..errors import SkelkdError
from ..io.pack import DEFAULT_FPS, Pack, PackWriter, Sample
from ..layouts import Layout, get_layout
from ..layouts.mapping import map_layout
from .transforms import body_height, hold_rest, repeat_to, retime, sample_rng

GROUPS = ("face", "hands", "feet", "body")


def joint_group(name: str) -> str:
    """The error group of a landmark: face, hands (wrist and beyond), feet (ankle and
    beyond) or body (everything else)."""
    if any(k in name for k in ("eye", "ear", "nose", "mouth", "head")):
        return "face"
    if any(k in name for k in ("wrist", "hand", "thumb", "index", "pinky")):
        return "hands" if "foot" not in name else "feet"
    if any(k in name for k in ("ankle", "foot", "heel")):
        return "feet"
    return "body"


@dataclass
class SimulatorParams:
    """Parameters of the simulated estimator (see the module docstring for the model)."""

    target_layout: str = "coco"
    jitter: float = 0.02
    jitter_factor: dict[str, float] = field(
        default_factory=lambda: {"face": 0.7, "hands": 1.6, "feet": 1.3, "body": 1.0})
    jitter_rho: float = 0.7
    outlier_rate: float = 0.01
    outlier_scale: float = 0.25
    outlier_burst: float = 1.0
    swap_rate: float = 0.01
    swap_burst: float = 1.0
    miss_rate: float = 0.02
    miss_factor: dict[str, float] = field(
        default_factory=lambda: {"face": 0.5, "hands": 3.0, "feet": 2.0, "body": 1.0})
    miss_burst: float = 4.0
    frame_miss_rate: float = 0.01
    frame_miss_burst: float = 5.0
    score_max: float = 1.0
    score_slope: float = 0.08
    score_cap: float = 4.0
    score_noise: float = 0.05
    score_min: float = 0.05
    focal: float = 1050.0
    image_size: tuple[int, int] = (1920, 1080)

    # every number's allowed range: (low, high), both included
    RANGES = {"jitter": (0, 10), "jitter_rho": (0, 1), "outlier_rate": (0, 1),
              "outlier_scale": (0, 10), "outlier_burst": (1, 1e6), "swap_rate": (0, 1),
              "swap_burst": (1, 1e6), "miss_rate": (0, 1),
              "miss_burst": (1, 1e6), "frame_miss_rate": (0, 1), "frame_miss_burst": (1, 1e6),
              "score_max": (0, 1), "score_slope": (0, 1e6), "score_cap": (0, 1e6),
              "score_noise": (0, 10), "score_min": (0, 1), "focal": (1e-6, 1e9)}

    def __post_init__(self) -> None:
        """Every parameter checked when it is set (a preset, --set, --params): one line
        naming the parameter, its value and what it must be."""
        for name, (lo, hi) in self.RANGES.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
                raise SkelkdError(f"simulator parameter {name}: expected a number in "
                                  f"[{lo:g}, {hi:g}], got {v!r}")
        for name in ("jitter_factor", "miss_factor"):
            d = getattr(self, name)
            if not isinstance(d, dict) or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) and x >= 0
                    for x in d.values()):
                raise SkelkdError(f"simulator parameter {name}: expected a mapping of joint "
                                  f"groups to numbers >= 0, got {d!r}")
        size = self.image_size
        if (not isinstance(size, tuple | list) or len(size) != 2
                or not all(isinstance(x, int) and x > 0 for x in size)):
            raise SkelkdError(f"simulator parameter image_size: expected two whole numbers "
                              f"> 0 (width, height), got {size!r}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SimulatorParams:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SkelkdError(f"unknown simulator parameter(s) {sorted(unknown)}; known: "
                              f"{sorted(names)}")
        d = dict(d)
        if "image_size" in d:
            d["image_size"] = tuple(d["image_size"])
        return cls(**d)

    def to_yaml(self) -> dict:
        """:meth:`to_dict` with numbers rounded for a readable YAML file (5 decimals,
        4 for the per-group factors)."""
        out = {}
        for k, v in self.to_dict().items():
            if isinstance(v, float):
                v = round(v, 5)
            elif isinstance(v, dict):
                v = {a: round(float(b), 4) for a, b in v.items()}
            out[k] = v
        return out

    def replace(self, **changes) -> SimulatorParams:
        return dataclasses.replace(self, **changes)


def _preset_file() -> Path:
    return Path(__file__).resolve().parent.parent / "resources" / "simulator_presets.yaml"


def presets() -> dict[str, SimulatorParams]:
    """The named presets (``good``, ``fast``, ``poor``), as calibrated by
    ``scripts/calibrate_simulator.py`` (see ``docs/simulator.md``)."""

    raw = yaml.safe_load(_preset_file().read_text())
    return {name: SimulatorParams.from_dict(spec) for name, spec in raw.items()}


def get_preset(name: str, **overrides) -> SimulatorParams:
    """A named preset with optional parameter overrides (``target_layout="openpose"``)."""
    known = presets()
    if name not in known:
        raise SkelkdError(f"unknown simulator preset '{name}'; presets: {', '.join(sorted(known))}")
    return known[name].replace(**overrides) if overrides else known[name]


def project(kp3d: np.ndarray, sc: np.ndarray, params: SimulatorParams) -> tuple[np.ndarray,
                                                                                   np.ndarray]:
    """Pinhole projection of (..., 3) camera coordinates to pixels; joints behind the
    camera become missing."""
    z = kp3d[..., 2]
    front = z > 1e-3
    zs = np.where(front, z, 1.0)
    w, h = params.image_size
    u = w / 2 - params.focal * kp3d[..., 0] / zs
    v = h / 2 - params.focal * kp3d[..., 1] / zs
    sc = np.where(front, sc, 0.0)
    return np.stack([u, v], axis=-1), sc


def _bursty(rng: np.random.Generator, shape: tuple[int, ...], rate: np.ndarray | float,
            burst: float) -> np.ndarray:
    """(..., T) bool misses from a two-state Markov chain along the last axis with
    stationary miss probability ``rate`` and mean miss run ``burst`` frames."""
    rate = np.broadcast_to(np.clip(np.asarray(rate, dtype=np.float64), 0, 0.95), shape[:-1])
    if not rate.any():
        return np.zeros(shape, dtype=bool)
    leave = 1.0 / max(burst, 1.0)  # P(miss -> found)
    enter = np.clip(rate * leave / np.maximum(1 - rate, 1e-9), 0, 1)  # P(found -> miss)
    out = np.zeros(shape, dtype=bool)
    state = rng.random(shape[:-1]) < rate
    u = rng.random(shape)
    for t in range(shape[-1]):
        out[..., t] = state
        state = np.where(state, u[..., t] >= leave, u[..., t] < enter)
    return out


def _run_starts(on: np.ndarray) -> np.ndarray:
    """For (..., T) bool runs, the time index of the first frame of the run each frame
    belongs to (a frame outside every run: its own index)."""
    t = np.arange(on.shape[-1])
    prev = np.concatenate([np.zeros_like(on[..., :1]), on[..., :-1]], axis=-1)
    start = np.where(on & prev, 0, t)
    return np.maximum.accumulate(start, axis=-1)


def degrade(kp2d: np.ndarray, sc: np.ndarray, layout: Layout, params: SimulatorParams,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-7 of the model on 2D skeletons already in the target layout.

    Args:
        kp2d: (M, T, V, 2) pixels; sc: (M, T, V) scores (0 = missing in the source).

    Returns:
        (M, T, V, 2) float32 keypoints and (M, T, V) float32 scores.
    """
    m, t, v = sc.shape
    height = body_height(kp2d, sc)
    groups = [joint_group(n) for n in layout.joints]
    sigma = params.jitter * height * np.array([params.jitter_factor.get(g, 1.0) for g in groups])
    # AR(1) jitter with stationary standard deviation sigma
    white = rng.standard_normal((m, t, v, 2))
    noise = np.empty_like(white)
    rho = params.jitter_rho
    noise[:, 0] = white[:, 0]
    for k in range(1, t):
        noise[:, k] = rho * noise[:, k - 1] + np.sqrt(1 - rho**2) * white[:, k]
    disp = noise * sigma[:, None]
    if params.outlier_burst > 1:
        outlier = _bursty(rng, (m, v, t), params.outlier_rate,
                          params.outlier_burst).transpose(0, 2, 1)
    else:  # one draw per frame (the presets fitted before bursts existed draw exactly so)
        outlier = rng.random((m, t, v)) < params.outlier_rate
    direction = rng.standard_normal((m, t, v, 2))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True) + 1e-9
    radius = rng.random((m, t, v, 1)) * params.outlier_scale * height
    if params.outlier_burst > 1:  # a run keeps the displacement drawn at its first frame
        held = _run_starts(outlier.transpose(0, 2, 1)).transpose(0, 2, 1)
        direction = np.take_along_axis(direction, held[..., None], axis=1)
        radius = np.take_along_axis(radius, held[..., None], axis=1)
    disp = np.where(outlier[..., None], direction * radius, disp)
    out = kp2d + disp
    # left/right swaps of one pair of limbs (arms: parts 1, 2; legs: parts 3, 4)
    if params.swap_burst > 1:
        swap = _bursty(rng, (m, t), params.swap_rate, params.swap_burst)
        which = np.take_along_axis(rng.integers(0, 2, (m, t)), _run_starts(swap), axis=1)
    else:
        swap = rng.random((m, t)) < params.swap_rate
        which = rng.integers(0, 2, (m, t))
    new_sc = sc.copy()
    for p, left_part in enumerate((1, 3)):
        sel = swap & (which == p)
        if not sel.any():
            continue
        perm = np.arange(v)
        for i in layout.part_indices[left_part]:
            j = layout.flip_index[i]
            perm[i], perm[j] = j, i
        out[sel], new_sc[sel] = out[sel][:, perm], new_sc[sel][:, perm]
    err = np.linalg.norm(out - kp2d, axis=-1)
    # misses
    miss_rate = params.miss_rate * np.array([params.miss_factor.get(g, 1.0) for g in groups])
    lost = _bursty(rng, (m, v, t), np.broadcast_to(miss_rate, (m, v)),
                   params.miss_burst).transpose(0, 2, 1)
    lost |= _bursty(rng, (m, t), params.frame_miss_rate, params.frame_miss_burst)[..., None]
    # capped: a present joint keeps a score a detector would report (swapped or displaced
    # limbs often come with confident scores); misses come from the miss process alone
    rel = np.minimum(err / np.maximum(sigma, 1e-9), params.score_cap)
    score = params.score_max - params.score_slope * rel
    score = np.clip(score + params.score_noise * rng.standard_normal(score.shape),
                    params.score_min, 1.0)
    score = np.where(lost | (new_sc <= 0), 0.0, score)
    out = np.where(score[..., None] > 0, out, 0.0)
    return out.astype(np.float32), score.astype(np.float32)


def simulate_sample(sample: Sample, src: Layout, params: SimulatorParams, seed: int
                    ) -> Sample:
    """The simulated low-quality twin of one high-quality sample (same instance id)."""
    dst = get_layout(params.target_layout)
    kp, sc = sample.keypoints, sample.scores
    if kp.shape[-1] == 3:
        kp, sc = project(kp, sc, params)
    kp, sc = map_layout(kp, sc, src, dst)
    rng = sample_rng(seed, sample.instance_id, "simulate")
    kp, sc = degrade(kp, sc, dst, params, rng)
    return Sample(kp, sc, sample.label, sample.instance_id, dst.name, dict(sample.meta))


def rested_twin(sample: Sample, src: Layout, params: SimulatorParams, draw: int,
                key: int, tempo: float = 1.0, frames: int = 0) -> Sample:
    """The simulated low-quality twin of a high-quality sample given a still rest before
    and after the action (:func:`skelkd.data.transforms.hold_rest`, 0 to 1 times its
    length each side, drawn from ``(draw, key)``), degraded by the simulator with seed
    ``draw``: a trimmed clip made to look like an untrimmed real one, for choosing how a
    real clip is read and calibrating the "no known action" threshold. ``tempo`` != 1
    first plays the action that many times as long (:func:`~skelkd.data.transforms.retime`);
    ``frames`` > 0 plays the rested clip over and over to at least that many frames
    (:func:`~skelkd.data.transforms.repeat_to`) before it is degraded, so no two
    repetitions carry the same estimator errors."""
    kp, sc = sample.keypoints, sample.scores
    if tempo != 1.0:
        kp, sc = retime(kp, sc, tempo)
    kp, sc = hold_rest(kp, sc, np.random.default_rng([draw, key]))
    kp, sc = repeat_to(kp, sc, frames)
    rested = Sample(kp, sc, sample.label, sample.instance_id, sample.layout, dict(sample.meta))
    return simulate_sample(rested, src, params, seed=draw)


def classes_containing(names: Sequence[str], parts: Sequence[str]) -> list[int]:
    """The indices of the class names that contain one of ``parts`` (a held-out set's
    classes close to a known action, left out by name)."""
    return [c for c, n in enumerate(names) if any(x in n for x in parts)]


def simulated_clips(pack: Pack, params: SimulatorParams, exclude: Sequence[str] = (),
                    seed: int = 0, fps: float = DEFAULT_FPS, seconds: float = 0.0
                    ) -> Iterator[Sample]:
    """Every clip of a high-quality pack as the simulator degrades it (``seed``), in the
    order of the pack, less the classes whose name contains one of ``exclude``; a clip
    without a frame rate gets ``fps``. ``seconds`` > 0 plays each clip over and over to at
    least that long (:func:`~skelkd.data.transforms.repeat_to`) before it is degraded.
    For measuring a model on actions it was not trained on, simulated like its training
    data."""
    left_out = set(classes_containing(list(pack.class_names), exclude))
    for i in range(len(pack)):
        s = pack[i]
        if s.label in left_out:
            continue
        rate = s.meta.get("fps") or fps
        if seconds > 0:
            kp, sc = repeat_to(s.keypoints, s.scores, int(seconds * rate))
            s = Sample(kp, sc, s.label, s.instance_id, s.layout, dict(s.meta))
        out = simulate_sample(s, pack.layout, params, seed)
        out.meta["fps"] = rate
        yield out


def simulate_pack(hq: Pack, out: str | Path, params: SimulatorParams, *, seed: int = 0,
                  preset: str | None = None, overwrite: bool = False, progress: bool = True,
                  on_sample: Callable[[int], None] | None = None) -> Path:
    """Write the simulated low-quality pack of every sample of ``hq`` (splits kept)."""

    record = {"preset": preset, "seed": seed, "source_pack": str(hq.path),
              "params": params.to_dict(),
              "note": "SIMULATED low-quality skeletons made by skelkd's estimator simulator"}
    desc = f"SIMULATED low-quality ({preset or 'custom'}) from: {hq.meta.get('description', '')}"
    with PackWriter(out, params.target_layout, hq.class_names, description=desc,
                    source=str(hq.path), simulated=record, overwrite=overwrite,
                    protect=[hq.path]) as w:
        for i in tqdm(range(len(hq)), desc="simulate", unit="sample", disable=not progress):
            w.add(simulate_sample(hq[i], hq.layout, params, seed), where=f"{hq.path}[{i}]")
            if on_sample:
                on_sample(i)
        for split, subsets in hq.splits.items():
            for subset, idx in subsets.items():
                w.set_split(split, subset, idx)
    return Path(out)
