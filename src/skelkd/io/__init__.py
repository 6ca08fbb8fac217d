"""Reading and writing skeleton data: the canonical pack and one reader per raw format."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import LayoutWarning, SkelkdError
from .pack import Pack, PackWriter, Sample, open_pack, write_pack
from .readers import RawDataset, get_reader, list_readers

__all__ = ["Pack", "PackWriter", "RawDataset", "Sample", "asymmetric_bones", "embedded_pack",
           "get_reader", "import_dataset", "list_readers", "open_data_pack", "open_pack",
           "write_pack"]

EMBEDDED = {"penn_action": "penn_action.skpack.zip"}


def open_data_pack(ref: str) -> Pack:
    """A pack named as a configuration names it: ``embedded:NAME`` or a pack path."""
    if ref.startswith("embedded:"):
        return embedded_pack(ref.split(":", 1)[1])
    return open_pack(ref)


def embedded_pack(name: str = "penn_action") -> Pack:
    """A pack shipped inside skelkd: ``penn_action``, the human-annotated Penn Action
    joints (Zhang et al., ICCV 2013; see ``resources/PENN_ACTION_NOTICE.md``)."""

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
    pack.asymmetric = asymmetric_bones(pack)  # type: ignore[attr-defined]
    for note in pack.asymmetric:
        warnings.warn(f"{out}: {note}", LayoutWarning, stacklevel=2)
    return pack


def asymmetric_bones(pack: Pack, ratio: float = 1.5, samples: int = 200) -> list[str]:
    """The left bones of ``pack``'s layout whose median length differs from their right
    twin's by more than ``ratio`` (in either direction), over up to ``samples`` samples
    spread across the pack: a body's two sides are about equally long, so a large
    difference means a joint order that is not the layout's (the wrong layout, or left
    and right swapped on one limb only). One line per bone."""
    pairs = pack.layout.mirror_bones
    if not pairs or len(pack) == 0:
        return []
    picks = np.unique(np.linspace(0, len(pack) - 1, min(samples, len(pack))).astype(int))
    lengths: list[list[np.ndarray]] = [[] for _ in pairs]
    for i in picks:
        s = pack[int(i)]
        ok = s.scores > 0
        for k, ((a, b), (c, d)) in enumerate(pairs):
            both = ok[..., a] & ok[..., b] & ok[..., c] & ok[..., d]
            left = np.linalg.norm(s.keypoints[..., a, :] - s.keypoints[..., b, :], axis=-1)
            right = np.linalg.norm(s.keypoints[..., c, :] - s.keypoints[..., d, :], axis=-1)
            lengths[k].append(np.stack([left[both], right[both]], -1))
    names = pack.layout.joints
    out = []
    for ((a, b), (c, d)), got in zip(pairs, lengths, strict=True):
        both = np.concatenate(got) if got else np.zeros((0, 2))
        if len(both) < 10:
            continue
        left, right = np.median(both, axis=0)
        if min(left, right) <= 0 or max(left, right) / min(left, right) > ratio:
            out.append(f"bone {names[a]}-{names[b]} has median length {left:.3g}, its twin "
                       f"{names[c]}-{names[d]} {right:.3g}: is '{pack.layout.name}' the order "
                       "of these files? (a wrong layout, or left and right swapped)")
    return out
