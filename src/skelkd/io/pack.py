"""The canonical skelkd pack: many skeleton samples, safe to load, memory-mappable.

A pack is a directory (``NAME.skpack/``) or the same files in a zip archive
(``NAME.skpack.zip``, read into memory; used for the small embedded pack). No file
is ever unpickled: arrays are ``.npy`` loaded with ``allow_pickle=False``, the rest
is JSON. ``docs/formats.md`` documents every field; in short:

``meta.json``
    ``format`` ("skelkd-pack"), ``version``, ``layout`` (the full layout definition, so
    user layouts travel with their data), ``coord_dims`` (C: 2 or 3), ``class_names``,
    ``num_samples`` (N), ``num_rows`` (R), ``description``, ``source``, ``simulated``
    (null, or the simulator's parameters), ``created_by``.
``keypoints.npy``
    (R, V, C) float32. Sample i occupies rows ``offset_i .. offset_i + M_i*T_i``, person
    by person: reshape to (M_i, T_i, V, C).
``scores.npy``
    (R, V) float32 per-joint score, 0 where the joint is missing.
``index.npy``
    (N, 4) int64: row offset, persons M_i, frames T_i, label.
``samples.json``
    columns of per-sample metadata, each a list of N values: ``instance_id`` (unique; it
    pairs a low-quality sample with its high-quality twin), ``subject``, ``view``,
    ``camera``, ``source_file`` and any other the reader records.
``splits.json``
    named splits: ``{"xsub": {"train": [i, ...], "test": [...]}, ...}``. Every split with
    ``train`` and ``test`` subsets comes with a validation split carved from its training
    subset when the pack is written: ``xsub-val`` with ``train``, ``val`` and ``test``
    (:mod:`skelkd.io.splits`).

Writing goes to a temporary directory beside the target, renamed into place at the
end, so an interrupted or failed write leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError, SkelkdError
from ..layouts import Layout, LayoutError, get_layout

FORMAT = "skelkd-pack"
# 2: meta.json carries checksums of the other files; 3: and the digest of its own content
# (meta_sha256), so that an edited class name or layout is caught too. 1 and 2 still open.
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
BLOCK_BYTES = 1 << 24  # checksum block of the large arrays (16 MiB), verified on first read
_HEADER_BYTES = 128  # fixed .npy header size, so arrays can be streamed before their shape is known
_STANDARD_COLUMNS = ("instance_id", "subject", "view", "camera", "source_file")


DEFAULT_FPS = 30.0  # a sample without an 'fps' (Penn Action, NTU, Kinect: 30)


@dataclass
class Sample:
    """One action instance.

    Attributes:
        keypoints: (M, T, V, C) float32 coordinates, 0 where missing.
        scores: (M, T, V) float32 per-joint score in [0, 1]; 0 means missing.
        label: class index.
        instance_id: the key that pairs a low-quality sample with its high-quality twin.
        layout: layout name.
        meta: subject, view, camera, source_file and any other metadata.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    label: int
    instance_id: str
    layout: str
    meta: dict = field(default_factory=dict)

    @property
    def num_persons(self) -> int:
        return self.keypoints.shape[0]

    @property
    def num_frames(self) -> int:
        return self.keypoints.shape[1]

    @property
    def fps(self) -> float:
        """Its frame rate: ``meta['fps']``, :data:`DEFAULT_FPS` when it has none."""
        return float(self.meta.get("fps") or DEFAULT_FPS)


