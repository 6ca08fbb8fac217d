"""Reading MATLAB .mat files (scipy.io) with errors that name the file and field.

SciPy's MAT parser can crash the interpreter (a segmentation fault) on some damaged
files (found by ``tests/test_fuzz.py`` with SciPy 1.17). Files are therefore parsed in a
helper process (``python -m skelkd.io.readers.matfile``, started once and reused) that
sends the parsed variables back: a crash there becomes an error naming the file, and the
run that asked for it carries on to report it. The helper is a plain subprocess, not a
multiprocessing worker, so scripts without an ``if __name__ == "__main__"`` guard work.
"""

from __future__ import annotations

import atexit
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from ...errors import FormatError

_WORKER: subprocess.Popen | None = None


def _parse(path: str) -> dict:
    import scipy.io

    try:
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except Exception as exc:  # scipy raises many types for a malformed file
        return {"__error__": f"{type(exc).__name__}: {exc}"}


def _send(stream, data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _receive(stream) -> bytes | None:
    head = stream.read(8)
    if len(head) < 8:
        return None
    n = int.from_bytes(head, "little")
    data = stream.read(n)
    return data if len(data) == n else None


def _worker() -> subprocess.Popen:
    global _WORKER
    if _WORKER is None or _WORKER.poll() is not None:
        _WORKER = subprocess.Popen([sys.executable, "-m", "skelkd.io.readers.matfile"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
        atexit.register(_WORKER.kill)
    return _WORKER


def load_mat(path: Path) -> dict:
    """The variables of a .mat file (without the ``__header__`` entries)."""
    worker = _worker()
    try:
        _send(worker.stdin, str(path).encode("utf-8", "surrogateescape"))
        reply = _receive(worker.stdout)
    except OSError:
        reply = None
    if reply is None:
        global _WORKER
        worker.kill()
        worker.wait()
        _WORKER = None  # the next file gets a fresh helper
        raise FormatError(path, "(file)", "a MATLAB .mat file SciPy can parse",
                          "a damaged file that crashed SciPy's parser")
    mat = pickle.loads(reply)  # noqa: S301 - made by our own helper process from arrays
    if "__error__" in mat:
        raise FormatError(path, "(file)", "a readable MATLAB .mat file", mat["__error__"])
    return mat


def _serve() -> None:
    """The helper process: read a path, parse it, send the variables back; repeat."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (request := _receive(stdin)) is not None:
        _send(stdout, pickle.dumps(_parse(request.decode("utf-8", "surrogateescape")),
                                   protocol=pickle.HIGHEST_PROTOCOL))


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


if __name__ == "__main__":
    _serve()
