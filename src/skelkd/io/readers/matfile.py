"""Reading MATLAB .mat files (scipy.io) with errors that name the file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FormatError


def load_mat(path: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises many types for a malformed file
        raise FormatError(path, "(file)", "a readable MATLAB .mat file", str(exc)) from exc


def mat_array(mat: dict, path: Path, name: str, ndim: int, *, numeric: bool = True,
              shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Field ``name`` of a loaded .mat file, checked for dimensionality and shape."""
    if name not in mat:
        raise FormatError(path, name, "a field of this name", "missing")
    arr = np.asarray(mat[name])
    if numeric and not np.issubdtype(arr.dtype, np.number):
        raise FormatError(path, name, "a numeric array", arr.dtype)
    if arr.ndim != ndim or (shape and any(s is not None and a != s
                                          for a, s in zip(arr.shape, shape, strict=True))):
        want = shape if shape else f"{ndim} dimensions"
        raise FormatError(path, name, f"an array of shape {want}", arr.shape)
    return arr


def mat_string(mat: dict, path: Path, name: str) -> str:
    if name not in mat:
        raise FormatError(path, name, "a field of this name", "missing")
    arr = np.asarray(mat[name]).ravel()
    if arr.size != 1 or not isinstance(arr[0], str):
        raise FormatError(path, name, "a string", arr)
    return str(arr[0])


def mat_scalar(mat: dict, path: Path, name: str) -> float:
    arr = mat_array(mat, path, name, 2)
    if arr.size != 1:
        raise FormatError(path, name, "a single number", arr.shape)
    return float(arr.ravel()[0])
