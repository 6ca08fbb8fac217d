"""Drawing skeletons with matplotlib: one frame, or chosen frames of samples side by side.

Colours follow the layout's sides: the subject's left (as the source labels it) in
blue, right in red, midline in grey, so a mirrored layout is visible at a glance.
3D joints are drawn as an unmirrored camera would see them (Kinect camera space:
X grows to the sensor's left, Y up, Z away), 2D joints in image coordinates.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..layouts import Layout

SIDE_COLOURS = {"left": "tab:blue", "right": "tab:red", "mid": "0.35"}


def image_plane(keypoints: np.ndarray) -> np.ndarray:
    """(..., 2) drawing coordinates, y pointing down: 2D as is; 3D by a pinhole camera
    at the origin looking along +Z (u = -X/Z, v = -Y/Z), unmirrored."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-1] == 2:
        return kp
    z = np.where(np.abs(kp[..., 2]) > 1e-6, kp[..., 2], 1.0)
    return np.stack([-kp[..., 0] / z, -kp[..., 1] / z], axis=-1)


def _bone_side(layout: Layout, a: str, b: str) -> str:
    sides = {layout.side_of(a), layout.side_of(b)}
    return sides.pop() if len(sides) == 1 else "mid"


def draw_skeleton(ax, keypoints: np.ndarray, scores: np.ndarray, layout: Layout, *,
                  derived: np.ndarray | None = None, names: bool = False,
                  alpha: float = 1.0, linewidth: float = 2.0) -> None:
    """Draw one person in one frame: keypoints (V, C), scores (V,). Missing joints
    (score 0) and their bones are left out; ``derived`` (V,) bool draws hollow markers."""
    xy = image_plane(keypoints)
    ok = np.asarray(scores) > 0
    for a, b in layout.bones:
        i, j = layout.index(a), layout.index(b)
        if ok[i] and ok[j]:
            ax.plot(xy[[i, j], 0], xy[[i, j], 1], "-", color=SIDE_COLOURS[_bone_side(layout, a, b)],
                    lw=linewidth, alpha=alpha, solid_capstyle="round")
    for v, name in enumerate(layout.joints):
        if not ok[v]:
            continue
        colour = SIDE_COLOURS[layout.side_of(name)]
        hollow = derived is not None and derived[v]
        ax.plot(xy[v, 0], xy[v, 1], "o", ms=4, alpha=alpha, mec=colour,
                mfc="white" if hollow else colour)
        if names:
            ax.annotate(name, xy[v], fontsize=5, xytext=(3, 2), textcoords="offset points",
                        color=colour)


def frame_limits(xy: np.ndarray, ok: np.ndarray, margin: float = 0.1):
    """Axis limits around the valid points of ``xy`` (..., 2)."""
    pts = xy[ok]
    if pts.size == 0:
        return (0, 1), (1, 0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = margin * max(float((hi - lo).max()), 1e-6)
    return (lo[0] - pad, hi[0] + pad), (hi[1] + pad, lo[1] - pad)


def draw_frames(panels: Sequence[tuple[str, np.ndarray, np.ndarray, Layout]], frames: Sequence[int],
                out: str | Path, *, title: str = "", names: bool = False,
                background: np.ndarray | None = None, dpi: int = 120) -> Path:
    """Draw chosen frames of several skeleton sequences, one row per sequence.

    Args:
        panels: (row title, keypoints (M, T, V, C), scores (M, T, V), layout) per row.
        frames: frame indices to draw (clipped to each sequence's length).
        background: optional image (H, W[, 3]) drawn under 2D panels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(panels), len(frames)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 3.0 * rows), squeeze=False)
    for r, (label, kp, sc, layout) in enumerate(panels):
        xy_all = image_plane(kp)
        xlim, ylim = frame_limits(xy_all, sc > 0)
        for c, f in enumerate(frames):
            ax = axes[r, c]
            t = min(int(f), kp.shape[1] - 1)
            if background is not None and kp.shape[-1] == 2:
                ax.imshow(background)
            else:
                ax.set_xlim(*xlim)
                ax.set_ylim(*ylim)
            for m in range(kp.shape[0]):
                draw_skeleton(ax, kp[m, t], sc[m, t], layout, names=names and m == 0)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label}\nframe {t}" if c == 0 else f"frame {t}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.text(0.01, 0.005, "blue: subject's left  red: right  (as labelled by the source)",
             fontsize=7, color="0.3")
    fig.tight_layout()
    return save_figure(fig, out, dpi=dpi)


def save_figure(fig, out: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically (temporary file, then rename) and close it."""

    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{out.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, out)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return out


def draw_strip(frames: Sequence[tuple[int, np.ndarray]], keypoints: np.ndarray,
               scores: np.ndarray, layout: Layout, captions: Sequence[str], out: str | Path, *,
               title: str = "", dpi: int = 72) -> Path:
    """Video frames in a row with one person's skeleton drawn on each: ``frames`` are
    (frame index, RGB image); keypoints (T, V, 2) pixels and scores (T, V) of the clip;
    one caption per frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(frames)
    h, w = frames[0][1].shape[:2]
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n * w / max(h, 1) + 0.4, 3.2), squeeze=False)
    for ax, (t, rgb), caption in zip(axes[0], frames, captions, strict=True):
        ax.imshow(rgb)
        draw_skeleton(ax, keypoints[t], scores[t], layout, linewidth=1.5)
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"frame {t}\n{caption}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out, dpi=dpi)
