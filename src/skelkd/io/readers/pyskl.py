"""pyskl / mmaction2 skeleton annotations: a pickle of ``{"split": {name: [frame_dir]},
"annotations": [{"frame_dir", "label", "keypoint" (M, T, V, C), "keypoint_score"
(M, T, V), ...}]}`` (Duan et al., "Revisiting Skeleton-based Action Recognition", CVPR 2022).

Pickle runs code when loaded, so this reader refuses to open a file unless the caller
passes ``trust_pickle=True`` (``--trust-pickle`` on the command line): only do so for
files whose origin you trust. Missing ``keypoint_score`` means score 1 (0 for all-zero
joints). The layout is guessed from V (17: coco, 25: ntu) unless given.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ...errors import FormatError, SkelkdError
from ..pack import Sample
from . import RawDataset, Reader

_GUESS = {17: "coco", 25: "ntu", 18: "openpose", 13: "penn_action", 33: "blazepose"}
MAX_CLASSES = 100_000  # a label beyond this is a damaged file, not a dataset


def _array(value, where: str, field: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise FormatError(where, field, "a numeric array", type(value).__name__) from exc


def read(src: Path, trust_pickle: bool = False, layout: str | None = None) -> RawDataset:
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
    split_map: dict[str, str] = {}
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
    for split, names in splits.items():
        if not isinstance(names, list | tuple):
            raise FormatError(src, f"split.{split}", "a list of frame_dir names", names)
        for name in names:
            split_map.setdefault(str(name), str(split))

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
            sub = split_map.get(name)
            yield (Sample(kp, sc, int(a["label"]), name, layout, {"source_file": src.name}),
                   {"pyskl": sub} if sub else {}, where)

    return RawDataset(layout, [f"class_{c}" for c in range(num_classes)], items(), len(annos),
                      f"pyskl annotations from {src.name}")


READER = Reader("pyskl", "pyskl / mmaction2 annotation pickle (needs --trust-pickle; splits "
                "'pyskl' from its split dict)", read, pickle=True)
