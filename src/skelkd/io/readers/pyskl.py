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
    if not all(isinstance(x, int | np.integer) and x >= 0 for x in labels):
        raise FormatError(src, "annotations[].label", "non-negative integers")
    num_classes = int(max(labels)) + 1 if labels else 0
    first = np.asarray(annos[0]["keypoint"]) if annos else np.zeros((1, 1, 17, 2))
    if layout is None:
        v = first.shape[2] if first.ndim == 4 else -1
        if v not in _GUESS:
            raise FormatError(src, "annotations[0].keypoint", "V of a known layout "
                              f"({sorted(_GUESS)}) or an explicit --layout", first.shape)
        layout = _GUESS[v]
    for split, names in splits.items():
        for name in names:
            split_map.setdefault(str(name), split)

    def items():
        for i, a in enumerate(annos):
            where = f"{src}: annotations[{i}]"
            kp = np.asarray(a["keypoint"], dtype=np.float32)
            if kp.ndim != 4:
                raise FormatError(where, "keypoint", "an (M, T, V, C) array", kp.shape)
            sc = a.get("keypoint_score")
            sc = (np.asarray(sc, dtype=np.float32) if sc is not None
                  else (np.abs(kp).sum(-1) > 0).astype(np.float32))
            name = str(a.get("frame_dir", i))
            sub = split_map.get(name)
            yield (Sample(kp, sc, int(a["label"]), name, layout, {"source_file": src.name}),
                   {"pyskl": sub} if sub else {}, where)

    return RawDataset(layout, [f"class_{c}" for c in range(num_classes)], items(), len(annos),
                      f"pyskl annotations from {src.name}")


READER = Reader("pyskl", "pyskl / mmaction2 annotation pickle (needs --trust-pickle; splits "
                "'pyskl' from its split dict)", read, pickle=True)
