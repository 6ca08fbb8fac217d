"""pyskl / mmaction2 skeleton annotations: a pickle of ``{"split": {name: [frame_dir]},
"annotations": [{"frame_dir", "label", "keypoint" (M, T, V, C), "keypoint_score"
(M, T, V), ...}]}`` (Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR 2022).

Pickle runs code when loaded, so this reader refuses to open a file unless the caller
passes ``trust_pickle=True`` (``--trust-pickle`` on the command line): only do so for
files whose origin you trust. Missing ``keypoint_score`` means score 1 (0 for all-zero
joints). The layout is guessed from V (17: coco, 25: ntu) unless given.

Splits: pyskl names them ``PROTOCOL_PART`` (``xsub_train``, ``xsub_val``, ``xview_train``
...). Each becomes the pack split ``PROTOCOL`` with the subset ``train``, or ``test`` for
``val`` and ``test`` (pyskl's "val" of NTU RGB+D and its kin is the official test set);
a ``valid`` part (what :func:`write` names a pack's own validation subset) becomes
``val``, and any other name becomes a subset of that name in the split ``pyskl``. A
sample keeps every split it is listed in. Class names come from a label map (``--label-map``: a
text file, one class name per line, in label order, as pyskl ships them), else
``class_0``, ``class_1``...

:func:`write` does the reverse: a pack as a pyskl annotation file (``skelkd data export
pyskl``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ...errors import FormatError, SkelkdError
from ..files import write_bytes_atomic, write_text_atomic
from ..pack import Pack, Sample
from . import RawDataset, Reader

_GUESS = {17: "coco", 25: "ntu", 18: "openpose", 13: "penn_action", 33: "blazepose"}
MAX_CLASSES = 100_000  # a label beyond this is a damaged file, not a dataset


def _array(value, where: str, field: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise FormatError(where, field, "a numeric array", type(value).__name__) from exc


SUBSETS = {"train": "train", "val": "test", "test": "test", "valid": "val"}
"""pyskl's part names -> the pack's subsets (its ``val`` is the official test set)."""


def split_of(name: str) -> tuple[str, str]:
    """(pack split, subset) of a pyskl split name: ``xsub_val`` -> (xsub, test)."""
    protocol, _, part = name.rpartition("_")
    if protocol and part in SUBSETS:
        return protocol, SUBSETS[part]
    if name in SUBSETS:
        return "official", SUBSETS[name]
    return "pyskl", name


def read_label_map(path: str | Path, num_classes: int) -> list[str]:
    """Class names from a label map: one per line, in label order (blank lines skipped)."""
    try:
        names = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise SkelkdError(f"{path}: cannot read the label map: {exc}") from exc
    if len(names) < num_classes or len(set(names)) != len(names):
        raise FormatError(path, "(lines)", f"at least {num_classes} distinct class names, one "
                          "per line in label order", f"{len(names)} lines")
    return names


def read(src: Path, trust_pickle: bool = False, layout: str | None = None,
         label_map: str | None = None) -> RawDataset:
    src = Path(src)
    if not trust_pickle:
        raise SkelkdError(
            f"{src}: pyskl annotations are Python pickles, and loading a pickle can run "
            "arbitrary code. Re-run with --trust-pickle (trust_pickle=True) only if you "
            "trust where this file came from.")
    try:
        with open(src, "rb") as fh:
            doc = pickle.load(fh)  # noqa: S301 - explicit opt-in above
    except Exception as exc:
        raise FormatError(src, "(file)", "a pyskl annotation pickle", str(exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
        raise FormatError(src, "annotations", "a dict with an 'annotations' list")
    annos = doc["annotations"]
    splits = doc.get("split", {})
    if not isinstance(splits, dict):
        raise FormatError(src, "split", "a dict of split name -> list of frame_dir")
    labels = []
    for i, a in enumerate(annos):
        if not isinstance(a, dict) or "keypoint" not in a or "label" not in a:
            raise FormatError(src, f"annotations[{i}]", "a dict with keypoint and label")
        labels.append(a["label"])
    if not all(isinstance(x, int | np.integer) and 0 <= x < MAX_CLASSES for x in labels):
        raise FormatError(src, "annotations[].label", f"integers in 0..{MAX_CLASSES - 1}")
    num_classes = int(max(labels)) + 1 if labels else 0
    first = _array(annos[0]["keypoint"], f"{src}: annotations[0]", "keypoint") if annos else (
        np.zeros((1, 1, 17, 2)))
    if layout is None:
        v = first.shape[2] if first.ndim == 4 else -1
        if v not in _GUESS:
            raise FormatError(src, "annotations[0].keypoint", "V of a known layout "
                              f"({sorted(_GUESS)}) or an explicit --layout", first.shape)
        layout = _GUESS[v]
    split_map: dict[str, dict[str, str]] = {}
    for split, names in splits.items():
        if not isinstance(names, list | tuple):
            raise FormatError(src, f"split.{split}", "a list of frame_dir names", names)
        ours, subset = split_of(str(split))
        for name in names:
            split_map.setdefault(str(name), {}).setdefault(ours, subset)
    classes = (read_label_map(label_map, num_classes) if label_map
               else [f"class_{c}" for c in range(num_classes)])

    def items():
        for i, a in enumerate(annos):
            where = f"{src}: annotations[{i}]"
            kp = _array(a["keypoint"], where, "keypoint")
            if kp.ndim != 4:
                raise FormatError(where, "keypoint", "an (M, T, V, C) array", kp.shape)
            sc = a.get("keypoint_score")
            sc = (_array(sc, where, "keypoint_score") if sc is not None
                  else (np.abs(kp).sum(-1) > 0).astype(np.float32))
            name = str(a.get("frame_dir", i))
            yield (Sample(kp, sc, int(a["label"]), name, layout, {"source_file": src.name}),
                   split_map.get(name, {}), where)

    return RawDataset(layout, classes, items(), len(annos),
                      f"pyskl annotations from {src.name}")


def write(pack: Pack, out: str | Path, overwrite: bool = False) -> Path:
    """``pack`` as a pyskl annotation pickle: every sample as ``{frame_dir, label,
    keypoint (M, T, V, C), keypoint_score (M, T, V), total_frames}`` and the pack's own
    splits as ``SPLIT_PART`` (``train``; ``test`` as pyskl's ``val``; ``val`` as
    ``valid``); the validation splits skelkd carves (``NAME-val``) are left out: pyskl
    never reads them. A label map of the class names is written beside it
    (``OUT`` with ``.txt``). Writing a pickle runs nothing; reading one can, which is why
    :func:`read` asks for ``trust_pickle``."""
    out = Path(out)
    names = out.with_suffix(".txt")
    for path in (out, names):
        if path.exists() and not overwrite:
            raise SkelkdError(f"{path} exists; pass --overwrite (overwrite=True) to replace it")
    back = {v: k for k, v in SUBSETS.items() if k != "test"}  # train, val -> valid, test -> val
    split: dict[str, list[str]] = {}
    ids = pack.instance_ids
    for name, subsets in pack.splits.items():
        if name.endswith("-val") and name[:-4] in pack.splits:
            continue
        for subset, idx in subsets.items():
            part = back.get(subset, subset)
            split[f"{name}_{part}"] = [ids[int(i)] for i in idx]
    annotations = []
    for i in range(len(pack)):
        s = pack[i]
        annotations.append({"frame_dir": s.instance_id, "label": int(s.label),
                            "keypoint": np.asarray(s.keypoints, np.float32),
                            "keypoint_score": np.asarray(s.scores, np.float32),
                            "total_frames": int(s.num_frames)})
    write_bytes_atomic(out, pickle.dumps({"split": split, "annotations": annotations},
                                         protocol=pickle.HIGHEST_PROTOCOL))
    write_text_atomic(names, "\n".join(pack.class_names) + "\n")
    return out


READER = Reader("pyskl", "pyskl / mmaction2 annotation pickle (needs --trust-pickle; splits "
                "'pyskl' from its split dict)", read, pickle=True)
