"""BlazePose / MediaPipe output as ``.npz`` (as in ``real_pairs`` and ``skelkd extract``):
``keypoints_xy`` (T, 33, 2) pixels, ``visibility`` (T, 33), optional ``img_shape`` (H, W),
``source``, ``estimator``. A frame where no person was found is all zeros: missing.
The visibility becomes the score. Labels come from ``SRC/<class name>/`` folders.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, class_from_folder, files_in, instance_ids


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(1, T, 33, 2) keypoints, (1, T, 33) scores and metadata of one BlazePose .npz."""
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise FormatError(path, "(file)", "a .npz archive (a zip of .npy arrays)",
                          "another kind of file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(path, "(file)", "a .npz archive without pickled objects",
                          str(exc)) from exc
    for name in ("keypoints_xy", "visibility"):
        if name not in arrays:
            raise FormatError(path, name, "an array of this name", "missing")
    xy, vis = arrays["keypoints_xy"], arrays["visibility"]
    if xy.ndim != 3 or xy.shape[1:] != (33, 2) or xy.shape[0] < 1 or not np.issubdtype(
            xy.dtype, np.number):
        raise FormatError(path, "keypoints_xy", "a numeric (T, 33, 2) array with T >= 1",
                          xy.shape)
    if vis.shape != xy.shape[:2] or not np.issubdtype(vis.dtype, np.number):
        raise FormatError(path, "visibility", f"a numeric array of shape {xy.shape[:2]}",
                          vis.shape)
    found = np.abs(xy).sum(axis=(1, 2)) > 0
    sc = np.where(found[:, None], np.clip(vis, 0.0, 1.0), 0.0)
    meta = {"source_file": path.name}
    for key in ("source", "estimator"):
        if key in arrays and arrays[key].ndim == 0:
            meta[key] = str(arrays[key])
    if "img_shape" in arrays and arrays["img_shape"].size >= 2:
        shape = arrays["img_shape"].ravel()[:2]
        if not np.issubdtype(shape.dtype, np.number) or not np.isfinite(shape).all() or (
                shape <= 0).any() or (shape > 1e6).any():
            raise FormatError(path, "img_shape", "(height, width) as positive numbers",
                              arrays["img_shape"])
        meta["image_height"], meta["image_width"] = (int(v) for v in shape)
    return xy[None].astype(np.float32), sc[None].astype(np.float32), meta


def read(src: Path) -> RawDataset:
    files = files_in(src, "*.npz", "BlazePose .npz")
    classes, labels = class_from_folder(files, Path(src))

    def items():
        for f, label, iid in zip(files, labels, instance_ids(files, src), strict=True):
            kp, sc, meta = read_npz(f)
            yield Sample(kp, sc, label, iid, "blazepose", meta), {}, str(f)

    return RawDataset("blazepose", classes, items(), len(files), f"BlazePose output from {src}")


READER = Reader("blazepose", "BlazePose / MediaPipe .npz (keypoints_xy, visibility; 33 "
                "landmarks; labels from SRC/<class>/ folders)", read)
