"""COCO-style keypoint JSON and OpenPifPaf's JSON output, one video per file.

``coco``: a COCO keypoint file (``images``, ``annotations`` with 51 ``keypoints``
x, y, v); each image is a frame, ordered by ``frame_id`` if present, else by
``file_name``. Persons are followed by ``track_id`` when annotations have one
(PoseTrack style), otherwise ranked by score per frame. v = 2 visible (score 1),
v = 1 labelled but hidden (score ``invisible_score``), v = 0 missing.

``pifpaf``: OpenPifPaf's ``--json-output`` of a video, either JSON lines
(``{"frame": i, "predictions": [...]}`` per line) or a directory of per-image JSON
lists of predictions (sorted by name); the third keypoint value is the confidence,
0 = missing. Persons are ranked by score per frame (no tracking).

Labels come from folders: ``SRC/<class name>/<video>.json``; files that are not in a
class folder get the class ``unlabelled``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, class_from_folder, files_in, instance_ids


def _load_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, "(file)", "a JSON document", str(exc)) from exc


def _keypoints(values, where: str, field: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64) if isinstance(values, list) else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size != 51:
        raise FormatError(where, field, "a list of 51 numbers (17 x [x, y, v])",
                          None if arr is None else arr.shape)
    return arr.reshape(17, 3)


def _number(value, where: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(where, field, "a number", value)
    return float(value)


def _key(value, where: str, field: str):
    """An id used as a dictionary key: an integer or a string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FormatError(where, field, "an integer or string id", value)
    return value


def _stack(frames: list[list[tuple[float, np.ndarray]]], max_persons: int,
           score_of) -> tuple[np.ndarray, np.ndarray]:
    t = len(frames)
    m = max(1, min(max_persons, max((len(f) for f in frames), default=1)))
    kp = np.zeros((m, t, 17, 2), np.float32)
    sc = np.zeros((m, t, 17), np.float32)
    for ti, persons in enumerate(frames):
        for pi, (_, k) in enumerate(sorted(persons, key=lambda p: -p[0])[:m]):
            kp[pi, ti] = k[:, :2]
            sc[pi, ti] = score_of(k[:, 2])
    return kp, sc


def read_coco_file(path: Path, invisible_score: float = 0.5, max_persons: int = 2
                   ) -> tuple[np.ndarray, np.ndarray]:
    doc = _load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or not isinstance(
            doc.get("annotations"), list):
        raise FormatError(path, "images/annotations", "a COCO keypoint file with both lists")
    images = doc["images"]
    for i, im in enumerate(images):
        if not isinstance(im, dict) or "id" not in im:
            raise FormatError(path, f"images[{i}]", "an object with an id")
        _key(im["id"], f"{path}: images[{i}]", "id")
        _number(im.get("frame_id", 0), f"{path}: images[{i}]", "frame_id")
    images = sorted(images, key=lambda im: (im.get("frame_id", 0), str(im.get("file_name", "")),
                                            str(im["id"])))
    frame_of = {im["id"]: t for t, im in enumerate(images)}
    if len(frame_of) != len(images):
        raise FormatError(path, "images", "a unique id per image")
    if not frame_of:
        raise FormatError(path, "images", "at least one image (frame)")
    tracked = any(isinstance(a, dict) and "track_id" in a for a in doc["annotations"])
    frames: list[list[tuple[float, np.ndarray]]] = [[] for _ in images]
    track_ids: list = []
    for i, a in enumerate(doc["annotations"]):
        where = f"{path}: annotations[{i}]"
        if isinstance(a, dict):
            _key(a.get("image_id"), where, "image_id")
        if not isinstance(a, dict) or a.get("image_id") not in frame_of:
            raise FormatError(where, "image_id", "the id of an image in 'images'",
                              a.get("image_id") if isinstance(a, dict) else a)
        k = _keypoints(a.get("keypoints"), where, "keypoints")
        if tracked:
            tid = _key(a.get("track_id"), where, "track_id")
            if tid not in track_ids:
                track_ids.append(tid)
            rank = -track_ids.index(tid)
        else:
            rank = _number(a.get("score", float((k[:, 2] > 0).sum())), where, "score")
        frames[frame_of[a["image_id"]]].append((rank, k))

    def score_of(v):
        return np.select([v >= 2, v >= 1], [1.0, invisible_score], 0.0)

    if tracked:
        kp = np.zeros((len(track_ids), len(images), 17, 2), np.float32)
        sc = np.zeros((len(track_ids), len(images), 17), np.float32)
        for t, persons in enumerate(frames):
            for rank, k in persons:
                kp[-int(rank), t] = k[:, :2]
                sc[-int(rank), t] = score_of(k[:, 2])
        return kp[:max_persons], sc[:max_persons]
    return _stack(frames, max_persons, score_of)


