"""NTU RGB+D raw ``.skeleton`` files (Shahroudy et al., CVPR 2016; Liu et al., TPAMI 2019).

Text format, per file: frame count; per frame: body count; per body: a line of body
info (body id first) and a joint count (25), then one line per joint: x y z depthX
depthY colorX colorY orientationW X Y Z trackingState.

Every body is kept (the pack's persons, ordered by how many frames each is present in,
most first); a body absent from a frame is missing there. The Kinect trackingState
becomes the score: 2 tracked -> 1.0, 1 inferred -> 0.5, 0 not tracked -> 0 (missing).
``coords`` picks 3D camera coordinates in metres (default), colour-image pixels or
depth-image pixels. Splits from the file name SsssCcccPpppRrrrAaaa: ``xsub`` and
``xview`` (NTU 60), ``xsub120`` and ``xset`` (NTU 120).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...errors import FormatError
from ..pack import Sample
from . import RawDataset, Reader, files_in

NTU60_CLASSES = ['drink water', 'eat meal/snack', 'brushing teeth', 'brushing hair', 'drop',
    'pickup', 'throw', 'sitting down', 'standing up (from sitting position)', 'clapping',
    'reading', 'writing', 'tear up paper', 'wear jacket', 'take off jacket', 'wear a shoe',
    'take off a shoe', 'wear on glasses', 'take off glasses', 'put on a hat/cap',
    'take off a hat/cap', 'cheer up', 'hand waving', 'kicking something', 'reach into pocket',
    'hopping (one foot jumping)', 'jump up', 'make a phone call/answer phone',
    'playing with phone/tablet', 'typing on a keyboard', 'pointing to something with finger',
    'taking a selfie', 'check time (from watch)', 'rub two hands together', 'nod head/bow',
    'shake head', 'wipe face', 'salute', 'put the palms together',
    'cross hands in front (say stop)', 'sneeze/cough', 'staggering', 'falling',
    'touch head (headache)', 'touch chest (stomachache/heart pain)', 'touch back (backache)',
    'touch neck (neckache)', 'nausea or vomiting condition',
    'use a fan (with hand or paper)/feeling warm', 'punching/slapping other person',
    'kicking other person', 'pushing other person', 'pat on back of other person',
    'point finger at the other person', 'hugging other person',
    'giving something to other person', "touch other person's pocket", 'handshaking',
    'walking towards each other', 'walking apart from each other']

XSUB_TRAIN = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
XSUB120_TRAIN = XSUB_TRAIN | {45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78,
                              80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100,
                              103}
COORDS = {"3d": slice(0, 3), "depth": slice(3, 5), "color": slice(5, 7)}
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


def class_names(num_classes: int) -> list[str]:
    """NTU 60 names; actions 61..120 of NTU 120 are named by number (A061...)."""
    return NTU60_CLASSES[:num_classes] + [f"A{a:03d}" for a in range(61, num_classes + 1)]


def parse_skeleton_file(path: Path, coords: str = "3d") -> tuple[np.ndarray, np.ndarray]:
    """(M, T, 25, C) keypoints and (M, T, 25) scores of every body in a .skeleton file."""
    try:
        lines = path.read_text().split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(path, "(file)", "a readable NTU .skeleton text file", str(exc)) from exc
    pos = 0

    def next_int(field: str) -> int:
        nonlocal pos
        if pos >= len(lines):
            raise FormatError(path, field, "a line", f"end of file at line {pos + 1}")
        try:
            value = int(lines[pos].split()[0])
        except (ValueError, IndexError) as exc:
            raise FormatError(path, f"{field} (line {pos + 1})", "an integer",
                              repr(lines[pos][:40])) from exc
        pos += 1
        return value

    num_frames = next_int("frame count")
    bodies: dict[str, np.ndarray] = {}
    for t in range(num_frames):
        for _ in range(next_int(f"body count of frame {t + 1}")):
            if pos >= len(lines) or not lines[pos].split():
                raise FormatError(path, f"body info (line {pos + 1})", "a body id", "nothing")
            body_id = lines[pos].split()[0]
            pos += 1
            nj = next_int("joint count")
            if nj != 25:
                raise FormatError(path, f"joint count (line {pos})", "25", nj)
            try:
                joints = np.array([lines[pos + j].split() for j in range(nj)], dtype=np.float64)
            except (ValueError, IndexError) as exc:
                raise FormatError(path, f"joints (lines {pos + 1}-{pos + nj})",
                                  "25 lines of 12 numbers", str(exc)) from exc
            if joints.shape != (25, 12):
                raise FormatError(path, f"joints (lines {pos + 1}-{pos + nj})",
                                  "25 lines of 12 numbers", joints.shape)
            pos += nj
            track = bodies.setdefault(body_id, np.zeros((num_frames, 25, 12)))
            track[t] = joints
            track[t, :, 11] += 10  # mark presence: tracking state 0..2 becomes 10..12
    if not bodies:
        return (np.zeros((0, num_frames, 25, 3), np.float32), np.zeros((0, num_frames, 25),
                                                                       np.float32))
    order = sorted(bodies, key=lambda b: -(bodies[b][:, 0, 11] >= 10).sum())
    data = np.stack([bodies[b] for b in order])
    present = data[..., 11] >= 10
    state = np.where(present, data[..., 11] - 10, 0)
    scores = np.select([state >= 2, state >= 1], [1.0, 0.5], 0.0).astype(np.float32)
    kp = data[..., COORDS[coords]].astype(np.float32)
    return kp, scores


def read_file(path: Path, coords: str = "3d") -> tuple[Sample | None, dict[str, str]]:
    m = _NAME.search(path.name)
    if not m:
        raise FormatError(path, "(file name)", "SsssCcccPpppRrrrAaaa.skeleton")
    setup, camera, subject, replication, action = (int(g) for g in m.groups())
    kp, sc = parse_skeleton_file(path, coords)
    if kp.shape[0] == 0 or kp.shape[1] == 0:
        return None, {}
    meta = {"subject": subject, "camera": camera, "view": camera, "setup": setup,
            "replication": replication, "source_file": path.name}
    splits = {"xsub": "train" if subject in XSUB_TRAIN else "test",
              "xview": "train" if camera in (2, 3) else "test",
              "xsub120": "train" if subject in XSUB120_TRAIN else "test",
              "xset": "train" if setup % 2 == 0 else "test"}
    return Sample(kp, sc, action - 1, m.group(0), "ntu", meta), splits


def read(src: Path, coords: str = "3d", num_classes: int | None = None) -> RawDataset:
    if coords not in COORDS:
        raise FormatError(src, "coords", f"one of {sorted(COORDS)}", coords)
    files = files_in(src, "*.skeleton", "NTU RGB+D .skeleton")
    if num_classes is None:
        actions = [int(m.group(5)) for f in files if (m := _NAME.search(f.name))]
        num_classes = 120 if actions and max(actions) > 60 else 60
    result = RawDataset("ntu", class_names(num_classes), iter(()), len(files),
                        f"NTU RGB+D Kinect V2 joints ({coords} coordinates; Shahroudy et al., "
                        "CVPR 2016)")

    def items():
        for f in files:
            sample, splits = read_file(f, coords)
            if sample is None:
                result.skipped.append(f"{f}: no body in any frame")
                continue
            yield sample, splits, str(f)

    result.items = items()
    return result


READER = Reader("ntu", "NTU RGB+D raw .skeleton files (Kinect V2, 25 joints, all bodies, "
                "tracking state as score; splits xsub, xview, xsub120, xset)", read)
