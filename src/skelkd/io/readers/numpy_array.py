"""Plain NumPy arrays: ``.npy`` files of shape (T, V, C) or (M, T, V, C) in a layout the
caller names (``--layout``). Every joint that is not all zeros gets score 1. Labels come
from ``SRC/<class name>/`` folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError, SkelkdError
from ...layouts import get_layout
from ..pack import Sample
from . import RawDataset, Reader, class_from_folder, files_in, instance_ids


def read_file(path: Path, num_joints: int) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(path, "(file)", "a .npy array without pickled objects",
                          str(exc)) from exc
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[2] != num_joints or arr.shape[3] not in (2, 3) or not (
            np.issubdtype(arr.dtype, np.number)):
        raise FormatError(path, "(array)", f"a numeric (T, {num_joints}, 2|3) or "
                          f"(M, T, {num_joints}, 2|3) array", arr.shape)
    return arr.astype(np.float32)


def read(src: Path, layout: str | None = None) -> RawDataset:
    if layout is None:
        raise SkelkdError("the numpy format needs the layout of the arrays (--layout NAME)")
    lay = get_layout(layout)
    files = files_in(src, "*.npy", ".npy")
    classes, labels = class_from_folder(files, Path(src))

    def items():
        for f, label, iid in zip(files, labels, instance_ids(files, src), strict=True):
            kp = read_file(f, lay.num_joints)
            sc = (np.abs(kp).sum(-1) > 0).astype(np.float32)
            yield Sample(kp, sc, label, iid, lay.name, {"source_file": f.name}), {}, str(f)

    return RawDataset(lay.name, classes, items(), len(files), f"arrays from {src}")


READER = Reader("numpy", ".npy arrays (T, V, C) or (M, T, V, C) in a named --layout", read)
