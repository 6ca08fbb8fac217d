"""Northwestern-UCLA Multiview: ``aAA_sSS_eEE_vVV.json`` with ``skeletons`` (T, 20, 3),
Kinect V1 SDK order, and ``label`` 1..10 (Wang et al., CVPR 2014).

Split ``official``: views 1 and 2 train, view 3 tests (the usual cross-view protocol).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, files_in, one_sample_per_file
from .utd_mhad import kinect_scores

# The dataset's action codes a01..a12 skip a07 and a10; the JSON label numbers them 1..10.
ACTION_CODES = [1, 2, 3, 4, 5, 6, 8, 9, 11, 12]
CLASSES = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around",
           "sit down", "stand up", "donning", "doffing", "throw", "carry"]

_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)\.json$")


def read_file(path: Path) -> tuple[Sample, dict[str, str]]:
    m = _NAME.search(path.name)
    if not m:
        raise FormatError(path, "(file name)", "aAA_sSS_eEE_vVV.json")
    action, subject, episode, view = (int(g) for g in m.groups())
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, "(file)", "a JSON document", str(exc)) from exc
    if not isinstance(doc, dict):
        raise FormatError(path, "(top level)", "a JSON object with skeletons and label")
    label = doc.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not 1 <= label <= len(CLASSES):
        raise FormatError(path, "label", f"an integer 1..{len(CLASSES)}", label)
    if action in ACTION_CODES and ACTION_CODES.index(action) != label - 1:
        want = ACTION_CODES.index(action) + 1
        raise FormatError(path, "label", f"{want} for action a{action:02d}", label)
    try:
        kp = np.asarray(doc.get("skeletons"), dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise FormatError(path, "skeletons", "a numeric T x 20 x 3 array", str(exc)) from exc
    if kp.ndim != 3 or kp.shape[1:] != (20, 3) or kp.shape[0] < 1:
        raise FormatError(path, "skeletons", "a T x 20 x 3 array with T >= 1", kp.shape)
    kp = kp[None]
    meta = {"subject": subject, "view": view, "camera": view, "episode": episode,
            "source_file": path.name}
    sample = Sample(kp, kinect_scores(kp), label - 1, path.stem, "kinect_v1", meta)
    return sample, {"official": "train" if view in (1, 2) else "test"}


def read(src: Path) -> RawDataset:
    return one_sample_per_file(files_in(src, "*.json", "NW-UCLA"), read_file, "kinect_v1",
                               CLASSES, "Northwestern-UCLA Multiview Kinect V1 3D joints "
                               "(Wang et al., CVPR 2014)")


READER = Reader("nw_ucla", "NW-UCLA all_sqe/aAA_sSS_eEE_vVV.json (Kinect V1 3D, 20 joints, SDK "
                "order; split 'official': views 1+2 train, 3 test)", read)
