"""Checkpoints that are written atomically, carry a format stamp and a checksum, and load
without running code.

* Writing: the whole checkpoint is serialised in memory, written to a temporary file
  beside the target, flushed to disk, then renamed over the target. A crash, a kill or a
  full disk leaves the previous checkpoint as it was; a failed write says so in one line.
* Stamp: ``checkpoint["skelkd"] = {"format": "skelkd-checkpoint", "version": 1,
  "state_dict_sha256": ...}``, the SHA-256 of the model weights (names, dtypes, shapes
  and bytes), verified on every load, so a corrupted file is detected rather than used.
  Checkpoints written before the stamp existed still load (nothing to verify).
* Loading: ``torch.load(..., weights_only=True)`` always: a file carrying pickled code
  is refused with an explanation.

Lightning saves and resumes through :class:`SafeCheckpointIO`; ``load_module`` uses
:func:`read_checkpoint`.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from ..errors import SkelkdError

FORMAT = "skelkd-checkpoint"
VERSION = 1


def state_digest(state_dict: dict) -> str:
    """SHA-256 of a state dict: every tensor's name, dtype, shape and bytes, in name
    order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def stamp(checkpoint: dict) -> dict:
    """Add the format stamp and the weights' checksum (in place; returned too)."""
    checkpoint["skelkd"] = {"format": FORMAT, "version": VERSION,
                            "state_dict_sha256": state_digest(checkpoint.get("state_dict", {}))}
    return checkpoint


def verify(checkpoint: dict, path: str | Path) -> dict:
    """Check the stamp and checksum of a loaded checkpoint (when it has them)."""
    info = checkpoint.get("skelkd") if isinstance(checkpoint, dict) else None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise SkelkdError(f"{path}: not a model checkpoint (no state_dict)")
    if info is None:
        return checkpoint  # written before checkpoints were stamped
    if info.get("format") != FORMAT or info.get("version") != VERSION:
        raise SkelkdError(f"{path}: checkpoint format {info.get('format')!r} version "
                          f"{info.get('version')!r}; this skelkd reads {FORMAT!r} version "
                          f"{VERSION}")
    if state_digest(checkpoint["state_dict"]) != info.get("state_dict_sha256"):
        raise SkelkdError(f"{path}: the weights do not match the checkpoint's checksum: the "
                          "file is corrupted or was edited")
    return checkpoint


def write_checkpoint(checkpoint: dict, path: str | Path) -> Path:
    """Serialise, write to a temporary file, flush, rename over ``path``."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SkelkdError(f"{path}: cannot write the checkpoint ({exc.strerror or exc}); the "
                          "previous checkpoint there, if any, is unchanged") from exc
    except BaseException:  # a signal mid-write: no half-written temporary left behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict:
    """Load with ``weights_only=True`` and verify; every failure is one clear error."""
    path = Path(path)
    if not path.is_file():
        raise SkelkdError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if not zipfile.is_zipfile(path) and path.read_bytes()[:1] != b"\x80":
            raise SkelkdError(f"{path}: not a PyTorch checkpoint (neither the zip archive "
                              "torch.save writes nor a pickle)") from exc
        # torch's own message goes on to advise weights_only=False: never repeat that
        why = next((line.strip() for line in str(exc).splitlines()
                    if line.strip().startswith("WeightsUnpickler error")), "")
        raise SkelkdError(f"{path}: refused: it holds pickled objects other than tensors and "
                          "plain data, which could run code when loaded (skelkd loads "
                          f"checkpoints with weights_only=True). {why}".rstrip()) from exc
    except Exception as exc:  # truncated zip, wrong magic, bad storage...
        raise SkelkdError(f"{path}: not a readable checkpoint ({type(exc).__name__}: "
                          f"{exc})") from exc
    return verify(ckpt, path)


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O through :func:`write_checkpoint` and
    :func:`read_checkpoint` (stamped, atomic, verified, ``weights_only=True``)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError("storage_options are not supported")
        write_checkpoint(stamp(checkpoint), path)

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return read_checkpoint(path, map_location if map_location is not None else "cpu")
