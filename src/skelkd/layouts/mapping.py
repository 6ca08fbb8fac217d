"""Mapping joints between layouts through shared landmark names.

A target joint whose name the source has is copied. A target joint the source lacks is
derived by the first rule of :data:`DERIVATIONS` whose source joints all exist, as a
weighted sum of source joints (weights sum to 1, so the rule is a point on the body,
independent of translation). Otherwise it is missing (coordinates 0, score 0).

The rules are approximate body geometry, documented here and in ``docs/layouts.md``:
midpoints for torso joints; points on the shoulder axis beside the head for eyes and
ears (the head is about 0.4 shoulder widths wide); the hand and fingers continue the
forearm beyond the wrist (a hand is about 0.3 forearm lengths). A derived joint is
missing in a frame where any of its source joints is missing, and its score is the
smallest score of its sources.
"""

from __future__ import annotations

import numpy as np

from .layout import Layout, _mirror_name


def _sided(side: str, rule: dict[str, float]) -> dict[str, float]:
    """Write a left-side rule for ``side``: ``{"left_x": w}`` becomes ``{"right_x": w}``.

    Joints of the other side keep their pairing: a rule using ``left_shoulder -
    right_shoulder`` for the left eye uses ``right_shoulder - left_shoulder`` for the right.
    """
    if side == "left":
        return dict(rule)
    return {(_mirror_name(j) or j): w for j, w in rule.items()}


def _lateral(centre: dict[str, float], k: float) -> dict[str, float]:
    """``centre + k * (left_shoulder - right_shoulder)``: towards the subject's left."""
    out = dict(centre)
    out["left_shoulder"] = out.get("left_shoulder", 0.0) + k
    out["right_shoulder"] = out.get("right_shoulder", 0.0) - k
    return out


_MID_SHOULDERS = {"left_shoulder": 0.5, "right_shoulder": 0.5}
_MID_HIPS = {"left_hip": 0.5, "right_hip": 0.5}

_LEFT_RULES: dict[str, list[dict[str, float]]] = {
    "left_eye": [_lateral({"head": 1.0}, 0.08)],
    "left_eye_inner": [{"left_eye": 1.0}, _lateral({"head": 1.0}, 0.05)],
    "left_eye_outer": [{"left_eye": 1.0}, _lateral({"head": 1.0}, 0.11)],
    "left_ear": [_lateral({"head": 1.0}, 0.2)],
    "left_hand": [{"left_wrist": 1.3, "left_elbow": -0.3}],
    "left_hand_tip": [{"left_wrist": 1.6, "left_elbow": -0.6}],
    "left_thumb": [{"left_wrist": 1.25, "left_elbow": -0.25}],
    "left_index": [{"left_hand_tip": 1.0}, {"left_wrist": 1.4, "left_elbow": -0.4}],
    "left_pinky": [{"left_wrist": 1.35, "left_elbow": -0.35}],
    "left_foot_index": [{"left_foot": 1.0}],
    "left_foot": [{"left_foot_index": 1.0}],
    "left_heel": [{"left_ankle": 1.0}],
}

DERIVATIONS: dict[str, list[dict[str, float]]] = {
    "neck": [{"spine_shoulder": 1.0}, _MID_SHOULDERS],
    "spine_shoulder": [{"neck": 1.0}, _MID_SHOULDERS],
    "pelvis": [_MID_HIPS],
    "spine_mid": [{"spine_shoulder": 0.5, "pelvis": 0.5},
                  {**{k: v / 2 for k, v in _MID_SHOULDERS.items()},
                   **{k: v / 2 for k, v in _MID_HIPS.items()}}],
    "head": [{"left_ear": 0.5, "right_ear": 0.5}, {"nose": 1.0}, {"head_top": 1.0}],
    "nose": [{"head": 1.0}],
    "head_top": [{"head": 1.5, "neck": -0.5}, {"head": 1.4, "spine_shoulder": -0.4}],
    "mouth_left": [_lateral({"nose": 1.0}, 0.04), _lateral({"head": 1.0}, 0.04)],
    "mouth_right": [_lateral({"nose": 1.0}, -0.04), _lateral({"head": 1.0}, -0.04)],
    **{name: [_sided("left", r) for r in rules] for name, rules in _LEFT_RULES.items()},
    **{_mirror_name(name): [_sided("right", r) for r in rules]
       for name, rules in _LEFT_RULES.items()},
}
"""Target joint -> alternatives, each a ``{source joint: weight}`` rule; first usable wins."""


def joint_map(src: Layout, dst: Layout, *, derive: bool = True,
              swap_sides: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The linear map from ``src`` joints to ``dst`` joints.

    Args:
        derive: use :data:`DERIVATIONS` for target joints the source lacks.
        swap_sides: read the source's ``left_x`` as the target's ``right_x`` (for sources
            whose left/right labels are mirrored relative to the target's).

    Returns:
        ``W`` (V_dst, V_src) float64 weights and ``kind`` (V_dst,) int8: 1 copied,
        2 derived, 0 missing.
    """
    def src_name(name: str) -> str:
        return (_mirror_name(name) or name) if swap_sides else name

    weights = np.zeros((dst.num_joints, src.num_joints))
    kind = np.zeros(dst.num_joints, dtype=np.int8)
    for d, name in enumerate(dst.joints):
        if src.has(src_name(name)):
            weights[d, src.index(src_name(name))] = 1.0
            kind[d] = 1
            continue
        if not derive:
            continue
        for rule in DERIVATIONS.get(name, ()):
            if all(src.has(src_name(j)) for j in rule):
                for j, w in rule.items():
                    weights[d, src.index(src_name(j))] += w
                kind[d] = 2
                break
    return weights, kind


def shared_joints(a: Layout, b: Layout) -> list[str]:
    """The joint names two layouts share, in ``a``'s order: the landmarks a joint-level
    comparison of the two can use (a joint without a namesake has no counterpart)."""
    return [j for j in a.joints if b.has(j)]


def map_layout(keypoints: np.ndarray, scores: np.ndarray, src: Layout, dst: Layout, *,
               derive: bool = True, swap_sides: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Re-express skeletons of layout ``src`` in layout ``dst``.

    Args:
        keypoints: (..., V_src, C) coordinates.
        scores: (..., V_src) per-joint scores, 0 where missing.

    Returns:
        keypoints (..., V_dst, C) float32 and scores (..., V_dst) float32; target joints
        that cannot be copied or derived, or whose sources are missing, are 0 with score 0.
    """
    weights, kind = joint_map(src, dst, derive=derive, swap_sides=swap_sides)
    kp = np.einsum("dv,...vc->...dc", weights, keypoints.astype(np.float64))
    used = weights != 0  # (V_dst, V_src)
    src_scores = scores.astype(np.float64)
    big = np.where(used[None], src_scores.reshape(-1, 1, src.num_joints), np.inf)
    sc = big.min(axis=-1).reshape(*scores.shape[:-1], dst.num_joints)
    sc[..., kind == 0] = 0.0
    sc = np.where(np.isfinite(sc), sc, 0.0)
    kp = np.where(sc[..., None] > 0, kp, 0.0)
    return kp.astype(np.float32), sc.astype(np.float32)
