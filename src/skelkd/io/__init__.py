"""Reading and writing skeleton data: the canonical pack and one reader per raw format."""

from __future__ import annotations

from pathlib import Path

from .pack import Pack, PackWriter, Sample, open_pack, write_pack
from .readers import RawDataset, get_reader, list_readers

__all__ = ["Pack", "PackWriter", "RawDataset", "Sample", "embedded_pack", "get_reader",
           "import_dataset", "list_readers", "open_pack", "write_pack"]

EMBEDDED = {"penn_action": "penn_action.skpack.zip"}


def embedded_pack(name: str = "penn_action") -> Pack:
    """A pack shipped inside skelkd: ``penn_action``, the human-annotated Penn Action
    joints (Zhang et al., ICCV 2013; see ``resources/PENN_ACTION_NOTICE.md``)."""
    from ..errors import SkelkdError

    if name not in EMBEDDED:
        raise SkelkdError(f"no embedded pack '{name}'; embedded: {', '.join(EMBEDDED)}")
    return open_pack(Path(__file__).resolve().parent.parent / "resources" / EMBEDDED[name])


def _guarded(items, src):
    """The reader's items, with an unforeseen failure on odd content (a reader bug, not
    a user mistake) turned into an error naming the file: a last line of defence behind
    the readers' own field checks, which the fuzz tests keep exercising."""
    from ..errors import FormatError, SkelkdError

    last = None
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except SkelkdError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError,
                OverflowError) as exc:
            place = f"{src} (the file after {last})" if last else str(src)
            raise FormatError(place, "(unexpected content)",
                              "a file this reader understands",
                              f"{type(exc).__name__}: {exc}") from exc
        last = item[2]
        yield item


def import_dataset(fmt: str, src: str | Path, out: str | Path, *, progress: bool = True,
                   overwrite: bool = False, archive: bool = False, **options) -> Pack:
    """Convert a raw dataset into a pack with one call (``skelkd data import``).

    Args:
        fmt: a reader name (``skelkd data formats`` lists them).
        src: the raw file or directory.
        out: the pack to write (a directory; a zip archive with ``archive=True``).
        options: reader options (``trust_pickle``, ``layout``, ``coords``...).

    The dataset's official splits become the pack's named splits. Nothing is left at
    ``out`` if any file fails.
    """
    from tqdm import tqdm

    raw = get_reader(fmt).read(Path(src), **options)
    splits: dict[str, dict[str, list[int]]] = {}
    with PackWriter(out, raw.layout, raw.class_names, description=raw.description,
                    source=str(src), overwrite=overwrite, archive=archive,
                    protect=[src]) as writer:
        for sample, sample_splits, where in tqdm(_guarded(raw.items, src), total=raw.count,
                                                 unit="file", desc=f"import {fmt}",
                                                 disable=not progress):
            i = writer.add(sample, where=where)
            for split, subset in sample_splits.items():
                splits.setdefault(split, {}).setdefault(subset, []).append(i)
        for split, subsets in splits.items():
            for subset, idx in subsets.items():
                writer.set_split(split, subset, idx)
    pack = open_pack(out)
    pack.skipped = raw.skipped  # type: ignore[attr-defined]
    return pack
