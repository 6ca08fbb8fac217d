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
from dataclasses import dataclass

import numpy as np

from ..errors import SkelkdError
from ..layouts import Layout
from ..layouts.mapping import map_layout
from .simulate import GROUPS, SimulatorParams, body_height, degrade, joint_group
from .transforms import sample_rng

MISS_THRESHOLD = 0.5
"""A low-quality joint whose score (BlazePose's visibility) is below this counts as
missed: the calibration's rule, so the simulator's misses (score 0, coordinates 0) stand
for the real joints below it, and the video path (:func:`skelkd.video.to_sample`) turns
those into misses the same way."""


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
                    layout: Layout, joints: Sequence[str],
                    miss_threshold: float = MISS_THRESHOLD) -> dict:
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
    out.update(_temporal_statistics(lq2d[:, idx] - hq2d[:, idx], both, h))
    return out


def _temporal_statistics(e: np.ndarray, ok: np.ndarray, h: float) -> dict:
    """How the error (T, J, 2) of the joints measured changes over time: ``err_rough``,
    the median size of its second difference over three frames where the joint is
    measured, over the median error size (white noise: about 1.6 to 2; an error that
    drifts slowly: much less); ``big_run``, the mean length in frames of runs where a
    joint's error exceeds three times the median error."""
    size = np.linalg.norm(e, axis=-1) / h
    if not ok.any():
        return {"err_rough": float("nan"), "big_run": float("nan")}
    med = float(np.median(size[ok]))
    d2 = np.linalg.norm(e[2:] - 2 * e[1:-1] + e[:-2], axis=-1) / h
    d2 = d2[ok[2:] & ok[1:-1] & ok[:-2]]
    big = ok & (size > 3 * med)
    starts = big & ~np.concatenate([np.zeros_like(big[:1]), big[:-1]])
    return {"err_rough": float(np.median(d2) / med) if d2.size and med > 0 else float("nan"),
            "big_run": float(big.sum() / starts.sum()) if starts.any() else float("nan")}


def miss_statistics(lq_sc: np.ndarray, layout: Layout,
                    miss_threshold: float = MISS_THRESHOLD) -> dict:
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
                         key: str, miss_threshold: float = MISS_THRESHOLD) -> dict:
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



def fit_temporal(pair: tuple[np.ndarray, np.ndarray, Layout, str], real: dict,
                 params: SimulatorParams, lq_layout: Layout,
                 seeds: Sequence[int] = (0, 1, 2, 3), iterations: int = 12) -> SimulatorParams:
    """Fit how the simulated error evolves in time to one real pair whose high-quality
    side is itself smooth (Kinect joints, not frame-by-frame human clicks, whose own
    noise would read as the estimator's).

    Outliers and swaps last as long as the real pair's large errors do (``big_run`` of
    :func:`pair_statistics`, set directly as ``outlier_burst`` and ``swap_burst``); the
    jitter's AR(1) coefficient ``jitter_rho`` is then bisected until the simulated
    ``err_rough`` matches the real one. The error sizes, rates and scores are kept.
    """
    burst = float(real["big_run"]) if np.isfinite(real["big_run"]) else 1.0
    params = params.replace(outlier_burst=max(burst, 1.0), swap_burst=max(burst, 1.0))
    hq2d, hq_sc, layout, key = pair
    lo, hi = 0.0, 0.999
    for _ in range(iterations):
        mid = (lo + hi) / 2
        sim = simulated_statistics(hq2d, hq_sc, layout, lq_layout,
                                   params.replace(jitter_rho=mid), seeds, key)
        # a larger rho gives a smoother error: move towards the real roughness
        lo, hi = (mid, hi) if sim["err_rough"] > real["err_rough"] else (lo, mid)
    return params.replace(jitter_rho=round((lo + hi) / 2, 4))


# ----------------------------------------------------------------------------- packs

STAT_COLUMNS = [("err_median", "median err"), ("err_mean", "mean err"), ("err_p90", "p90 err"),
                ("err_median_hands", "median err hands"), ("err_median_feet", "median err feet"),
                ("miss", "miss"), ("miss_hands", "miss hands"), ("frame_miss", "frame miss"),
                ("swap", "swap")]


