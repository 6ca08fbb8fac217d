"""JHMDB puppet annotations: ``joint_positions.mat`` with ``pos_img`` (2, 15, T) pixels
(Jhuang et al., ICCV 2013). One clip per file; the instance id is the clip folder's name.
Labels come from ``SRC/<class name>/<clip>/joint_positions.mat`` folders when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, files_in
from .matfile import load_mat, mat_array


def read_file(path: Path) -> np.ndarray:
    """(1, T, 15, 2) pixel coordinates of one ``joint_positions.mat``."""
    pos = mat_array(load_mat(path), path, "pos_img", 3)
    if pos.shape[:2] != (2, 15) or pos.shape[2] < 1:
        raise FormatError(path, "pos_img", "an array of shape (2, 15, T) with T >= 1", pos.shape)
    return pos.transpose(2, 1, 0)[None].astype(np.float32)


def read(src: Path) -> RawDataset:
    files = files_in(src, "joint_positions.mat", "JHMDB joint_positions.mat")
    src = Path(src)
    names = [f.parent.parent.name if src.is_dir() and f.parent.parent != src.parent
             and f.parent != src else "unlabelled" for f in files]
    classes = sorted(set(names))

    def items():
        for f, name in zip(files, names, strict=True):
            kp = read_file(f)
            sc = np.ones(kp.shape[:3], np.float32)
            yield (Sample(kp, sc, classes.index(name), f.parent.name, "jhmdb",
                          {"source_file": f"{f.parent.name}/{f.name}"}), {}, str(f))

    return RawDataset("jhmdb", classes, items(), len(files), f"JHMDB puppet joints from {src}")


READER = Reader("jhmdb", "JHMDB joint_positions.mat (puppet joints, 15, 2D pixels)", read)
