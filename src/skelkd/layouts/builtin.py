"""The layouts skelkd ships, as plain data (one dict each; see :mod:`skelkd.layouts.layout`).

Joint orders are those of the files the readers meet. Each was checked by drawing a real
frame (``docs/layouts.md`` and its PNGs; ``skelkd layouts draw``), except
``msr_action3d``, whose order comes from the dataset's documentation (no MSR Action3D
file was at hand); :func:`skelkd.io.asymmetric_bones` catches a scrambled left and right
at import.
"""

from __future__ import annotations


def _limbs(side: str, *names: str) -> list[list[str]]:
    """Bones along a chain of joint names on one side: ``_limbs("left", "hip", "knee")``."""
    full = [f"{side}_{n}" for n in names]
    return [[a, b] for a, b in zip(full, full[1:], strict=False)]


def _both(*chain: str) -> list[list[str]]:
    return _limbs("left", *chain) + _limbs("right", *chain)


def _side_parts(arm: list[str], leg: list[str], head: list[str]) -> dict[str, list[str]]:
    return {
        "head": head,
        "left_arm": [f"left_{n}" for n in arm],
        "right_arm": [f"right_{n}" for n in arm],
        "left_leg": [f"left_{n}" for n in leg],
        "right_leg": [f"right_{n}" for n in leg],
    }


_KINECT_V1_ARM = ["shoulder", "elbow", "wrist", "hand"]
_KINECT_V1_LEG = ["hip", "knee", "ankle", "foot"]

_KINECT_V1_BONES = (
    [["pelvis", "spine_mid"], ["spine_mid", "spine_shoulder"], ["spine_shoulder", "head"],
     ["spine_shoulder", "left_shoulder"], ["spine_shoulder", "right_shoulder"],
     ["pelvis", "left_hip"], ["pelvis", "right_hip"]]
    + _both(*_KINECT_V1_ARM) + _both(*_KINECT_V1_LEG)
)


def _side_joints(side: str, names: list[str]) -> list[str]:
    return [f"{side}_{n}" for n in names]


