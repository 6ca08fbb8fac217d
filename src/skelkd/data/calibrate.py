"""Measuring a low-quality estimator against high-quality joints, and fitting the
simulator's parameters to what was measured.

Statistics of a low-quality sequence against its high-quality twin (both 2D pixels;
3D twins are projected first by :func:`fit_projection`), on the joints the two layouts
share by name:

* normalised error: distance / body height (:func:`skelkd.data.simulate.body_height` of
  the high-quality skeleton), over joints both have; median, mean and 90th percentile,
  and the median per joint group (face, hands, feet, body);
* miss rate: share of joints present in the high-quality skeleton whose low-quality
  score is below ``miss_threshold`` (per group), and the share of frames with no joint;
* swap rate: share of (frame, limb pair) where exchanging the low-quality left and right
  limb (elbow and wrist; knee and ankle) fits the high-quality one better than keeping it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..layouts import Layout
from ..layouts.mapping import map_layout
from .simulate import GROUPS, SimulatorParams, body_height, degrade, joint_group
from .transforms import sample_rng


def _nanmean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else np.nan


_LIMBS = {"arms": ("elbow", "wrist"), "legs": ("knee", "ankle")}


def common_joints(hq: Layout, lq: Layout) -> list[str]:
    """Joint names both layouts have (no derived joints)."""
    return [j for j in hq.joints if lq.has(j)]


def fit_projection(hq3d: np.ndarray, hq_sc: np.ndarray, lq2d: np.ndarray, lq_sc: np.ndarray,
                   joints: Sequence[int]) -> tuple[np.ndarray, float]:
    """Least-squares affine map from perspective-divided 3D, (X/Z, Y/Z, 1), to pixels.

    Args:
        hq3d: (T, V, 3), lq2d: (T, V, 2) already in the same joint order; ``joints``
            are the indices to fit on.

    Returns:
        (T, V, 2) projected high-quality joints and the median residual in pixels.
    """
    z = np.where(np.abs(hq3d[..., 2]) > 1e-6, hq3d[..., 2], 1.0)
    feats = np.concatenate([hq3d[..., :2] / z[..., None], np.ones((*z.shape, 1))], axis=-1)
    ok = (hq_sc > 0) & (lq_sc > 0)
    sel = np.zeros(ok.shape, dtype=bool)
    sel[:, list(joints)] = True
    ok &= sel
    a = feats[ok]
    b = lq2d[ok]
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    proj = feats @ coef
    resid = np.linalg.norm(a @ coef - b, axis=-1)
    return proj, float(np.median(resid))


def pair_statistics(hq2d: np.ndarray, hq_sc: np.ndarray, lq2d: np.ndarray, lq_sc: np.ndarray,
                    layout: Layout, joints: Sequence[str], miss_threshold: float = 0.5) -> dict:
    """Statistics of a low-quality sequence against its high-quality twin.

    All arrays are (T, V, ...) in one ``layout`` (map the low-quality side there first);
    ``joints`` are the names to measure.
    """
    idx = [layout.index(j) for j in joints]
    h = body_height(hq2d[None], hq_sc[None])
    hq_ok = hq_sc[:, idx] > 0
    lq_ok = lq_sc[:, idx] >= miss_threshold
    err = np.linalg.norm(lq2d[:, idx] - hq2d[:, idx], axis=-1) / h
    both = hq_ok & lq_ok
    groups = np.array([joint_group(j) for j in joints])
    out: dict = {"frames": int(hq2d.shape[0]), "body_height_px": h}
    e = err[both]
    out["err_median"] = float(np.median(e)) if e.size else float("nan")
    out["err_mean"] = float(e.mean()) if e.size else float("nan")
    out["err_p90"] = float(np.quantile(e, 0.9)) if e.size else float("nan")
    for g in GROUPS:
        cols = groups == g
        eg = err[:, cols][both[:, cols]]
        out[f"err_median_{g}"] = float(np.median(eg)) if eg.size else float("nan")
        denom = hq_ok[:, cols].sum()
        out[f"miss_{g}"] = float((hq_ok[:, cols] & ~lq_ok[:, cols]).sum() / denom) if denom else (
            float("nan"))
    out["miss"] = float((hq_ok & ~lq_ok).sum() / max(hq_ok.sum(), 1))
    out["frame_miss"] = float((lq_sc.max(axis=1) <= 0).mean())
    swaps, total = 0, 0
    for names in _LIMBS.values():
        left = [layout.index(f"left_{n}") for n in names if layout.has(f"left_{n}")]
        right = [layout.index(f"right_{n}") for n in names if layout.has(f"right_{n}")]
        if not left or len(left) != len(right):
            continue
        valid = ((hq_sc[:, left + right] > 0) & (lq_sc[:, left + right] >= miss_threshold)).all(1)
        direct = (np.linalg.norm(lq2d[:, left] - hq2d[:, left], axis=-1).sum(1)
                  + np.linalg.norm(lq2d[:, right] - hq2d[:, right], axis=-1).sum(1))
        crossed = (np.linalg.norm(lq2d[:, left] - hq2d[:, right], axis=-1).sum(1)
                   + np.linalg.norm(lq2d[:, right] - hq2d[:, left], axis=-1).sum(1))
        swaps += int((valid & (crossed < direct)).sum())
        total += int(valid.sum())
    out["swap"] = swaps / total if total else float("nan")
    return out


def miss_statistics(lq_sc: np.ndarray, layout: Layout, miss_threshold: float = 0.5) -> dict:
    """Miss rates of low-quality output alone (no twin needed): per group, over frames
    where the person was found, and the share of frames with no joint."""
    found = lq_sc.max(axis=-1) > 0
    groups = np.array([joint_group(j) for j in layout.joints])
    out = {"frames": int(lq_sc.shape[0]), "frame_miss": float((~found).mean())}
    sc = lq_sc[found]
    for g in GROUPS:
        cols = groups == g
        out[f"miss_{g}"] = float((sc[:, cols] < miss_threshold).mean()) if sc.size and cols.any() \
            else float("nan")
    return out


def match_lq(lq2d: np.ndarray, lq_sc: np.ndarray, lq_layout: Layout, hq_layout: Layout,
             swap_sides: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Low-quality joints re-expressed in the high-quality layout (copied joints only)."""
    return map_layout(lq2d, lq_sc, lq_layout, hq_layout, derive=False, swap_sides=swap_sides)