def align_pair(hq_kp: np.ndarray, hq_sc: np.ndarray, hq_layout: Layout, lq_kp: np.ndarray,
               lq_sc: np.ndarray, lq_layout: Layout, swap_sides: bool | None = None,
               fit_2d: bool | None = None) -> dict:
    """One high-/low-quality pair (one person: (T, V, C) and (T, V)) brought into the
    low-quality pixel space and the high-quality layout.

    The low-quality joints are re-expressed in the high-quality layout under both
    left/right conventions (``swap_sides=None``) and the better fitting one is kept. A
    3D high-quality side is projected by a fitted affine map of (X/Z, Y/Z); a 2D one is
    used as is, or mapped by a fitted 2D affine map when that halves the residual
    (``fit_2d=None``: different image coordinates) or when ``fit_2d`` is True.

    Returns ``hq2d``, ``hq_sc``, ``lq`` and ``lq_sc`` (in the high-quality layout),
    ``swap_sides``, ``projection`` ("perspective affine", "2D affine" or "none") and
    ``residual_px`` (median over the shared joints) of each convention tried.
    """
    t = min(hq_kp.shape[0], lq_kp.shape[0])
    hq_kp, hq_sc, lq_kp, lq_sc = hq_kp[:t], hq_sc[:t], lq_kp[:t], lq_sc[:t]
    joints = [hq_layout.index(j) for j in common_joints(hq_layout, lq_layout)]
    if not joints:
        raise ValueError(f"layouts {hq_layout.name} and {lq_layout.name} share no joint")
    tried = {}
    for swap in ((False, True) if swap_sides is None else (bool(swap_sides),)):
        m, msc = match_lq(lq_kp, lq_sc, lq_layout, hq_layout, swap_sides=swap)
        if hq_kp.shape[-1] == 3:
            proj, resid = fit_projection(hq_kp, hq_sc, m, msc, joints)
            how = "perspective affine"
        else:
            proj, resid, how = _fit_2d(hq_kp, hq_sc, m, msc, joints, fit_2d)
        tried[swap] = (resid, proj, how, m, msc)
    swap = min(tried, key=lambda s: tried[s][0])
    resid, proj, how, m, msc = tried[swap]
    return {"hq2d": proj, "hq_sc": hq_sc, "lq": m, "lq_sc": msc, "swap_sides": swap,
            "projection": how, "residual_px": {s: float(v[0]) for s, v in tried.items()}}


def _fit_2d(hq: np.ndarray, hq_sc: np.ndarray, lq: np.ndarray, lq_sc: np.ndarray,
            joints: Sequence[int], fit: bool | None) -> tuple[np.ndarray, float, str]:
    ok = (hq_sc > 0) & (lq_sc > 0)
    sel = np.zeros(ok.shape, dtype=bool)
    sel[:, list(joints)] = True
    ok &= sel
    if not ok.any():
        raise ValueError("no frame has a joint present on both sides")
    direct = float(np.median(np.linalg.norm(hq[ok] - lq[ok], axis=-1)))
    if fit is False:
        return hq.astype(np.float64), direct, "none"
    feats = np.concatenate([hq, np.ones((*hq.shape[:-1], 1))], axis=-1)
    coef, *_ = np.linalg.lstsq(feats[ok], lq[ok], rcond=None)
    fitted = float(np.median(np.linalg.norm(feats[ok] @ coef - lq[ok], axis=-1)))
    if fit or fitted < 0.5 * direct:
        return feats @ coef, fitted, "2D affine"
    return hq.astype(np.float64), direct, "none"