BUILTIN_LAYOUTS: list[dict] = [
    {
        "name": "ntu",
        "aliases": ["ntu25", "kinect_v2"],
        "description": "NTU RGB+D / Kinect V2, 25 joints, Kinect V2 SDK order (Shahroudy et al., "
        "CVPR 2016). Kinect's 'SpineBase' is pelvis, 'SpineShoulder' spine_shoulder.",
        "joints": ["pelvis", "spine_mid", "neck", "head"]
        + _side_joints("left", _KINECT_V1_ARM) + _side_joints("right", _KINECT_V1_ARM)
        + _side_joints("left", _KINECT_V1_LEG) + _side_joints("right", _KINECT_V1_LEG)
        + ["spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb"],
        "bones": [["pelvis", "spine_mid"], ["spine_mid", "spine_shoulder"],
                  ["spine_shoulder", "neck"], ["neck", "head"],
                  ["spine_shoulder", "left_shoulder"], ["spine_shoulder", "right_shoulder"],
                  ["pelvis", "left_hip"], ["pelvis", "right_hip"],
                  ["left_hand", "left_hand_tip"], ["left_hand", "left_thumb"],
                  ["right_hand", "right_hand_tip"], ["right_hand", "right_thumb"]]
        + _both(*_KINECT_V1_ARM) + _both(*_KINECT_V1_LEG),
        "center": "spine_shoulder",  # as ST-GCN's NTU graph
        "parts": _side_parts(_KINECT_V1_ARM + ["hand_tip", "thumb"], _KINECT_V1_LEG, ["head"]),
    },
    {
        "name": "kinect_v1",
        "aliases": ["kinect_v1_sdk", "nw_ucla", "sysu"],
        "description": "Kinect V1, 20 joints, Kinect SDK order (hip centre first), as in "
        "NW-UCLA and SYSU 3D HOI.",
        "joints": ["pelvis", "spine_mid", "spine_shoulder", "head"]
        + _side_joints("left", _KINECT_V1_ARM) + _side_joints("right", _KINECT_V1_ARM)
        + _side_joints("left", _KINECT_V1_LEG) + _side_joints("right", _KINECT_V1_LEG),
        "bones": _KINECT_V1_BONES,
        "center": "spine_shoulder",
        "parts": _side_parts(_KINECT_V1_ARM, _KINECT_V1_LEG, ["head"]),
    },
    {
        "name": "kinect_v1_utd",
        "aliases": ["utd_mhad"],
        "description": "Kinect V1, 20 joints, UTD-MHAD order (head first; "
        "Skeleton_joint_order.txt of the dataset).",
        "joints": ["head", "spine_shoulder", "spine_mid", "pelvis"]
        + _side_joints("left", _KINECT_V1_ARM) + _side_joints("right", _KINECT_V1_ARM)
        + _side_joints("left", _KINECT_V1_LEG) + _side_joints("right", _KINECT_V1_LEG),
        "bones": _KINECT_V1_BONES,
        "center": "spine_shoulder",
        "parts": _side_parts(_KINECT_V1_ARM, _KINECT_V1_LEG, ["head"]),
    },
    {
        "name": "msr_action3d",
        "aliases": ["msr"],
        "description": "MSR Action3D (Li et al., CVPR Workshops 2010), 20 Kinect V1 joints "
        "in the dataset's own order (shoulders first, head last), as its documentation "
        "lists it; left and right not yet checked on a drawn frame (import warns when left "
        "and right bone lengths disagree).",
        "joints": ["left_shoulder", "right_shoulder", "spine_shoulder", "spine_mid",
                   "left_hip", "right_hip", "pelvis", "left_elbow", "right_elbow",
                   "left_wrist", "right_wrist", "left_hand", "right_hand", "left_knee",
                   "right_knee", "left_ankle", "right_ankle", "left_foot", "right_foot",
                   "head"],
        "bones": _KINECT_V1_BONES,
        "center": "spine_shoulder",
        "parts": _side_parts(_KINECT_V1_ARM, _KINECT_V1_LEG, ["head"]),
    },
    {
        "name": "penn_action",
        "aliases": ["penn"],
        "description": "Penn Action human annotation, 13 joints (Zhang et al., ICCV 2013).",
        "joints": ["head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                   "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                   "right_knee", "left_ankle", "right_ankle"],
        "bones": [["head", "left_shoulder"], ["head", "right_shoulder"],
                  ["left_shoulder", "right_shoulder"], ["left_hip", "right_hip"],
                  ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"]]
        + _both("shoulder", "elbow", "wrist") + _both("hip", "knee", "ankle"),
        "center": "head",
        "parts": _side_parts(["shoulder", "elbow", "wrist"], ["hip", "knee", "ankle"], ["head"]),
    },
    {
        "name": "coco",
        "aliases": ["coco17", "pifpaf", "hrnet", "yolo_pose", "movenet"],
        "description": "COCO keypoints, 17 joints (PifPaf, HRNet, YOLO-pose, MoveNet). "
        "Ear-shoulder bones connect head and body, as in pyskl's COCO graph.",
        "joints": ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                   "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                   "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                   "right_ankle"],
        "bones": [["nose", "left_eye"], ["nose", "right_eye"], ["left_eye", "left_ear"],
                  ["right_eye", "right_ear"], ["left_ear", "left_shoulder"],
                  ["right_ear", "right_shoulder"], ["left_shoulder", "right_shoulder"],
                  ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"],
                  ["left_hip", "right_hip"]]
        + _both("shoulder", "elbow", "wrist") + _both("hip", "knee", "ankle"),
        "center": "nose",  # COCO has no torso joint; pyskl's COCO graph uses the nose too
        "parts": _side_parts(["shoulder", "elbow", "wrist"], ["hip", "knee", "ankle"],
                             ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]),
    },
    {
        "name": "openpose",
        "aliases": ["openpose18", "coco18"],
        "description": "OpenPose COCO-18 (COCO 17 plus a neck), OpenPose order.",
        "joints": ["nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
                   "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee",
                   "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye",
                   "left_eye", "right_ear", "left_ear"],
        "bones": [["neck", "nose"], ["neck", "left_shoulder"], ["neck", "right_shoulder"],
                  ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"],
                  ["nose", "left_eye"], ["nose", "right_eye"], ["left_eye", "left_ear"],
                  ["right_eye", "right_ear"]]
        + _both("shoulder", "elbow", "wrist") + _both("hip", "knee", "ankle"),
        "center": "neck",  # as ST-GCN's OpenPose graph
        "parts": _side_parts(["shoulder", "elbow", "wrist"], ["hip", "knee", "ankle"],
                             ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]),
    },
    {
        "name": "blazepose",
        "aliases": ["mediapipe", "blazepose33"],
        "description": "BlazePose / MediaPipe Pose, 33 landmarks. MediaPipe's connections "
        "leave the face and mouth apart from the body; mouth-nose and ear-shoulder bones "
        "are added so the graph is connected.",
        "joints": ["nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
                   "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
                   "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
                   "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky",
                   "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
                   "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                   "left_heel", "right_heel", "left_foot_index", "right_foot_index"],
        "bones": [["nose", "left_eye_inner"], ["nose", "right_eye_inner"],
                  ["nose", "mouth_left"], ["nose", "mouth_right"],
                  ["mouth_left", "mouth_right"], ["left_ear", "left_shoulder"],
                  ["right_ear", "right_shoulder"], ["left_shoulder", "right_shoulder"],
                  ["left_shoulder", "left_hip"], ["right_shoulder", "right_hip"],
                  ["left_hip", "right_hip"], ["left_wrist", "left_index"],
                  ["right_wrist", "right_index"], ["left_wrist", "left_thumb"],
                  ["right_wrist", "right_thumb"], ["left_pinky", "left_index"],
                  ["right_pinky", "right_index"], ["left_ankle", "left_foot_index"],
                  ["right_ankle", "right_foot_index"]]
        + _both("eye_inner", "eye", "eye_outer", "ear")
        + _both("shoulder", "elbow", "wrist", "pinky")
        + _both("hip", "knee", "ankle", "heel", "foot_index"),
        "center": "nose",
        "parts": _side_parts(
            ["shoulder", "elbow", "wrist", "pinky", "index", "thumb"],
            ["hip", "knee", "ankle", "heel", "foot_index"],
            ["nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
             "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
             "mouth_right"]),
    },
    {
        "name": "h36m",
        "aliases": ["human36m", "h36m17"],
        "description": "Human3.6M 17-joint subset in the common VideoPose3D order. H3.6M's "
        "'Neck/Nose' is named nose, 'Thorax' spine_shoulder, 'Spine' spine_mid, 'Head' "
        "head_top; its 'Foot' joints are the ankles.",
        "joints": ["pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
                   "left_ankle", "spine_mid", "spine_shoulder", "nose", "head_top",
                   "left_shoulder", "left_elbow", "left_wrist", "right_shoulder",
                   "right_elbow", "right_wrist"],
        "bones": [["pelvis", "left_hip"], ["pelvis", "right_hip"], ["pelvis", "spine_mid"],
                  ["spine_mid", "spine_shoulder"], ["spine_shoulder", "nose"],
                  ["nose", "head_top"], ["spine_shoulder", "left_shoulder"],
                  ["spine_shoulder", "right_shoulder"]]
        + _both("shoulder", "elbow", "wrist") + _both("hip", "knee", "ankle"),
        "center": "spine_shoulder",
        "parts": _side_parts(["shoulder", "elbow", "wrist"], ["hip", "knee", "ankle"],
                             ["nose", "head_top"]),
    },
    {
        "name": "jhmdb",
        "aliases": ["jhmdb15"],
        "description": "JHMDB puppet joints, 15 (Jhuang et al., ICCV 2013): 'face' is named "
        "head, 'belly' spine_mid.",
        "joints": ["neck", "spine_mid", "head", "right_shoulder", "left_shoulder", "right_hip",
                   "left_hip", "right_elbow", "left_elbow", "right_knee", "left_knee",
                   "right_wrist", "left_wrist", "right_ankle", "left_ankle"],
        "bones": [["neck", "head"], ["neck", "spine_mid"], ["neck", "left_shoulder"],
                  ["neck", "right_shoulder"], ["spine_mid", "left_hip"],
                  ["spine_mid", "right_hip"]]
        + _both("shoulder", "elbow", "wrist") + _both("hip", "knee", "ankle"),
        "center": "neck",
        "parts": _side_parts(["shoulder", "elbow", "wrist"], ["hip", "knee", "ankle"], ["head"]),
    },
]