def read_pifpaf(path: Path, max_persons: int = 2) -> tuple[np.ndarray, np.ndarray]:
    frame_docs: list[tuple[str, object]] = []
    if path.is_dir():
        frame_docs = [(str(f), _load_json(f)) for f in sorted(path.glob("*.json"))]
        if not frame_docs:
            raise FormatError(path, "(directory)", "per-frame OpenPifPaf .json files")
    else:
        try:
            text = path.read_text() if path.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(path, "(file)", "UTF-8 JSON text", str(exc)) from exc
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) == 1 and lines[0].lstrip().startswith("["):
            frame_docs = [(str(path), _load_json(path))]
        else:
            for n, ln in enumerate(lines):
                try:
                    obj = json.loads(ln)
                except json.JSONDecodeError as exc:
                    raise FormatError(f"{path}: line {n + 1}", "(json)", "a JSON object with "
                                      "'predictions'", str(exc)) from exc
                if not isinstance(obj, dict) or not isinstance(obj.get("predictions"), list):
                    raise FormatError(f"{path}: line {n + 1}", "predictions", "a list")
                frame_docs.append((f"{path}: line {n + 1}", obj["predictions"]))
        if not frame_docs:
            raise FormatError(path, "(file)", "OpenPifPaf JSON or JSON-lines predictions")
    frames = []
    for where, preds in frame_docs:
        if not isinstance(preds, list):
            raise FormatError(where, "(top level)", "a list of predictions")
        persons = []
        for j, p in enumerate(preds):
            if not isinstance(p, dict):
                raise FormatError(where, f"[{j}]", "a prediction object")
            k = _keypoints(p.get("keypoints"), where, f"[{j}].keypoints")
            persons.append((_number(p.get("score", float(k[:, 2].mean())), where,
                                    f"[{j}].score"), k))
        frames.append(persons)
    return _stack(frames, max_persons, lambda v: np.clip(v, 0.0, 1.0))


def _read(src: Path, kind: str, **options) -> RawDataset:
    pattern = "*.json" if kind == "coco" else "*.json*"
    if kind == "pifpaf" and Path(src).is_dir() and not any(
            p.is_dir() for p in Path(src).iterdir()):
        files = [Path(src)]  # a directory of per-frame files is one video
    else:
        files = files_in(src, pattern, f"{kind} JSON")
    classes, labels = class_from_folder(files, Path(src))

    def items():
        for f, label, iid in zip(files, labels, instance_ids(files, Path(src)), strict=True):
            if kind == "coco":
                kp, sc = read_coco_file(f, **options)
            else:
                kp, sc = read_pifpaf(f, **options)
            yield Sample(kp, sc, label, iid, "coco", {"source_file": f.name}), {}, str(f)

    return RawDataset("coco", classes, items(), len(files), f"{kind} keypoints from {src}")


def read_coco(src: Path, invisible_score: float = 0.5, max_persons: int = 2) -> RawDataset:
    return _read(src, "coco", invisible_score=invisible_score, max_persons=max_persons)


def read_pifpaf_dataset(src: Path, max_persons: int = 2) -> RawDataset:
    return _read(src, "pifpaf", max_persons=max_persons)


READER = Reader("coco", "COCO-style keypoint JSON, one video per file (images = frames; "
                "labels from SRC/<class>/ folders)", read_coco)
PIFPAF_READER = Reader("pifpaf", "OpenPifPaf JSON / JSON-lines output, one video per file "
                       "(labels from SRC/<class>/ folders)", read_pifpaf_dataset)
