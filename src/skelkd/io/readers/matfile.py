"""Reading MATLAB .mat files (scipy.io) with errors that name the file and field.

SciPy's MAT parser can crash the interpreter (a segmentation fault) on some damaged
files (found by ``tests/test_fuzz.py`` with SciPy 1.17). Files are therefore parsed in
a separate worker process, started once and reused: a crash there becomes an error
naming the file, and the run that asked for it carries on to report it.
"""

from __future__ import annotations

import atexit
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from ...errors import FormatError

_POOL: ProcessPoolExecutor | None = None


def _parse(path: str) -> dict:
    import scipy.io

    try:
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except Exception as exc:  # scipy raises many types for a malformed file
        return {"__error__": f"{type(exc).__name__}: {exc}"}


def _pool() -> ProcessPoolExecutor:
    global _POOL
    if _POOL is None:
        from multiprocessing import get_context

        _POOL = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
        atexit.register(_POOL.shutdown, wait=False, cancel_futures=True)
    return _POOL


def load_mat(path: Path) -> dict:
    """The variables of a .mat file (without the ``__header__`` entries)."""
    global _POOL
    try:
        mat = _pool().submit(_parse, str(path)).result()
    except BrokenProcessPool as exc:
        _POOL = None  # the next file gets a fresh worker
        raise FormatError(path, "(file)", "a MATLAB .mat file SciPy can parse",
                          "a damaged file that crashed SciPy's parser") from exc
    if "__error__" in mat:
        raise FormatError(path, "(file)", "a readable MATLAB .mat file", mat["__error__"])
    return mat


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