@dataclass
class Calibration:
    """What ``skelkd calibrate`` measured and fitted."""

    pairs: list[dict]  # per pair: instance ids, alignment, real and simulated statistics
    misses: dict  # miss statistics of all low-quality output
    params: SimulatorParams  # fitted simulator parameters (in the low-quality layout)
    simulated: dict  # statistics of the fitted simulator, averaged over the pairs
    real: dict  # real statistics averaged over the pairs

    def table(self) -> list[str]:
        """Markdown rows: each pair real / simulated, then the averages."""
        def row(label: str, stats: dict) -> str:
            return f"| {label} | " + " | ".join(_fmt(stats.get(k, np.nan))
                                                for k, _ in STAT_COLUMNS) + " |"

        lines = ["| pair | " + " | ".join(c for _, c in STAT_COLUMNS) + " |",
                 "|---" * (len(STAT_COLUMNS) + 1) + "|"]
        for p in self.pairs:
            lines.append(row(f"{p['name']}: real", p["real"]))
            lines.append(row(f"{p['name']}: simulated, fitted", p["simulated"]))
        if len(self.pairs) > 1:
            lines += [row("mean: real", self.real), row("mean: simulated, fitted",
                                                        self.simulated)]
        return lines


def _fmt(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.3f}"


def pair_instances(hq, lq, match: str = "auto") -> list[tuple[int, int]]:
    """(hq index, lq index) of the instances to compare: by instance id, or by position
    (``match="order"``, or ``"auto"`` when no id is shared and the packs are the same
    size: separately imported files of one clip get different ids)."""

    if match not in ("auto", "id", "order"):
        raise SkelkdError(f"match must be 'auto', 'id' or 'order', not {match!r}")
    pos = {iid: k for k, iid in enumerate(hq.instance_ids)}
    by_id = [(pos[iid], k) for k, iid in enumerate(lq.instance_ids) if iid in pos]
    if match == "id" or (match == "auto" and by_id):
        if not by_id:
            raise SkelkdError(f"{hq.path} and {lq.path}: no instance id in common")
        return by_id
    if len(hq) != len(lq):
        raise SkelkdError(f"{hq.path} ({len(hq)} samples) and {lq.path} ({len(lq)}): no "
                          "instance id in common and different sizes, so they cannot be "
                          "paired by order")
    return [(k, k) for k in range(len(hq))]


def calibrate_packs(hq, lq, *, match: str = "auto", swap_sides: bool | None = None,
                    fit_2d: bool | None = None, seeds: Sequence[int] = tuple(range(8)),
                    base: SimulatorParams | None = None,
                    miss_threshold: float = MISS_THRESHOLD) -> Calibration:
    """Measure the low-quality pack ``lq`` against the high-quality pack ``hq`` (first
    person of each pair), fit simulator parameters that reproduce the measurements, and
    measure the fitted simulator on the same high-quality joints."""

    pairs = []
    for hi, li in pair_instances(hq, lq, match):
        h, low = hq[hi], lq[li]
        try:
            a = align_pair(h.keypoints[0], h.scores[0], hq.layout, low.keypoints[0],
                           low.scores[0], lq.layout, swap_sides, fit_2d)
        except ValueError as exc:
            raise SkelkdError(f"{hq.path} '{h.instance_id}' vs {lq.path} '{low.instance_id}': "
                              f"{exc}") from exc
        name = h.instance_id if h.instance_id == low.instance_id else (
            f"{h.instance_id} / {low.instance_id}")
        a["name"] = name
        a["real"] = pair_statistics(a["hq2d"], a["hq_sc"], a["lq"], a["lq_sc"], hq.layout,
                                    common_joints(hq.layout, lq.layout), miss_threshold)
        a["miss_alone"] = miss_statistics(low.scores[0], lq.layout, miss_threshold)
        pairs.append(a)
    misses = {k: _nanmean([p["miss_alone"][k] for p in pairs]) for k in pairs[0]["miss_alone"]}
    base = base or SimulatorParams(target_layout=lq.layout.name)
    base = base.replace(target_layout=lq.layout.name)
    fit_input = [(p["hq2d"], p["hq_sc"], hq.layout, p["name"]) for p in pairs]
    params = fit_parameters(fit_input, [p["real"] for p in pairs], misses, base, lq.layout,
                            seeds)
    for p in pairs:
        p["simulated"] = simulated_statistics(p["hq2d"], p["hq_sc"], hq.layout, lq.layout,
                                              params, seeds, p["name"], miss_threshold)
    keys = pairs[0]["real"].keys()
    real = {k: _nanmean([p["real"][k] for p in pairs]) for k in keys}
    sim = {k: _nanmean([p["simulated"][k] for p in pairs]) for k in keys}
    return Calibration(pairs, misses, params, sim, real)
