"""Transforms on (M, T, V, C) keypoints and (M, T, V) scores, each one job.

:class:`Pipeline` chains them into what a model sees: sampled to T frames, padded to
M persons, normalised, occluded, augmented, and turned into input channels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import check_choices
from ..errors import SkelkdError
from ..layouts import PARTS, Layout, get_layout

CHOICES = {"short": ("repeat", "pad"), "occlusion_mode": ("sequence", "frame"),
           "occlusion_draw": ("instance", "fresh"),
           "normalization": ("torso", "minmax"), "rotate_axes": ("y", "xy")}
"""The values allowed for the pipeline's options that are names (:class:`Pipeline`;
:func:`skelkd.config.check_choices` checks them)."""


# ----------------------------------------------------------------------------- randomness


def sample_rng(seed: int, key: str, salt: str = "") -> np.random.Generator:
    """A generator fixed by (seed, sample key): the same occlusion for a given sample and
    seed in every run and every model (Python's ``hash`` is salted per process, so a
    cryptographic hash of the key is used instead)."""
    digest = hashlib.blake2b(f"{seed}\0{salt}\0{key}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


# ----------------------------------------------------------------------------- time, persons


def temporal_indices(num_frames: int, length: int, rng: np.random.Generator | None = None,
                     short: str = "repeat") -> np.ndarray:
    """Frame indices that sample a sequence of ``num_frames`` to ``length`` frames.

    The sequence is cut into ``length`` equal segments and one frame is taken from each:
    a random one when ``rng`` is given (training), the middle one otherwise (testing).
    A sequence shorter than ``length`` is stretched by repeating frames (``short=
    "repeat"``) or kept and padded with zero frames at the end (``short="pad"``, the
    paper's choice at T = 300; padded positions are -1).
    """
    if num_frames < 1 or length < 1:
        raise ValueError(f"cannot sample {num_frames} frames to {length}")
    if num_frames < length and short == "pad":
        return np.concatenate([np.arange(num_frames), np.full(length - num_frames, -1)])
    edges = np.linspace(0, num_frames, length + 1)
    if rng is None:
        pos = (edges[:-1] + edges[1:]) / 2
    else:
        pos = edges[:-1] + rng.random(length) * (edges[1:] - edges[:-1])
    return np.clip(np.floor(pos).astype(np.int64), 0, num_frames - 1)


def take_frames(kp: np.ndarray, sc: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``idx`` of a sequence; index -1 gives a zero (missing) frame."""
    safe = np.maximum(idx, 0)
    kp, sc = kp[:, safe].copy(), sc[:, safe].copy()
    kp[:, idx < 0] = 0
    sc[:, idx < 0] = 0
    return kp, sc


def pad_persons(kp: np.ndarray, sc: np.ndarray, num_persons: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``num_persons`` persons with the largest total score (order kept) and pad
    with missing persons."""
    m = kp.shape[0]
    if m > num_persons:
        keep = np.sort(np.argsort(-sc.sum(axis=(1, 2)), kind="stable")[:num_persons])
        kp, sc = kp[keep], sc[keep]
    elif m < num_persons:
        kp = np.concatenate([kp, np.zeros((num_persons - m, *kp.shape[1:]), kp.dtype)])
        sc = np.concatenate([sc, np.zeros((num_persons - m, *sc.shape[1:]), sc.dtype)])
    return kp, sc


# ----------------------------------------------------------------------------- normalisation


def _anchor_points(kp: np.ndarray, sc: np.ndarray, layout: Layout, names: tuple[str, ...]):
    idx = [layout.index(n) for n in names if layout.has(n)]
    if not idx:
        return None
    pts, ok = kp[..., idx, :], sc[..., idx] > 0
    both = ok.all(axis=-1)
    return np.where(both[..., None], pts.mean(axis=-2), np.nan), both


def _torso_indices(layout: Layout) -> tuple[list[int], list[int]]:
    """The layout's shoulder and hip joints (those it has)."""
    return ([layout.index(n) for n in ("left_shoulder", "right_shoulder") if layout.has(n)],
            [layout.index(n) for n in ("left_hip", "right_hip") if layout.has(n)])


def body_frame(kp: np.ndarray, sc: np.ndarray, layout: Layout) -> tuple[np.ndarray, float]:
    """Centre and size of the body over a sequence of one or more persons.

    Centre: the mean over valid frames of the mid-point of shoulders and hips (the
    torso's middle); size: the median torso length (shoulder mid-point to hip
    mid-point). Falls back to all valid joints' mean and their extent when a layout
    or a sequence lacks shoulders or hips. :func:`body_frames` for a batch.
    """
    centre, size = body_frames(kp[None], sc[None], layout)
    return centre[0], float(size[0])


def body_frames(kp: np.ndarray, sc: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """:func:`body_frame` of every sequence of a batch at once: (B, M, T, V, C) keypoints
    and (B, M, T, V) scores give (B, C) centres and (B,) sizes (float32 for float32
    input), as masked reductions over the whole batch; each sequence's values do not
    depend on the others in its batch."""
    b, c = kp.shape[0], kp.shape[-1]
    centre = np.zeros((b, c), kp.dtype)
    size = np.zeros(b, kp.dtype)
    todo = np.ones(b, bool)  # sequences the torso rule could not settle
    sh, hp = _torso_indices(layout)
    if sh and hp:
        idx = sh + hp
        both = (sc[..., idx] > 0).all(axis=-1).reshape(b, -1)  # every shoulder and hip seen
        pts = kp[..., idx, :].reshape(b, -1, len(idx), c)
        mid_sh, mid_hp = pts[:, :, :len(sh)].mean(axis=2), pts[:, :, len(sh):].mean(axis=2)
        count = both.sum(axis=1)
        seen = count > 0
        mids = np.where(both[..., None], (mid_sh + mid_hp) / 2, 0)
        centre[seen] = mids[seen].sum(axis=1) / count[seen, None].astype(kp.dtype)
        # median over the seen frames: sort with the unseen ones last, take the middle
        lengths = np.sort(np.where(both, np.linalg.norm(mid_sh - mid_hp, axis=-1), np.inf),
                          axis=1)
        n = np.maximum(count, 1)
        lo = np.take_along_axis(lengths, ((n - 1) // 2)[:, None], axis=1)[:, 0]
        hi = np.take_along_axis(lengths, (n // 2)[:, None], axis=1)[:, 0]
        size[seen] = ((lo + hi) / 2)[seen]
        todo = ~(seen & (size > 1e-6))
    if todo.any():  # fallback: all valid joints' mean and their extent
        n = int(todo.sum())  # coordinates first, so each reduction runs over contiguous memory
        pts = np.ascontiguousarray(np.moveaxis(kp[todo].reshape(n, -1, c), -1, 1))
        ok = (sc[todo] > 0).reshape(n, 1, -1)
        count = ok.sum(axis=-1)
        some = count[:, 0] > 0
        mean = np.where(ok, pts, 0).sum(axis=-1) / np.maximum(count, 1).astype(kp.dtype)
        extent = (np.where(ok, pts, -np.inf).max(axis=-1)
                  - np.where(ok, pts, np.inf).min(axis=-1)).max(axis=-1)
        centre[todo] = np.where(some[:, None], mean, 0)
        # a body is ~3 torsos tall; no valid joint at all: size 1
        size[todo] = np.where(some, np.maximum(extent.astype(np.float64) / 3, 1e-6), 1)
    return centre, size


def normalize(kp: np.ndarray, sc: np.ndarray, layout: Layout,
              align_view: bool = False) -> np.ndarray:
    """Centre on the torso and scale to unit torso length (:func:`body_frame`); missing
    joints stay 0. ``align_view`` (3D only) rotates the body so the shoulders run along
    x and the spine along y (averaged over the sequence), removing the camera's view.
    :func:`normalize_batch` for a batch."""
    return normalize_batch(kp[None], sc[None], layout, align_view)[0]


def minmax_batch(kp: np.ndarray, sc: np.ndarray) -> np.ndarray:
    """Each sequence of a (B, M, T, V, C) batch scaled per axis to [-1, 1] over its valid
    joints (all persons and frames), as CTR-GCN's NW-UCLA feeder does after its
    augmentation; missing joints stay 0. An axis without extent maps to 0."""
    b, c = kp.shape[0], kp.shape[-1]
    ok = (sc > 0).reshape(b, -1, 1)
    pts = kp.reshape(b, -1, c)
    lo = np.where(ok, pts, np.inf).min(axis=1, keepdims=True)
    hi = np.where(ok, pts, -np.inf).max(axis=1, keepdims=True)
    lo, span = np.where(np.isfinite(lo), lo, 0), np.where(np.isfinite(hi), hi - lo, 0)
    out = 2 * (pts - lo) / np.where(span > 1e-9, span, np.inf) - (span > 1e-9)
    return np.where(ok, out, 0.0).reshape(kp.shape).astype(np.float32)


def normalize_batch(kp: np.ndarray, sc: np.ndarray, layout: Layout,
                    align_view: bool = False) -> np.ndarray:
    """:func:`normalize` of a (B, M, T, V, C) batch of sequences, each by its own frame."""
    centre, size = body_frames(kp, sc, layout)
    out = (kp - centre[:, None, None, None]) / size[:, None, None, None, None]
    if align_view and kp.shape[-1] == 3:
        out = np.stack([o @ view_rotation(o, s, layout).T for o, s in zip(out, sc, strict=True)])
    return np.where((sc > 0)[..., None], out, 0.0).astype(np.float32)


def view_rotation(kp: np.ndarray, sc: np.ndarray, layout: Layout) -> np.ndarray:
    """(3, 3) rotation taking the mean body axes to x (subject's left to right as the
    camera sees it) and y (up); the identity when shoulders or hips are missing."""
    sh = _anchor_points(kp, sc, layout, ("left_shoulder", "right_shoulder"))
    hp = _anchor_points(kp, sc, layout, ("left_hip", "right_hip"))
    if sh is None or hp is None or not (sh[1] & hp[1]).any():
        return np.eye(3)
    both = sh[1] & hp[1]
    up = (sh[0][both] - hp[0][both]).mean(axis=0)
    ls, rs = layout.index("left_shoulder"), layout.index("right_shoulder")
    side_ok = (sc[..., ls] > 0) & (sc[..., rs] > 0)
    side = (kp[..., rs, :] - kp[..., ls, :])[side_ok].mean(axis=0)
    y = up / (np.linalg.norm(up) + 1e-9)
    x = side - y * (side @ y)
    if np.linalg.norm(x) < 1e-9:
        return np.eye(3)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    return np.stack([x, y, z])


# ----------------------------------------------------------------------------- occlusion


def occlusion_mask(shape: tuple[int, int, int], prob: float, rng: np.random.Generator,
                   mode: str = "sequence") -> np.ndarray:
    """Which joints :func:`occlude_joints` hides in an (M, T, V) sequence: a boolean
    (M, 1, V) array in ``"sequence"`` mode (the same joints in every frame), (M, T, V) in
    ``"frame"`` mode."""
    m, t, v = shape
    if mode == "sequence":
        return rng.random((m, 1, v)) < prob
    if mode == "frame":
        return rng.random((m, t, v)) < prob
    raise ValueError(f"occlusion mode must be 'sequence' or 'frame', not {mode!r}")


def instance_mask(shape: tuple[int, int, int], prob: float, seed: int, key: str,
                  mode: str = "sequence") -> np.ndarray:
    """:func:`occlusion_mask` with the generator fixed by (seed, instance id): the one
    occlusion every model, every drawing and every run sees for that instance (what
    :class:`Pipeline` and :func:`occlude_instance` apply)."""
    return occlusion_mask(shape, prob, sample_rng(seed, key, "occlusion"), mode)


def body_height(kp2d: np.ndarray, sc: np.ndarray) -> float:
    """Median over persons and frames of the vertical extent of the valid joints."""
    ok = sc > 0
    y = kp2d[..., 1]
    # empty frames (no valid joint) have no extent; NumPy's nanmax would warn on them
    ext = np.where(ok, y, -np.inf).max(axis=-1) - np.where(ok, y, np.inf).min(axis=-1)
    ext = ext[(ok.sum(axis=-1) >= 2) & np.isfinite(ext)]
    return float(np.median(ext)) if ext.size else 1.0


REST_SWAY = 0.004
"""Per-frame step of a rest's sway (:func:`hold_rest`), in body heights: the body's
random walk; each joint's own walk takes half of it."""


def hold_rest(kp: np.ndarray, sc: np.ndarray, rng: np.random.Generator, share: float = 1.0,
              sway: float = REST_SWAY) -> tuple[np.ndarray, np.ndarray]:
    """The sequence with a rest before and after it: its first pose held before it and its
    last pose after it, each for a random 0 to ``share`` times its length, swaying (a
    random walk of the whole body and of each joint, ``sway`` body heights a frame). A
    joint missing in the held frame stays missing. Penn Action's clips are trimmed to the
    action; a real clip often starts and ends with the person standing
    (``docs/real_video_ends.md``)."""
    m, t, v, c = kp.shape
    height = body_height(kp[..., :2], sc)
    parts = []
    lengths = [int(rng.uniform(0, share) * t) for _ in range(2)]
    for frame, length in zip((0, t - 1), lengths, strict=True):
        body = np.cumsum(rng.normal(0, sway * height, (m, length, 1, c)), axis=1)
        joint = np.cumsum(rng.normal(0, sway * height / 2, (m, length, v, c)), axis=1)
        held_sc = np.repeat(sc[:, frame:frame + 1], length, 1)
        held = (kp[:, frame:frame + 1] + body + joint) * (held_sc > 0)[..., None]
        parts.append((held.astype(kp.dtype), held_sc))
    (kp_in, sc_in), (kp_out, sc_out) = parts
    return np.concatenate([kp_in, kp, kp_out], 1), np.concatenate([sc_in, sc, sc_out], 1)


def retime(kp: np.ndarray, sc: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The sequence played ``factor`` times as long (``factor`` > 1: a slower action, more
    frames; < 1: faster), ``round(factor * T)`` frames (at least 2) at evenly spaced times
    of the original. A joint seen in both neighbouring frames is interpolated linearly;
    otherwise it takes the nearer frame's value, so a missing joint stays missing and no
    joint is interpolated towards the origin. For measuring how a model's answer depends
    on how fast an action is performed, which Penn Action's trimmed clips hardly vary
    (``experiments/clip_tempo.py``)."""
    if not factor > 0:
        raise SkelkdError(f"retime: factor must be > 0, got {factor}")
    t = kp.shape[1]
    pos = np.linspace(0, t - 1, max(2, int(round(factor * t))))
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, t - 1)
    w = (pos - i0).astype(kp.dtype)
    near = np.where(w < 0.5, i0, i1)
    both = (sc[:, i0] > 0) & (sc[:, i1] > 0)

    def resampled(a: np.ndarray, seen: np.ndarray) -> np.ndarray:
        wa = w.reshape(1, -1, *([1] * (a.ndim - 2)))
        lin = a[:, i0] * (1 - wa) + a[:, i1] * wa
        return np.where(seen, lin, a[:, near]).astype(a.dtype, copy=False)

    return resampled(kp, both[..., None]), resampled(sc, both)


def repeat_to(kp: np.ndarray, sc: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The sequence played over and over, whole, until it has at least ``frames`` frames
    (as it is when it has): a long clip of a repeated action, for measuring how a clip's
    length moves what the model reads (``experiments/clip_length_rejection.py``)."""
    reps = max(1, -(-frames // kp.shape[1]))
    return np.tile(kp, (1, reps, 1, 1)), np.tile(sc, (1, reps, 1))


def apply_mask(kp: np.ndarray, sc: np.ndarray,
               hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero the coordinates and scores where ``hit`` (broadcast to (M, T, V)) is set."""
    return (np.where(hit[..., None], 0.0, kp).astype(kp.dtype, copy=False),
            np.where(hit, 0.0, sc).astype(sc.dtype, copy=False))


def occlude_joints(kp: np.ndarray, sc: np.ndarray, prob: float, rng: np.random.Generator,
                   mode: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """The paper's synthetic occlusion (Section 4.4.1): each joint is occluded with
    probability ``prob`` and its coordinates (and score) set to zero.

    ``mode="sequence"`` draws each joint of each person once and occludes it in every
    frame; ``mode="frame"`` draws every joint in every frame independently. Per-frame
    occlusion is largely undone by temporal redundancy; per-sequence occlusion
    reproduces the size of the paper's accuracy drop (``docs/design.md`` item 20), so it
    is the default.
    """
    if prob <= 0:
        return kp, sc
    return apply_mask(kp, sc, occlusion_mask(sc.shape, prob, rng, mode))


def occlude_instance(kp: np.ndarray, sc: np.ndarray, prob: float, seed: int, key: str,
                     mode: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """:func:`occlude_joints` with the occlusion of :func:`instance_mask`."""
    if prob <= 0:
        return kp, sc
    return apply_mask(kp, sc, instance_mask(sc.shape, prob, seed, key, mode))


def part_mask(layout: Layout, part: int) -> np.ndarray:
    """Every joint of part ``part`` (in :data:`PARTS` order) in every frame and person: a
    (1, 1, V) mask for :func:`apply_mask`, as the part matrix occludes a part (Eq. 12)."""
    hit = np.zeros((1, 1, layout.num_joints), bool)
    hit[..., list(layout.part_indices[part])] = True
    return hit


# ----------------------------------------------------------------------------- augmentation


def rotate(kp: np.ndarray, sc: np.ndarray, degrees: float | np.ndarray,
           tilt: float | np.ndarray = 0.0) -> np.ndarray:
    """Rotate normalised joints: in the image plane for 2D, about the vertical (y) axis
    for 3D, after a rotation by ``tilt`` degrees about the horizontal (x) axis (3D only).
    ``degrees`` and ``tilt`` may be arrays of shape (B,) for a batch of sequences
    (B, M, T, V, C), one angle each."""
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s, zero, one = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    if kp.shape[-1] == 2:
        rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    else:
        rot = np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
                        np.stack([-s, zero, c], -1)], -2)
        b = np.broadcast_to(np.deg2rad(np.asarray(tilt, dtype=np.float64)), a.shape)
        if b.any():
            cb, sb = np.cos(b), np.sin(b)
            rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cb, -sb], -1),
                           np.stack([zero, sb, cb], -1)], -2)
            rot = rot @ rx
    # one (joints, C) @ (C, C) product per sequence, not one per joint
    rows = kp.reshape(*a.shape, -1, kp.shape[-1])
    out = (rows @ np.swapaxes(rot, -1, -2).astype(kp.dtype)).reshape(kp.shape)
    return np.where((sc > 0)[..., None], out, 0.0).astype(np.float32)


def flip(kp: np.ndarray, sc: np.ndarray, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Mirror horizontally and swap every left joint with its right twin."""
    out = kp.copy()
    out[..., 0] = -out[..., 0]
    perm = layout.flip_index
    out, sc = out[..., perm, :], sc[..., perm]
    return np.where((sc > 0)[..., None], out, 0.0).astype(np.float32), sc.copy()


# ----------------------------------------------------------------------------- pipeline


def scores_vary(pack, indices=None, limit: int = 400) -> bool:
    """Whether the per-joint scores of (up to ``limit`` evenly spread) samples take more
    than one value. A score channel that is constant in training carries nothing and
    breaks input normalisation when a joint is zeroed at test time, so it is not fed."""
    idx = np.arange(len(pack)) if indices is None else np.asarray(indices)
    if len(idx) > limit:
        idx = idx[np.linspace(0, len(idx) - 1, limit).astype(int)]
    seen: set[float] = set()
    for i in idx:
        seen.update(np.unique(pack[int(i)].scores).tolist())
        if len(seen) > 1:
            return True
    return False



@dataclass
class Pipeline:
    """What a model sees of a sample, as configuration.

    Attributes:
        layout: the samples' layout.
        num_frames, num_persons: output T and M.
        train: random temporal crops and augmentation when True; deterministic otherwise.
        short: how sequences shorter than T are handled ("repeat" or "pad").
        normalize: centre and scale by body size (:func:`normalize`).
        normalization: ``"torso"`` (that alone) or ``"minmax"``: then, after the
            augmentation, each sequence scaled per axis to [-1, 1] (:func:`minmax_batch`;
            CTR-GCN's NW-UCLA recipe, which makes the scale augmentation a no-op).
        align_view: 3D only: rotate to a canonical view.
        occlusion, occlusion_mode, occlusion_seed: the paper's synthetic occlusion
            (:func:`occlude_joints`), fixed per (seed, instance id), so every model is
            tested on the same occluded data and a training set is one fixed
            low-quality dataset.
        occlusion_draw: ``"instance"`` (that) or ``"fresh"``: in training (a generator
            given), each read of a sequence draws its own occlusion, an augmentation (a
            teacher trained with occlusion, ``distill.teacher_occlusion``); testing and
            validation keep the instance's.
        rotate_deg, scale_range, flip_prob: training augmentation.
        crop_range: training only: each sequence is first cut to a random stretch of this
            share of its frames (uniform in the range, at a random start), then sampled
            to T; ``(1, 1)``: the whole sequence, as in testing. Shorter stretches play
            the action slower and let a model trained on whole clips read part of one, as
            it must on the windows of a long real video.
        rest_prob, rest_share: training only: with probability ``rest_prob`` a sequence
            first gets a rest before and after it (:func:`hold_rest`, up to
            ``rest_share`` times its length each side), before the crop: a model trained
            on clips trimmed to the action then learns that a still pose is not the
            action's evidence, as a real clip's lead-in and lead-out are not.
        hidden_part: a body part (index into :data:`PARTS`) whose joints are hidden
            (:func:`apply_mask`) in every frame: what the part matrix's teacher reads
            (Eq. 12); None hides nothing. Hidden after normalisation, so the other
            parts keep the whole body's frame: hidden before it, a hidden torso takes the
            body's centre and size with it, and the teacher, trained on whole bodies,
            then fails on nearly every sample whatever the part means to the action
            (measured: docs/design.md item 61).
        rotate_axes: 3D only: ``"y"`` (about the vertical axis) or ``"xy"`` (also about
            the horizontal one, an independent angle; CTR-GCN's NW-UCLA recipe).
        with_score: append the score channel to the coordinates. Default: on for 2D,
            off for 3D. Training turns it off where the training scores are constant
            (:func:`scores_vary`; ``docs/design.md`` item 2).
    """

    layout: str | Layout
    num_frames: int = 64
    num_persons: int = 1
    train: bool = False
    short: str = "repeat"
    normalize: bool = True
    normalization: str = "torso"
    align_view: bool = False
    occlusion: float = 0.0
    occlusion_mode: str = "sequence"
    occlusion_seed: int = 0
    occlusion_draw: str = "instance"
    rotate_deg: float = 0.0
    rotate_axes: str = "y"
    scale_range: tuple[float, float] = (1.0, 1.0)
    flip_prob: float = 0.0
    crop_range: tuple[float, float] = (1.0, 1.0)
    rest_prob: float = 0.0
    rest_share: float = 1.0
    with_score: bool | None = None
    hidden_part: int | None = None

    def __post_init__(self) -> None:
        self.layout = get_layout(self.layout)
        check_choices(self, CHOICES)
        lo, hi = self.crop_range
        if not 0 < lo <= hi <= 1:
            raise SkelkdError(f"crop_range: expected 0 < low <= high <= 1, got {self.crop_range}")
        if self.hidden_part is not None and self.hidden_part not in range(len(PARTS)):
            raise SkelkdError(f"hidden_part: expected a part index 0-{len(PARTS) - 1}, "
                              f"got {self.hidden_part}")

    def channels(self, coord_dims: int) -> int:
        return coord_dims + int(self._with_score(coord_dims))

    def _with_score(self, coord_dims: int) -> bool:
        return coord_dims == 2 if self.with_score is None else bool(self.with_score)

    def __call__(self, kp: np.ndarray, sc: np.ndarray, key: str,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """(M, T, V, C_in) float32 model input for one sample; ``key`` is its instance id."""
        return self.batch([(kp, sc, key, rng)])[0]

    def batch(self, samples: Sequence[tuple[np.ndarray, np.ndarray, str,
                                            np.random.Generator | None]]) -> np.ndarray:
        """(B, M, T, V, C_in) float32 model inputs for (keypoints, scores, instance id,
        generator) samples of any lengths.

        Per sample: the frames are chosen, the occlusion applied and the persons padded,
        and every random number is drawn, in the order one sample at a time would draw
        them, so a sample's output does not depend on its batch. Normalisation and
        augmentation then run on the whole batch at once: per-sample NumPy calls on
        arrays this small cost more in call overhead than in arithmetic.
        """
        layout = self.layout
        assert isinstance(layout, Layout)
        kps, scs, flips, angles, tilts, scales = [], [], [], [], [], []
        lo, hi = self.scale_range
        crop = self.train and tuple(self.crop_range) != (1.0, 1.0)
        for kp, sc, key, rng in samples:
            hit = None
            if self.occlusion > 0:  # drawn for the whole sequence: the crop doesn't change it
                if self.train and rng is not None and self.occlusion_draw == "fresh":
                    hit = occlusion_mask(sc.shape, self.occlusion, rng, self.occlusion_mode)
                else:
                    hit = instance_mask(sc.shape, self.occlusion, self.occlusion_seed, key,
                                        self.occlusion_mode)
            if (self.train and rng is not None and self.rest_prob > 0
                    and rng.random() < self.rest_prob):
                if hit is not None:  # the occlusion is the instance's: the rest inherits it
                    kp, sc, hit = *apply_mask(kp, sc, hit), None
                kp, sc = hold_rest(kp, sc, rng, self.rest_share)
            if crop and rng is not None:
                n = kp.shape[1]
                size = max(1, int(round(rng.uniform(*self.crop_range) * n)))
                start = int(rng.integers(0, n - size + 1))
                idx = start + temporal_indices(size, self.num_frames, rng, self.short)
                idx = np.where(idx >= start, idx, -1)  # a padded position stays padded
            else:
                idx = temporal_indices(kp.shape[1], self.num_frames,
                                       rng if self.train else None, self.short)
            kp, sc = take_frames(kp, sc, idx)
            if hit is not None:  # applied to the crop only: the same result, less work
                kp, sc = apply_mask(kp, sc,
                                    hit if hit.shape[1] == 1 else hit[:, np.maximum(idx, 0)])
            kp, sc = pad_persons(kp, sc, self.num_persons)
            kps.append(kp)
            scs.append(sc)
            aug = self.train and rng is not None  # no-op values when not augmenting
            flips.append(aug and self.flip_prob > 0 and rng.random() < self.flip_prob)
            angles.append(rng.uniform(-self.rotate_deg, self.rotate_deg)
                          if aug and self.rotate_deg > 0 else 0.0)
            tilts.append(rng.uniform(-self.rotate_deg, self.rotate_deg)
                         if aug and self.rotate_deg > 0 and self.rotate_axes == "xy" else 0.0)
            scales.append(rng.uniform(lo, hi) if aug and (lo, hi) != (1.0, 1.0) else 1.0)
        kp, sc = np.stack(kps), np.stack(scs)
        if self.normalize:
            kp = normalize_batch(kp, sc, layout, self.align_view)
        if any(flips):
            sel = np.asarray(flips)
            kp[sel], sc[sel] = flip(kp[sel], sc[sel], layout)
        if any(angles) or any(tilts):
            kp = rotate(kp, sc, np.asarray(angles), np.asarray(tilts))
        if any(x != 1.0 for x in scales):
            kp = kp * np.asarray(scales, np.float32).reshape(-1, 1, 1, 1, 1)
        if self.normalization == "minmax":
            kp = minmax_batch(kp, sc)
        if self.hidden_part is not None:  # after the body's frame is taken (the attribute)
            kp, sc = apply_mask(kp, sc, part_mask(layout, self.hidden_part))
        parts = [kp.astype(np.float32, copy=False)]
        if self._with_score(kp.shape[-1]):
            parts.append(sc[..., None].astype(np.float32))
        return np.concatenate(parts, axis=-1)