def clean_joints(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rule for non-finite values: a joint with a NaN or infinite coordinate or score
    is missing (coordinates 0, score 0); a missing joint (score 0) has coordinates 0."""
    kp = np.asarray(keypoints, dtype=np.float32)
    sc = np.asarray(scores, dtype=np.float32)
    bad = ~np.isfinite(kp).all(axis=-1) | ~np.isfinite(sc)
    sc = np.where(bad, 0.0, sc).astype(np.float32)
    kp = np.where((sc > 0)[..., None], np.nan_to_num(kp, nan=0, posinf=0, neginf=0), 0.0)
    return kp.astype(np.float32), sc


def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    """A version 1.0 .npy header padded to exactly ``_HEADER_BYTES`` bytes."""
    desc = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": tuple(int(s) for s in shape)}
    text = repr(desc)
    room = _HEADER_BYTES - 10
    if len(text) + 1 > room:
        raise SkelkdError(f"array shape {shape} too large for the pack header")
    text = text + " " * (room - len(text) - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + np.uint16(room).tobytes() + text.encode("latin1")


class _BlockHasher:
    """SHA-256 of each ``BLOCK_BYTES`` block of a byte stream."""

    def __init__(self, block_bytes: int = BLOCK_BYTES):
        self.block_bytes, self.digests = block_bytes, []
        self._h, self._fill = hashlib.sha256(), 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            take = min(len(view), self.block_bytes - self._fill)
            self._h.update(view[:take])
            self._fill += take
            view = view[take:]
            if self._fill == self.block_bytes:
                self.digests.append(self._h.hexdigest())
                self._h, self._fill = hashlib.sha256(), 0

    def finish(self) -> dict:
        if self._fill:
            self.digests.append(self._h.hexdigest())
            self._h, self._fill = hashlib.sha256(), 0
        return {"block_bytes": self.block_bytes, "sha256": self.digests}


class _StreamedArray:
    """An .npy file written row block by row block; the header is fixed up on close.
    The data (after the header) is hashed block by block as it is written."""

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: type):
        self.path, self.row_shape, self.dtype = path, row_shape, np.dtype(dtype)
        self.rows = 0
        self.hasher = _BlockHasher()
        self.fh = open(path, "wb")
        self.fh.write(b"\0" * _HEADER_BYTES)

    def append(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=self.dtype).reshape(-1, *self.row_shape)
        data = block.tobytes()
        self.fh.write(data)
        self.hasher.update(data)
        self.rows += block.shape[0]

    def close(self) -> dict:
        """Write the header; returns the data's block checksums."""
        self.fh.seek(0)
        self.fh.write(_npy_header((self.rows, *self.row_shape), self.dtype))
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        return self.hasher.finish()


def meta_digest(meta: dict) -> str:
    """SHA-256 of meta.json's fields other than ``meta_sha256``, in a canonical form (keys
    sorted, no whitespace): what version 3 stores to catch an edited meta.json."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    # allow_nan: a damaged meta.json may hold NaN; it then fails the comparison, not here
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_checksums(folder: str | Path) -> dict:
    """The checksums meta.json stores for a folder pack's files as they are now on disk:
    the SHA-256 of ``index.npy``, ``samples.json`` and ``splits.json``, and the block
    digests of the data (after the header) of ``keypoints.npy`` and ``scores.npy``. For
    a tool that rewrites a pack's files on purpose, and for tests that craft damaged
    packs; opening a pack compares its files with these (and meta.json with
    :func:`meta_digest`)."""
    folder = Path(folder)
    sums = {}
    for name in ("index.npy", "samples.json", "splits.json"):
        if (folder / name).exists():
            sums[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    for name in ("keypoints.npy", "scores.npy"):
        if (folder / name).exists():
            h = _BlockHasher()
            h.update((folder / name).read_bytes()[_HEADER_BYTES:])
            sums[name] = h.finish()
    return sums


def _write_json(path: Path, obj: object) -> str:
    """Write JSON; returns the SHA-256 of the bytes written."""
    data = json.dumps(obj, indent=1, allow_nan=False).encode("utf-8")
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


class PackWriter:
    """Stream samples into a new pack without holding them in memory.

    >>> with PackWriter("out.skpack", "coco", class_names=["a", "b"]) as w:  # doctest: +SKIP
    ...     w.add(sample)
    ...     w.set_split("default", "train", [0])

    ``archive=True`` writes a zip archive instead of a directory. The target appears
    only when the ``with`` block ends without error. An existing target is replaced only
    with ``overwrite=True``, and only when it is a skelkd pack that is not among
    ``protect`` (the paths the same command reads), nor inside one, nor holding one.
    """

    def __init__(self, path: str | Path, layout: str | Layout, class_names: Sequence[str], *,
                 coord_dims: int | None = None, description: str = "", source: str = "",
                 simulated: Mapping | None = None, archive: bool = False,
                 overwrite: bool = False, protect: Sequence[str | Path] = ()):
        self.path = Path(path)
        self.layout = get_layout(layout)
        self.class_names = [str(c) for c in class_names]
        self.coord_dims = coord_dims
        self.info = {"description": description, "source": source,
                     "simulated": dict(simulated) if simulated else None}
        self.archive, self.overwrite = archive, overwrite
        if self.path.exists():
            if not overwrite:
                raise SkelkdError(f"{self.path}: already exists (pass --overwrite to replace "
                                  "it)")
            _check_replaceable(self.path, protect)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(self.path)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.{os.getpid()}-",
                                         dir=self.path.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)  # mkdtemp's 0700 would keep a lab from sharing
        self._kp: _StreamedArray | None = None
        self._sc = _StreamedArray(self.tmp / "scores.npy", (self.layout.num_joints,), np.float32)
        self._index: list[tuple[int, int, int, int]] = []
        self._columns: dict[str, list] = {c: [] for c in _STANDARD_COLUMNS}
        self._ids: set[str] = set()
        self._splits: dict[str, dict[str, list[int]]] = {}

    def __len__(self) -> int:
        return len(self._index)

    def add(self, sample: Sample, *, where: str = "sample") -> int:
        """Append a sample after checking it; returns its index. ``where`` names it in errors."""
        kp, sc = np.asarray(sample.keypoints), np.asarray(sample.scores)
        v = self.layout.num_joints
        if kp.ndim != 4 or kp.shape[2] != v or kp.shape[3] not in (2, 3):
            raise FormatError(where, "keypoints", f"shape (M, T, {v}, 2 or 3) for layout "
                              f"'{self.layout.name}'", kp.shape)
        if kp.shape[0] < 1 or kp.shape[1] < 1:
            raise FormatError(where, "keypoints", "at least one person and one frame", kp.shape)
        if sc.shape != kp.shape[:3]:
            raise FormatError(where, "scores", f"shape {kp.shape[:3]}", sc.shape)
        if self.coord_dims is None:
            self.coord_dims = kp.shape[3]
        if kp.shape[3] != self.coord_dims:
            raise FormatError(where, "keypoints", f"{self.coord_dims} coordinates per joint as "
                              "the pack's other samples", kp.shape[3])
        label = sample.label
        if isinstance(label, bool) or not isinstance(label, int | np.integer) or not (
                0 <= label < len(self.class_names)):
            raise FormatError(where, "label", f"an integer in 0..{len(self.class_names) - 1}",
                              label)
        iid = str(sample.instance_id)
        if not iid:
            raise FormatError(where, "instance_id", "a non-empty string")
        if iid in self._ids:
            raise FormatError(where, "instance_id", "a unique id", f"duplicate '{iid}'")
        kp, sc = clean_joints(kp, sc)
        if (sc < 0).any():
            raise FormatError(where, "scores", "values >= 0", float(sc.min()))
        if self._kp is None:
            self._kp = _StreamedArray(self.tmp / "keypoints.npy", (v, self.coord_dims), np.float32)
        offset = self._kp.rows
        self._kp.append(kp)
        self._sc.append(sc)
        self._index.append((offset, kp.shape[0], kp.shape[1], int(label)))
        self._ids.add(iid)
        n = len(self._index) - 1
        meta = {"instance_id": iid, **{k: _json_value(v) for k, v in sample.meta.items()}}
        for key in meta:
            self._columns.setdefault(key, [None] * n)
        for key, col in self._columns.items():
            col.append(meta.get(key))
        return n

    def set_split(self, split: str, subset: str, indices: Iterable[int]) -> None:
        self._splits.setdefault(split, {})[subset] = sorted(int(i) for i in indices)

    def close(self) -> Path:
        if not self._index:
            raise SkelkdError(f"{self.path}: no sample to write")
        assert self._kp is not None
        checksums = {"keypoints.npy": self._kp.close(), "scores.npy": self._sc.close()}
        np.save(self.tmp / "index.npy", np.asarray(self._index, dtype=np.int64))
        checksums["index.npy"] = hashlib.sha256(
            (self.tmp / "index.npy").read_bytes()).hexdigest()
        n = len(self._index)
        for split, subsets in self._splits.items():
            for subset, idx in subsets.items():
                if idx and (idx[0] < 0 or idx[-1] >= n):
                    raise SkelkdError(f"split '{split}/{subset}' names sample {idx[-1]} of {n}")
        from .. import __version__

        meta = {"format": FORMAT, "version": VERSION, "layout": self.layout.to_dict(),
                "coord_dims": self.coord_dims, "class_names": self.class_names,
                "num_samples": n, "num_rows": self._kp.rows, **self.info,
                "created_by": f"skelkd {__version__}"}
        checksums["samples.json"] = _write_json(self.tmp / "samples.json", self._columns)
        # every split with train and test subsets gets its validation split, carved from
        # its training subset (io/splits.py): stored, so every reader sees the same one
        from .splits import with_validation

        labels = np.asarray([row[3] for row in self._index], dtype=np.int64)
        splits = with_validation(self._splits, labels, self._columns["instance_id"])
        checksums["splits.json"] = _write_json(self.tmp / "splits.json", splits)
        meta["checksums"] = checksums
        meta["meta_sha256"] = meta_digest(meta)
        _write_json(self.tmp / "meta.json", meta)
        if self.archive:
            tmp_zip = self.tmp.with_suffix(".zip")
            with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED,
                                 compresslevel=9) as zf:
                for f in sorted(self.tmp.iterdir()):
                    zf.write(f, f.name)
            shutil.rmtree(self.tmp)
            self._replace(tmp_zip)
        else:
            self._replace(self.tmp)
        return self.path

    def _replace(self, built: Path) -> None:
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.old")
            os.replace(self.path, old)
            os.replace(built, self.path)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(built, self.path)

    def abort(self) -> None:
        for f in (self._kp, self._sc):
            if f is not None and not f.fh.closed:
                f.fh.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.with_suffix(".zip").unlink(missing_ok=True)

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.close()
            except BaseException:
                self.abort()
                raise
        else:
            self.abort()


def _remove_stale_temporaries(path: Path) -> None:
    """Temporaries that a writer of ``path`` left behind when its process died (a
    SIGKILL, a power cut): ``.NAME.PID-*`` folders and their ``.zip`` whose process no
    longer runs on this machine. A live writer's are left alone."""
    prefix = f".{path.name}."
    for tmp in path.parent.glob(f"{_glob_escape(prefix)}*-*"):
        pid = tmp.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_pack(path: Path) -> bool:
    """Whether ``path`` is a skelkd pack (a folder or a .skpack.zip whose meta.json says
    so): what ``overwrite`` may replace."""
    try:
        if path.is_dir():
            meta = json.loads((path / "meta.json").read_text())
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.rsplit("/", 1)[-1] == "meta.json"]
                meta = json.loads(z.read(min(names, key=len))) if names else {}
        else:
            return False
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def _check_replaceable(path: Path, protect: Sequence[str | Path]) -> None:
    """``overwrite`` replaces only a pack, and never one that the same command reads
    (``protect``) or one that holds or sits inside such an input."""
    if not is_pack(path):
        raise SkelkdError(f"{path}: exists and is not a skelkd pack; --overwrite replaces "
                          "only a pack written by skelkd, so nothing was changed (choose "
                          "another OUT)")
    target = path.resolve()
    for src in protect:
        src = Path(src).resolve()
        if src == target or target in src.parents or src in target.parents:
            raise SkelkdError(f"{path}: is an input of this command ({src}); writing over "
                              "it would destroy what is being read, so nothing was changed "
                              "(choose another OUT)")


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


