"""Penn Action labels: one ``NNNN.mat`` per clip (Zhang, Zhu, Derpanis, ICCV 2013).

Fields used: ``x``, ``y`` (T, 13) pixels; ``visibility`` (T, 13) 0/1; ``action``;
``pose`` (coarse view); ``train`` (1 train, -1 test); ``dimensions`` (H, W, T).
Annotators placed joints they could not see too: such joints keep their coordinates
and get score ``invisible_score`` (0.5 by default; 0 would mark them missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, files_in, one_sample_per_file
from .matfile import load_mat, mat_array, mat_scalar, mat_string

CLASSES = ["baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk",
           "golf_swing", "jump_rope", "jumping_jacks", "pullup", "pushup", "situp", "squat",
           "strum_guitar", "tennis_forehand", "tennis_serve"]


def read_clip(path: Path, invisible_score: float = 0.5) -> tuple[Sample, dict[str, str]]:
    mat = load_mat(path)
    x = mat_array(mat, path, "x", 2)
    t = x.shape[0]
    if x.shape[1] != 13 or t < 1:
        raise FormatError(path, "x", "an array of shape (T, 13) with T >= 1", x.shape)
    y = mat_array(mat, path, "y", 2, shape=(t, 13))
    vis = mat_array(mat, path, "visibility", 2, shape=(t, 13))
    action = mat_string(mat, path, "action")
    if action not in CLASSES:
        raise FormatError(path, "action", f"one of {CLASSES}", repr(action))
    train = mat_scalar(mat, path, "train")
    if train not in (1, -1):
        raise FormatError(path, "train", "1 (train) or -1 (test)", train)
    kp = np.stack([x, y], axis=-1)[None].astype(np.float32)
    sc = np.where(vis[None] > 0, 1.0, invisible_score).astype(np.float32)
    meta = {"view": mat_string(mat, path, "pose"), "source_file": path.name}
    if "dimensions" in mat:
        dims = np.asarray(mat["dimensions"]).ravel()
        if dims.size >= 2:
            meta["image_height"], meta["image_width"] = int(dims[0]), int(dims[1])
    sample = Sample(kp, sc, CLASSES.index(action), path.stem, "penn_action", meta)
    return sample, {"official": "train" if train == 1 else "test"}


def read(src: Path, invisible_score: float = 0.5) -> RawDataset:
    return one_sample_per_file(files_in(src, "*.mat", "Penn Action label"), read_clip,
                               "penn_action", CLASSES, "Penn Action human-annotated 2D joints "
                               "(Zhang et al., ICCV 2013)", invisible_score=invisible_score)


READER = Reader("penn_action", "Penn Action labels/NNNN.mat (human-annotated 2D, 13 joints; "
                "split 'official' from the train field)", read)