def simulated_statistics(hq2d: np.ndarray, hq_sc: np.ndarray, hq_layout: Layout,
                         lq_layout: Layout, params: SimulatorParams, seeds: Sequence[int],
                         key: str, miss_threshold: float = 0.5) -> dict:
    """:func:`pair_statistics` of the simulator's output for a high-quality 2D sequence
    (T, V, 2), averaged over ``seeds``: the simulated counterpart of a real pair."""
    kp, sc = map_layout(hq2d[None], hq_sc[None], hq_layout, lq_layout)
    joints = common_joints(hq_layout, lq_layout)
    runs = []
    for seed in seeds:
        lq, lsc = degrade(kp, sc, lq_layout, params, sample_rng(seed, key, "calibrate"))
        back, bsc = match_lq(lq[0], lsc[0], lq_layout, hq_layout)
        runs.append(pair_statistics(hq2d, hq_sc, back, bsc, hq_layout, joints, miss_threshold))
    return {k: _nanmean([r[k] for r in runs]) for k in runs[0]}


def fit_parameters(pairs: Sequence[tuple[np.ndarray, np.ndarray, Layout, str]],
                   real: Sequence[dict], misses: dict, base: SimulatorParams,
                   lq_layout: Layout, seeds: Sequence[int] = (0, 1, 2, 3),
                   iterations: int = 8) -> SimulatorParams:
    """Fit the simulator to real measurements.

    Args:
        pairs: (hq2d (T, V, 2), hq scores, hq layout, key) of each real pair.
        real: :func:`pair_statistics` of the real estimator on each pair (same order).
        misses: averaged :func:`miss_statistics` of real low-quality output.
        base: starting parameters (their score model and bursts are kept).

    Jitter and its per-group factors are scaled until the simulated median errors match
    the real ones; the outlier rate until the 90th percentile matches; the swap rate
    until the swap rate matches. Miss rates and per-group miss factors are set from
    ``misses`` directly.
    """
    target = {k: _nanmean([r[k] for r in real]) for k in real[0]}
    body_miss = max(misses.get("miss_body", 0.0), 1e-4)
    params = base.replace(
        miss_rate=body_miss,
        miss_factor={g: (misses.get(f"miss_{g}", 0.0) / body_miss) if np.isfinite(
            misses.get(f"miss_{g}", np.nan)) else 1.0 for g in GROUPS},
        frame_miss_rate=misses.get("frame_miss", 0.0))
    for _ in range(iterations):
        sims = [simulated_statistics(h, s, lay, lq_layout, params, seeds, key)
                for h, s, lay, key in pairs]
        sim = {k: _nanmean([r[k] for r in sims]) for k in sims[0]}
        factors = dict(params.jitter_factor)
        for g in GROUPS:
            t, s = target.get(f"err_median_{g}"), sim.get(f"err_median_{g}")
            if t and s and np.isfinite(t) and np.isfinite(s) and s > 0:
                factors[g] *= (t / target["err_median"]) / (s / sim["err_median"])
        params = params.replace(
            jitter=params.jitter * target["err_median"] / sim["err_median"],
            jitter_factor=factors,
            outlier_rate=float(np.clip(params.outlier_rate * (
                (target["err_p90"] / target["err_median"]) / (sim["err_p90"] / sim["err_median"])
            ) ** 2, 0.0, 0.2)),
            swap_rate=float(np.clip(params.swap_rate + target["swap"] - sim["swap"], 0, 0.3)))
    return params