class Pack(Sequence[Sample]):
    """A pack opened for reading. Directory packs are memory-mapped: opening a pack of
    any size costs only its metadata, and ``pack[i]`` reads one sample from disk.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fds: dict[str, int] = {}
        if not self.path.exists():
            raise SkelkdError(f"{self.path}: no such pack")
        self.archive = not self.path.is_dir()
        if not self.archive:
            self._zip = None
        else:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise FormatError(self.path, "(archive)", "a pack directory or zip archive",
                                  str(exc)) from exc
        self._sums: dict = {}
        self._verified: dict[str, set[int]] = {}
        self.meta = self._json("meta.json", dict)
        self._check_meta()
        self._sums = self.meta.get("checksums") or {}
        self.layout = self._layout()
        self.class_names: list[str] = list(self.meta["class_names"])
        self.coord_dims: int = int(self.meta["coord_dims"])
        # in memory (32 bytes a sample): a memory-mapped row costs more per read than the
        # sample's own data
        self.index = np.array(self._array("index.npy", (None, 4), np.int64))
        n = len(self.index)
        if n != self.meta["num_samples"]:
            raise FormatError(self._where("index.npy"), "rows",
                              f"{self.meta['num_samples']} (meta.json num_samples)", n)
        v, c = self.layout.num_joints, self.coord_dims
        self.keypoints = self._array("keypoints.npy", (None, v, c), np.float32)
        self.scores = self._array("scores.npy", (None, v), np.float32)
        rows = len(self.keypoints)
        if len(self.scores) != rows or rows != self.meta["num_rows"]:
            raise FormatError(self._where("scores.npy"), "rows",
                              f"{self.meta['num_rows']} rows in keypoints and scores",
                              (rows, len(self.scores)))
        for name in ("keypoints", "scores"):
            self._check_block_count(name)
            if self.archive:  # read whole anyway: verify every block now
                self._check_blocks(name, 0, self._data_bytes(name))
        off, persons, frames, labels = self.index.T
        span = off.astype(np.float64) + persons.astype(np.float64) * frames  # no int overflow
        if n and ((off < 0).any() or (persons < 1).any() or (frames < 1).any()
                  or (span > rows).any()):
            raise FormatError(self._where("index.npy"), "offset/persons/frames",
                              "non-negative offsets and at least one person and frame inside "
                              "the keypoint rows")
        if n and ((labels < 0).any() or (labels >= len(self.class_names)).any()):
            raise FormatError(self._where("index.npy"), "label",
                              f"0..{len(self.class_names) - 1}",
                              f"{int(labels.min())}..{int(labels.max())}")
        self.columns: dict[str, list] = self._json("samples.json", dict)
        for key, col in self.columns.items():
            if not isinstance(col, list) or len(col) != n:
                raise FormatError(self._where("samples.json"), key, f"a list of {n} values")
        if "instance_id" not in self.columns:
            raise FormatError(self._where("samples.json"), "instance_id", "a column")
        ids = self.columns["instance_id"]
        if len(set(ids)) != n:
            raise FormatError(self._where("samples.json"), "instance_id", "unique ids")
        self.splits: dict[str, dict[str, list[int]]] = self._json("splits.json", dict)
        for split, subsets in self.splits.items():
            for subset, idx in (subsets.items() if isinstance(subsets, dict) else [(None, 0)]):
                if not isinstance(idx, list) or any(
                        not isinstance(i, int) or not 0 <= i < n for i in idx):
                    raise FormatError(self._where("splits.json"), f"{split}/{subset}",
                                      f"a list of sample indices in 0..{n - 1}")
        if self._zip is not None:  # an archive is read whole; nothing stays open
            self._zip.close()
            self._zip = None

    # ------------------------------------------------------------------ reading files
    def _where(self, name: str) -> str:
        return f"{self.path}/{name}" if not self.archive else f"{self.path}[{name}]"

    def _open(self, name: str):
        try:
            if self._zip is None:
                return open(self.path / name, "rb")
            return io.BytesIO(self._zip.read(name))
        except (OSError, KeyError) as exc:
            raise FormatError(self._where(name), "(file)", "a member of the pack",
                              "missing") from exc
        except (zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise FormatError(self._where(name), "(archive)", "an intact zip member",
                              f"{exc}: the archive is corrupted") from exc

    def _verify_bytes(self, name: str, data: bytes) -> None:
        """Compare a small member's bytes with its checksum in meta.json (version 2)."""
        want = self._sums.get(name)
        if want is not None and hashlib.sha256(data).hexdigest() != want:
            raise FormatError(self._where(name), "(checksum)",
                              "the SHA-256 recorded in meta.json",
                              "different bytes: the file is corrupted or was edited")

    def _json(self, name: str, kind: type):
        with self._open(name) as fh:
            data = fh.read()
        self._verify_bytes(name, data)
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(self._where(name), "(json)", "valid JSON", str(exc)) from exc
        if not isinstance(obj, kind):
            raise FormatError(self._where(name), "(top level)", f"a JSON {kind.__name__}")
        return obj

    def _array(self, name: str, shape: tuple, dtype: type) -> np.ndarray:
        if name in self._sums and isinstance(self._sums[name], str):  # small: verify whole
            with self._open(name) as fh:
                self._verify_bytes(name, fh.read())
        try:
            if self._zip is None:
                arr = np.load(self.path / name, mmap_mode="r", allow_pickle=False)
            else:
                with self._open(name) as fh:
                    arr = np.load(fh, allow_pickle=False)
        except FormatError:
            raise
        except Exception as exc:  # numpy's header parser raises many kinds on damaged files
            raise FormatError(self._where(name), "(array)", "a readable .npy array without "
                              "pickled objects", f"{type(exc).__name__}: {exc}") from exc
        if arr.dtype != np.dtype(dtype) or arr.ndim != len(shape) or any(
                s is not None and a != s for a, s in zip(arr.shape, shape, strict=True)):
            want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
            raise FormatError(self._where(name), "(array)", f"{np.dtype(dtype)} of shape {want}",
                              f"{arr.dtype} {arr.shape}")
        return arr

    def _check_meta(self) -> None:
        m, where = self.meta, self._where("meta.json")
        if m.get("format") != FORMAT:
            raise FormatError(where, "format", f"'{FORMAT}'", m.get("format"))
        if m.get("version") not in READABLE_VERSIONS:
            raise FormatError(where, "version", "one of " + ", ".join(map(str, READABLE_VERSIONS))
                              + f" (this skelkd writes version {VERSION})", m.get("version"))
        if m["version"] >= 2:
            self._check_checksums(m.get("checksums"), where)
        if m["version"] >= 3 and m.get("meta_sha256") != meta_digest(m):
            raise FormatError(where, "meta_sha256", "the SHA-256 of meta.json's other fields",
                              "a different digest: meta.json was edited or is corrupted "
                              "(class names, layout, counts)")
        for key, kind in (("layout", dict), ("class_names", list), ("num_samples", int),
                          ("num_rows", int), ("coord_dims", int)):
            if not isinstance(m.get(key), kind):
                raise FormatError(where, key, f"a JSON {kind.__name__}", m.get(key))
        if m["coord_dims"] not in (2, 3):
            raise FormatError(where, "coord_dims", "2 or 3", m["coord_dims"])

    @staticmethod
    def _check_checksums(sums, where: str) -> None:
        """The shape of meta.json's ``checksums`` (version 2)."""
        def digest(v) -> bool:
            return isinstance(v, str) and len(v) == 64

        ok = isinstance(sums, dict) and all(
            name in sums for name in ("index.npy", "samples.json", "splits.json",
                                      "keypoints.npy", "scores.npy"))
        if ok:
            ok = all(digest(sums[n]) for n in ("index.npy", "samples.json", "splits.json"))
        for name in ("keypoints.npy", "scores.npy"):
            info = sums.get(name) if ok else None
            ok = ok and isinstance(info, dict) and isinstance(info.get("block_bytes"), int) and (
                not isinstance(info.get("block_bytes"), bool)) and info["block_bytes"] > 0 and (
                isinstance(info.get("sha256"), list)) and all(map(digest, info["sha256"]))
        if not ok:
            raise FormatError(where, "checksums", "SHA-256 digests of index.npy, samples.json, "
                              "splits.json and blocks of keypoints.npy and scores.npy "
                              "(pack version 2)")

    def _layout(self) -> Layout:
        spec = self.meta["layout"]
        try:
            layout = Layout.from_dict(spec, source=self._where("meta.json") + " layout")
        except LayoutError as exc:
            raise FormatError(self._where("meta.json"), "layout", "a valid layout",
                              str(exc)) from exc
        try:
            known = get_layout(layout.name)
        except LayoutError:
            return layout
        return known if known.to_dict() == layout.to_dict() else layout

    # ------------------------------------------------------------------ API
    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} of a pack of {len(self)}")
        off, m, t, label = self.index[i].tolist()
        v = self.layout.num_joints
        kp = self.read_rows("keypoints", off, off + m * t).reshape(m, t, v, self.coord_dims)
        sc = self.read_rows("scores", off, off + m * t).reshape(m, t, v)
        meta = {k: col[i] for k, col in self.columns.items() if k != "instance_id"}
        return Sample(kp, sc, label, self.columns["instance_id"][i], self.layout.name, meta)

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of ``keypoints`` or ``scores`` as a new array.

        Directory packs are read with ``pread`` rather than through the memory map, so
        reading every sample of a pack larger than RAM keeps the process's resident
        memory small (pages of a memory map count as resident while they stay mapped).
        """
        arr = self._big(name)
        if not isinstance(arr, np.memmap):
            return np.array(arr[start:stop])
        row = arr.strides[0]  # bytes per row (a .npy array is C-contiguous)
        self._check_blocks(name, start * row, stop * row)
        n = stop - start
        buf = os.pread(self._fd(name), n * row, arr.offset + start * row)
        if len(buf) != n * row:
            raise FormatError(self._where(f"{name}.npy"), "(array)", f"{n} rows at row {start}",
                              "a truncated file")
        return np.frombuffer(buf, dtype=arr.dtype).reshape(n, *arr.shape[1:]).copy()

    def _fd(self, name: str) -> int:
        if name not in self._fds:
            self._fds[name] = os.open(self.path / f"{name}.npy", os.O_RDONLY)
        return self._fds[name]

    def _big(self, name: str) -> np.ndarray:
        """The ``keypoints`` or ``scores`` array."""
        return self.keypoints if name == "keypoints" else self.scores

    def _data_bytes(self, name: str) -> int:
        arr = self._big(name)
        return int(arr.size) * arr.dtype.itemsize

    def _check_block_count(self, name: str) -> None:
        info = self._sums.get(f"{name}.npy")
        if info is None:
            return
        bb, total = int(info["block_bytes"]), self._data_bytes(name)
        if len(info["sha256"]) != -(-total // bb):
            raise FormatError(self._where(f"{name}.npy"), "(checksum)",
                              f"{len(info['sha256'])} blocks of {bb} bytes (meta.json)",
                              f"{total} bytes of data: the file was truncated or replaced")

    def _check_blocks(self, name: str, lo: int, hi: int) -> None:
        """Verify (once per pack handle) the checksum of every block of ``name``'s data
        that bytes ``lo:hi`` touch: a corrupted pack is detected when the damaged part
        is first read, without hashing a large pack on open."""
        info = self._sums.get(f"{name}.npy")
        if info is None or hi <= lo:
            return
        bb, sums = int(info["block_bytes"]), info["sha256"]
        done = self._verified.setdefault(name, set())
        total = self._data_bytes(name)
        arr = self._big(name)
        for b in range(lo // bb, (hi - 1) // bb + 1):
            if b in done:
                continue
            length = min(bb, total - b * bb)
            if isinstance(arr, np.memmap):
                buf = os.pread(self._fd(name), length, arr.offset + b * bb)
            else:
                buf = arr.reshape(-1).view(np.uint8)[b * bb: b * bb + length].tobytes()
            if len(buf) != length or hashlib.sha256(buf).hexdigest() != sums[b]:
                raise FormatError(self._where(f"{name}.npy"), f"block {b} (data bytes "
                                  f"{b * bb}..{b * bb + length})",
                                  "the SHA-256 recorded in meta.json",
                                  "different data: the file is corrupted")
            done.add(b)

    def verify(self) -> None:
        """Check every checksum now; version 1 packs have none to check."""
        for name in ("keypoints", "scores"):
            self._check_blocks(name, 0, self._data_bytes(name))

    def close(self) -> None:
        """Release open file handles (also done when the pack is garbage-collected)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self) -> dict:  # data-loader workers reopen their own handles
        state = dict(self.__dict__)
        state["_fds"] = {}
        return state

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.index[:, 3])

    @property
    def num_frames(self) -> np.ndarray:
        return np.asarray(self.index[:, 2])

    @property
    def num_persons(self) -> np.ndarray:
        return np.asarray(self.index[:, 1])

    @property
    def instance_ids(self) -> list[str]:
        return self.columns["instance_id"]

    @property
    def simulated(self) -> dict | None:
        return self.meta.get("simulated")

    def split_indices(self, split: str | None = None, subset: str | None = None) -> np.ndarray:
        """Indices of ``split/subset`` (``"xsub", "train"``); every sample if ``split`` is None."""
        if split is None:
            return np.arange(len(self))
        if split not in self.splits:
            raise SkelkdError(f"{self.path}: no split '{split}'; splits: {sorted(self.splits)}")
        if subset is None:
            return np.arange(len(self))
        if subset not in self.splits[split]:
            raise SkelkdError(f"{self.path}: split '{split}' has no subset '{subset}'; "
                              f"subsets: {sorted(self.splits[split])}")
        return np.asarray(self.splits[split][subset], dtype=np.int64)

    def __repr__(self) -> str:
        return (f"Pack({str(self.path)!r}, {len(self)} samples, layout={self.layout.name}, "
                f"C={self.coord_dims}, {len(self.class_names)} classes)")


def open_pack(path: str | Path) -> Pack:
    """Open a pack directory or archive for reading (see :class:`Pack`)."""
    return Pack(path)


def write_pack(path: str | Path, samples: Iterable[Sample], layout: str | Layout,
               class_names: Sequence[str], splits: Mapping[str, Mapping[str, Iterable[int]]]
               | None = None, **kwargs) -> Path:
    """Write ``samples`` to a new pack (see :class:`PackWriter` for the keyword arguments)."""
    with PackWriter(path, layout, class_names, **kwargs) as w:
        for s in samples:
            w.add(s)
        for split, subsets in (splits or {}).items():
            for subset, idx in subsets.items():
                w.set_split(split, subset, idx)
    return Path(path)
