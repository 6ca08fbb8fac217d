"""Plain NumPy arrays: ``.npy`` files of shape (T, V, C) or (M, T, V, C) in a layout the
caller names (``--layout``). Every joint that is not all zeros gets score 1.

Labels come from ``SRC/<class name>/`` folders, or from a manifest that also carries the
protocol (``--manifest FILE``; ``SRC/manifest.csv`` or ``SRC/manifest.json`` is read when
present), so a dataset's class order, splits and subjects need no code:

- CSV, a row per sample: ``file`` (a .npy under SRC) and ``label`` (a class name),
  optionally ``subject`` and ``instance_id``, and a column per named split, ``split``
  (the ``official`` split) or ``split:NAME``, holding ``train``, ``val``, ``test`` or
  nothing (not in that split). Classes are numbered in the order they first appear.
- JSON: ``{"classes": [...], "samples": [{"file", "label", "subject", "instance_id",
  "splits": {"NAME": "train"}}, ...], "cross_subject": {"NAME": [train subjects]}}``;
  ``classes`` (optional) fixes the class order; each ``cross_subject`` entry makes a
  split NAME with the samples of those subjects for ``train`` and the rest for ``test``.

A subject goes to the sample's metadata (``subject``). docs/own_data.md walks through a
new dataset end to end.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
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


def read(src: Path, layout: str | None = None, manifest: str | None = None) -> RawDataset:
    if layout is None:
        raise SkelkdError("the numpy format needs the layout of the arrays (--layout NAME)")
    lay = get_layout(layout)
    src = Path(src)
    found = [src / n for n in ("manifest.csv", "manifest.json") if src.is_dir()]
    manifest_path = Path(manifest) if manifest else next((p for p in found if p.is_file()),
                                                        None)
    if manifest_path is not None:
        classes, rows = read_manifest(manifest_path, src)
    else:
        files = files_in(src, "*.npy", ".npy")
        classes, labels = class_from_folder(files, src)
        rows = [Row(f, lab, iid, None, {}) for f, lab, iid in
                zip(files, labels, instance_ids(files, src), strict=True)]

    def items():
        for r in rows:
            kp = read_file(r.file, lay.num_joints)
            sc = (np.abs(kp).sum(-1) > 0).astype(np.float32)
            meta = {"source_file": r.file.name}
            if r.subject is not None:
                meta["subject"] = r.subject
            yield Sample(kp, sc, r.label, r.instance_id, lay.name, meta), r.splits, str(r.file)

    what = f"arrays from {src}" + (f" ({manifest_path.name})" if manifest_path else "")
    return RawDataset(lay.name, classes, items(), len(rows), what)


@dataclass
class Row:
    file: Path
    label: int
    instance_id: str
    subject: str | int | None
    splits: dict[str, str]


SUBSETS = ("train", "val", "test")


def read_manifest(path: Path, src: Path) -> tuple[list[str], list[Row]]:
    """The classes and one :class:`Row` per sample of a CSV or JSON manifest (the module's
    docstring gives both forms); every mistake names the manifest, the row and the field."""
    if not path.is_file():
        raise SkelkdError(f"{path}: no such manifest")
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise FormatError(path, "(file)", "a JSON manifest", str(exc)) from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("samples"), list):
            raise FormatError(path, "samples", "a list of samples", type(doc).__name__)
        entries = doc["samples"]
        classes = list(doc.get("classes") or [])
        cross = doc.get("cross_subject") or {}
        if not isinstance(cross, dict):
            raise FormatError(path, "cross_subject", "a mapping of split name to subjects",
                              cross)
    elif path.suffix.lower() == ".csv":
        try:
            with path.open(newline="") as fh:
                entries = list(csv.DictReader(fh))
        except (OSError, csv.Error, UnicodeDecodeError) as exc:
            raise FormatError(path, "(file)", "a CSV manifest", str(exc)) from exc
        for e in entries:
            e["splits"] = {("official" if k == "split" else k[6:]): v for k, v in e.items()
                           if k and (k == "split" or k.startswith("split:")) and v}
        classes, cross = [], {}
    else:
        raise SkelkdError(f"{path}: a manifest is a .csv or .json file")
    rows: list[Row] = []
    fixed = bool(classes)
    for n, e in enumerate(entries, 1):
        where = f"{path} (sample {n})"
        if not isinstance(e, dict) or not e.get("file") or e.get("label") in (None, ""):
            raise FormatError(where, "file, label", "a file and a label for every sample", e)
        label = str(e["label"])
        if label not in classes:
            if fixed:
                raise FormatError(where, "label", f"one of the manifest's classes {classes}",
                                  label)
            classes.append(label)
        file = src / str(e["file"])
        if not file.is_file():
            raise FormatError(where, "file", f"a .npy file under {src}", e["file"])
        splits = e.get("splits") or {}
        if not isinstance(splits, dict) or any(v not in SUBSETS for v in splits.values()):
            raise FormatError(where, "splits", f"split name -> one of {SUBSETS}", splits)
        subject = e.get("subject") if e.get("subject") not in ("", None) else None
        for name, train_subjects in cross.items():
            if subject is None:
                raise FormatError(where, "subject", f"a subject (cross_subject '{name}')",
                                  None)
            splits = {**splits, name: "train" if subject in train_subjects or
                      str(subject) in map(str, train_subjects) else "test"}
        iid = str(e.get("instance_id") or Path(str(e["file"])).with_suffix(""))
        rows.append(Row(file, classes.index(label), iid, subject, dict(splits)))
    if not rows:
        raise SkelkdError(f"{path}: the manifest lists no sample")
    ids = [r.instance_id for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise FormatError(path, "instance_id", "one id per sample", f"{dup!r} twice")
    return classes, rows


READER = Reader("numpy", ".npy arrays (T, V, C) or (M, T, V, C) in a named --layout", read)
