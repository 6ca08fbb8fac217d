"""One reader per raw file format. Each turns a source (file or directory) into samples.

A reader is a function ``read(src, **options) -> RawDataset``; :data:`READERS` lists
them by the name ``skelkd data import FORMAT`` takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import SkelkdError
from ..pack import Sample


@dataclass
class RawDataset:
    """What a reader found: the layout, the classes, and a lazy stream of samples.

    ``items`` yields ``(sample, splits, where)``: ``splits`` maps a split name to the
    subset the sample belongs to (``{"xsub": "train"}``); ``where`` names the source file
    in error messages.
    """

    layout: str
    class_names: list[str]
    items: Iterator[tuple[Sample, dict[str, str], str]]
    count: int | None = None
    description: str = ""
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reader:
    name: str
    summary: str
    read: Callable[..., RawDataset]
    pickle: bool = False


def one_sample_per_file(files: list[Path], read_file: Callable, layout: str,
                        class_names: list[str], description: str, **options) -> RawDataset:
    """A :class:`RawDataset` over files that each hold one sample and its splits;
    ``read_file(path, **options)`` returns ``(sample, splits)``."""

    def items():
        for f in files:
            sample, splits = read_file(f, **options)
            yield sample, splits, str(f)

    return RawDataset(layout, list(class_names), items(), len(files), description)


def files_in(src: Path, pattern: str, what: str) -> list[Path]:
    """Sorted files matching ``pattern`` under ``src`` (or ``src`` itself if it is a file)."""
    src = Path(src)
    if not src.exists():
        raise SkelkdError(f"{src}: no such file or directory")
    files = [src] if src.is_file() else sorted(p for p in src.rglob(pattern) if p.is_file())
    if not files:
        raise SkelkdError(f"{src}: no {what} files ({pattern}) found")
    return files


def class_from_folder(files: list[Path], src: Path) -> tuple[list[str], list[int]]:
    """Labels from the folder layout ``SRC/<class name>/<file>``; one class
    ``"unlabelled"`` when the files are not in class folders."""
    src = Path(src)
    names = [f.parent.name if src.is_dir() and f.parent != src else "unlabelled" for f in files]
    classes = sorted(set(names))
    return classes, [classes.index(n) for n in names]


def instance_ids(files: list[Path], src: Path) -> list[str]:
    """An id per file: the file's stem when stems are unique, else its folder's name
    (``clip42/pose.npz`` -> ``clip42``), else its path under ``src`` without suffix."""
    for ids in ([f.name.split(".")[0] for f in files], [f.parent.name for f in files]):
        if len(set(ids)) == len(ids):
            return ids
    base = Path(src) if Path(src).is_dir() else Path(src).parent
    return [str(f.relative_to(base).with_suffix("")) for f in files]


def _registry() -> dict[str, Reader]:
    from . import (
        blazepose,
        coco_json,
        jhmdb,
        ntu,
        numpy_array,
        nw_ucla,
        penn_action,
        pyskl,
        utd_mhad,
    )

    readers = [penn_action.READER, utd_mhad.READER, nw_ucla.READER, ntu.READER,
               pyskl.READER, coco_json.READER, coco_json.PIFPAF_READER, blazepose.READER,
               jhmdb.READER, numpy_array.READER]
    return {r.name: r for r in readers}


def get_reader(name: str) -> Reader:
    readers = _registry()
    if name not in readers:
        raise SkelkdError(f"unknown format '{name}'; formats: {', '.join(sorted(readers))}")
    return readers[name]


def list_readers() -> list[Reader]:
    return list(_registry().values())
