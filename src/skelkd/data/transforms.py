"""Per-sample transforms on (M, T, V, C) keypoints and (M, T, V) scores, each one job.

:class:`Pipeline` chains them into what a model sees: sampled to T frames, padded to
M persons, normalised, occluded, augmented, and turned into input channels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..layouts import Layout, get_layout

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
    or a sequence lacks shoulders or hips.
    """
    sh, hp = _torso_indices(layout)
    if sh and hp:
        idx = sh + hp
        both = (sc[..., idx] > 0).all(axis=-1)  # every shoulder and hip seen
        if both.any():
            pts = kp[..., idx, :][both]
            mid_sh, mid_hp = pts[:, :len(sh)].mean(axis=1), pts[:, len(sh):].mean(axis=1)
            centre = ((mid_sh + mid_hp) / 2).mean(axis=0)
            size = float(np.median(np.linalg.norm(mid_sh - mid_hp, axis=-1)))
            if size > 1e-6:
                return centre, size
    ok = sc > 0
    if not ok.any():
        return np.zeros(kp.shape[-1]), 1.0
    pts = kp[ok]
    size = float((pts.max(axis=0) - pts.min(axis=0)).max()) / 3  # a body is ~3 torsos tall
    return pts.mean(axis=0), max(size, 1e-6)


def normalize(kp: np.ndarray, sc: np.ndarray, layout: Layout,
              align_view: bool = False) -> np.ndarray:
    """Centre on the torso and scale to unit torso length (:func:`body_frame`); missing
    joints stay 0. ``align_view`` (3D only) rotates the body so the shoulders run along
    x and the spine along y (averaged over the sequence), removing the camera's view."""
    centre, size = body_frame(kp, sc, layout)
    out = (kp - centre) / size
    if align_view and kp.shape[-1] == 3:
        out = out @ view_rotation(out, sc, layout).T
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
    reproduces the size of the paper's accuracy drop (``../shared/FINDINGS.md``), so it
    is the default.
    """
    if prob <= 0:
        return kp, sc
    return apply_mask(kp, sc, occlusion_mask(sc.shape, prob, rng, mode))


def occlude_instance(kp: np.ndarray, sc: np.ndarray, prob: float, seed: int, key: str,
                     mode: str = "sequence") -> tuple[np.ndarray, np.ndarray]:
    """:func:`occlude_joints` with the generator fixed by (seed, instance id): the one
    occlusion every model, every drawing and every run sees for that instance."""
    return occlude_joints(kp, sc, prob, sample_rng(seed, key, "occlusion"), mode)


def occlude_part(kp: np.ndarray, sc: np.ndarray, layout: Layout,
                 part: int) -> tuple[np.ndarray, np.ndarray]:
    """Occlude every joint of part ``part`` (in :data:`PARTS` order) in all frames (Eq. 12)."""
    idx = list(layout.part_indices[part])
    kp, sc = kp.copy(), sc.copy()
    kp[..., idx, :] = 0
    sc[..., idx] = 0
    return kp, sc


# ----------------------------------------------------------------------------- augmentation


def rotate(kp: np.ndarray, sc: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate normalised joints: in the image plane for 2D, about the vertical (y) axis
    for 3D."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    if kp.shape[-1] == 2:
        rot = np.array([[c, -s], [s, c]])
    else:
        rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    out = kp @ rot.T
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
        align_view: 3D only: rotate to a canonical view.
        occlusion, occlusion_mode, occlusion_seed: the paper's synthetic occlusion
            (:func:`occlude_joints`), fixed per (seed, instance id), so every model is
            tested on the same occluded data and a training set is one fixed
            low-quality dataset.
        rotate_deg, scale_range, flip_prob: training augmentation.
        with_score: append the score channel to the coordinates. Default: on for 2D,
            off for 3D. Training turns it off where the training scores are constant
            (:func:`scores_vary`; see ``../shared/FINDINGS.md``).
    """

    layout: str | Layout
    num_frames: int = 64
    num_persons: int = 1
    train: bool = False
    short: str = "repeat"
    normalize: bool = True
    align_view: bool = False
    occlusion: float = 0.0
    occlusion_mode: str = "sequence"
    occlusion_seed: int = 0
    rotate_deg: float = 0.0
    scale_range: tuple[float, float] = (1.0, 1.0)
    flip_prob: float = 0.0
    with_score: bool | None = None

    def __post_init__(self) -> None:
        self.layout = get_layout(self.layout)

    def channels(self, coord_dims: int) -> int:
        return coord_dims + int(self._with_score(coord_dims))

    def _with_score(self, coord_dims: int) -> bool:
        return coord_dims == 2 if self.with_score is None else bool(self.with_score)

    def __call__(self, kp: np.ndarray, sc: np.ndarray, key: str,
                 rng: np.random.Generator | None = None) -> np.ndarray:
        """(M, T, V, C_in) float32 model input for one sample; ``key`` is its instance id."""
        layout = self.layout
        assert isinstance(layout, Layout)
        idx = temporal_indices(kp.shape[1], self.num_frames, rng if self.train else None,
                               self.short)
        hit = None
        if self.occlusion > 0:  # drawn for the whole sequence, so the crop doesn't change it
            hit = occlusion_mask(sc.shape, self.occlusion,
                                 sample_rng(self.occlusion_seed, key, "occlusion"),
                                 self.occlusion_mode)
        kp, sc = take_frames(kp, sc, idx)
        if hit is not None:  # applied to the crop only: the same result, less work
            kp, sc = apply_mask(kp, sc, hit if hit.shape[1] == 1 else hit[:, np.maximum(idx, 0)])
        kp, sc = pad_persons(kp, sc, self.num_persons)
        if self.normalize:
            kp = normalize(kp, sc, layout, self.align_view)
        if self.train and rng is not None:
            if self.flip_prob > 0 and rng.random() < self.flip_prob:
                kp, sc = flip(kp, sc, layout)
            if self.rotate_deg > 0:
                kp = rotate(kp, sc, rng.uniform(-self.rotate_deg, self.rotate_deg))
            lo, hi = self.scale_range
            if (lo, hi) != (1.0, 1.0):
                kp = (kp * rng.uniform(lo, hi)).astype(np.float32)
        parts = [kp.astype(np.float32)]
        if self._with_score(kp.shape[-1]):
            parts.append(sc[..., None].astype(np.float32))
        return np.concatenate(parts, axis=-1)
