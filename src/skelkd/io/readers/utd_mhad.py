"""UTD-MHAD skeletons: ``aA_sS_tT_skeleton.mat`` with ``d_skel`` (20, 3, T), Kinect V1
3D joints in the dataset's head-first order (Chen, Jafari, Kehtarnavaz, ICIP 2015).

Kinect V1 gives no per-joint confidence here: every joint has score 1, except an
all-zero joint (not tracked), which is missing. Split ``official``: odd subjects train,
even subjects test (the dataset's usual protocol).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, files_in, one_sample_per_file
from .matfile import load_mat, mat_array

CLASSES = ["right arm swipe to the left", "right arm swipe to the right", "right hand wave",
           "two hand front clap", "right arm throw", "cross arms in the chest",
           "basketball shoot", "right hand draw x", "right hand draw circle (clockwise)",
           "right hand draw circle (counter clockwise)", "draw triangle",
           "bowling (right hand)", "front boxing", "baseball swing from right",
           "tennis right hand forehand swing", "arm curl (two arms)", "tennis serve",
           "two hand push", "right hand knock on door", "right hand catch an object",
           "right hand pick up and throw", "jogging in place", "walking in place",
           "sit to stand", "stand to sit", "forward lunge (left foot forward)",
           "squat (two arms stretch out)"]

_NAME = re.compile(r"a(\d+)_s(\d+)_t(\d+)_skeleton\.mat$")


def kinect_scores(kp: np.ndarray) -> np.ndarray:
    """Score 1 for every joint except all-zero (untracked) ones."""
    return (np.abs(kp).sum(axis=-1) > 0).astype(np.float32)


def read_file(path: Path) -> tuple[Sample, dict[str, str]]:
    m = _NAME.search(path.name)
    if not m:
        raise FormatError(path, "(file name)", "aA_sS_tT_skeleton.mat")
    action, subject, trial = (int(g) for g in m.groups())
    if not 1 <= action <= len(CLASSES):
        raise FormatError(path, "(file name) action", f"1..{len(CLASSES)}", action)
    skel = mat_array(load_mat(path), path, "d_skel", 3)
    if skel.shape[0] != 20 or skel.shape[1] != 3 or skel.shape[2] < 1:
        raise FormatError(path, "d_skel", "an array of shape (20, 3, T) with T >= 1", skel.shape)
    kp = skel.transpose(2, 0, 1)[None].astype(np.float32)
    meta = {"subject": subject, "trial": trial, "source_file": path.name}
    sample = Sample(kp, kinect_scores(kp), action - 1, path.name[: -len("_skeleton.mat")],
                    "kinect_v1_utd", meta)
    return sample, {"official": "train" if subject % 2 else "test"}


def read(src: Path) -> RawDataset:
    return one_sample_per_file(files_in(src, "*_skeleton.mat", "UTD-MHAD skeleton"), read_file,
                               "kinect_v1_utd", CLASSES,
                               "UTD-MHAD Kinect V1 3D joints (Chen et al., ICIP 2015)")


READER = Reader("utd_mhad", "UTD-MHAD Skeleton/aA_sS_tT_skeleton.mat (Kinect V1 3D, 20 joints, "
                "head first; split 'official': odd subjects train)", read)
