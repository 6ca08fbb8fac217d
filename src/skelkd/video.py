"""Skeletons from video: MediaPipe's BlazePose, offline, from the models its wheel ships.

Optional extra: ``pip install "skelkd[video]"`` installs MediaPipe 0.10.21, the last
release that ships ``pose_landmark_full`` and the pose detector inside its wheel and runs
them through the legacy ``mediapipe.solutions.pose`` API without a download (0.10.30
and later ship no models). It needs ``numpy<2`` and ``protobuf<5``, which the extra pins.

Output: BlazePose layout (33 landmarks), pixel coordinates, the landmark visibility as
the score; a frame where no person was found is all zeros with score 0 (missing). A
video is a file OpenCV can decode, or a directory of image frames (read in name order).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SkelkdError

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}
ESTIMATOR = "MediaPipe BlazePose pose_landmark_full (legacy solution, model_complexity=1)"
EXTRACTION_REVISION = 2  # raised whenever extract() gives other output for the same file
INSTALL_HINT = ('install the video extra: pip install "skelkd[video]" (MediaPipe 0.10.21, '
                "numpy<2, protobuf<5)")


def is_video(path: str | Path) -> bool:
    """A video file (by suffix) or a directory holding image frames."""
    path = Path(path)
    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in VIDEO_SUFFIXES


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise SkelkdError(f"reading video needs OpenCV; {INSTALL_HINT}") from exc
    return cv2


def _pose_solution():

    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ notices, not errors
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise SkelkdError(f"video extraction needs MediaPipe; {INSTALL_HINT}") from exc
    pose = getattr(getattr(mp, "solutions", None), "pose", None)
    if pose is None:
        raise SkelkdError(f"MediaPipe {getattr(mp, '__version__', '?')} has no legacy pose "
                          f"solution with bundled models; {INSTALL_HINT}")
    return mp, pose


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send the C-level stderr (file descriptor 2) to /dev/null for a moment: MediaPipe's
    native code prints start-up notices there that Python's logging cannot reach."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@dataclass
class Clip:
    """Frames of one video: an iterator of RGB (H, W, 3) uint8 images."""

    path: Path
    frames: Iterator[np.ndarray]
    count: int  # frames announced by the container (an estimate for some codecs)
    fps: float
    size: tuple[int, int]  # (H, W)


def open_clip(path: str | Path) -> Clip:
    """A video file or a directory of frames, with a clear error for anything else."""
    cv2 = _cv2()
    path = Path(path)
    if not path.exists():
        raise SkelkdError(f"{path}: no such file or directory")
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise SkelkdError(f"{path}: a directory without image frames "
                              f"({', '.join(sorted(IMAGE_SUFFIXES))}); pass a video file or a "
                              "directory of frames")
        first = cv2.imread(str(images[0]))
        if first is None:
            raise SkelkdError(f"{images[0]}: not a readable image")

        def frames() -> Iterator[np.ndarray]:
            for p in images:
                img = cv2.imread(str(p))
                if img is None:
                    raise SkelkdError(f"{p}: not a readable image")
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

        return Clip(path, frames(), len(images), 30.0, first.shape[:2])
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok or first is None:
        cap.release()
        raise SkelkdError(f"{path}: not a video OpenCV can decode (empty, truncated or an "
                          "unsupported codec)")
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    # a phone's video is stored sideways with a display rotation in its metadata, which
    # this OpenCV does not apply by default: turned here, so the person stands upright
    turn = _ROTATIONS.get(int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)) % 360)

    def upright(img: np.ndarray) -> np.ndarray:
        return img if turn is None else cv2.rotate(img, getattr(cv2, turn))

    def frames() -> Iterator[np.ndarray]:
        try:
            img = first
            while img is not None:
                yield cv2.cvtColor(upright(img), cv2.COLOR_BGR2RGB)
                ok, img = cap.read()
                if not ok:
                    break
        finally:
            cap.release()

    return Clip(path, frames(), max(count, 1), fps, upright(first).shape[:2])


# display rotation (degrees clockwise, the container's metadata) -> cv2.rotate code
_ROTATIONS = {90: "ROTATE_90_CLOCKWISE", 180: "ROTATE_180", 270: "ROTATE_90_COUNTERCLOCKWISE"}


@dataclass
class Extraction:
    """BlazePose output for one clip."""

    path: Path
    keypoints: np.ndarray  # (T, 33, 2) pixels, 0 where no person was found
    scores: np.ndarray  # (T, 33) visibility in [0, 1], 0 where no person was found
    fps: float
    size: tuple[int, int]
    seconds: float  # time spent decoding and estimating
    frames: list = field(default_factory=list)  # (index, RGB frame) kept for drawing

    @property
    def found(self) -> float:
        """Share of frames with a person."""
        return float((self.scores.max(axis=1) > 0).mean()) if len(self.scores) else 0.0

    @property
    def speed(self) -> float:
        """Frames per second of extraction on this machine."""
        return len(self.scores) / max(self.seconds, 1e-9)


def extract(path: str | Path, *, progress: bool = True, keep: int = 0,
            min_confidence: float = 0.5) -> Extraction:
    """Run BlazePose on every frame of a video (tracking between frames, as the legacy
    solution does in video mode). ``keep`` > 0 keeps about that many RGB frames, evenly
    spread (for drawing)."""
    from tqdm import tqdm

    from .layouts import get_layout

    _, pose_api = _pose_solution()
    clip = open_clip(path)
    keep_every = max(1, clip.count // keep) if keep else 0
    v = get_layout("blazepose").num_joints
    kps, scs, kept = [], [], []
    start = time.perf_counter()
    h, w = clip.size
    with _native_stderr_silenced():  # TFLite/glog start-up notices
        pose = pose_api.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                             enable_segmentation=False, min_detection_confidence=min_confidence,
                             min_tracking_confidence=min_confidence)
    with pose:
        bar = tqdm(clip.frames, total=clip.count, desc=f"extract {clip.path.name}",
                   unit="frame", disable=not progress, leave=False)
        for t, rgb in enumerate(bar):
            if rgb.shape[:2] != (h, w):
                raise SkelkdError(f"{clip.path}: frame {t} is {rgb.shape[1]}x{rgb.shape[0]}, "
                                  f"the first was {w}x{h}")
            if t == 0:
                with _native_stderr_silenced():
                    res = pose.process(rgb)
            else:
                res = pose.process(rgb)
            kp, sc = np.zeros((v, 2), np.float32), np.zeros(v, np.float32)
            if res.pose_landmarks is not None:
                lms = res.pose_landmarks.landmark
                kp = np.array([(lm.x * w, lm.y * h) for lm in lms], np.float32)
                sc = np.clip(np.array([lm.visibility for lm in lms], np.float32), 0, 1)
            kps.append(kp)
            scs.append(sc)
            if keep_every and t % keep_every == 0:
                kept.append((t, rgb))
    seconds = time.perf_counter() - start
    if not kps:
        raise SkelkdError(f"{clip.path}: no frame could be decoded")
    return Extraction(clip.path, np.stack(kps), np.stack(scs), clip.fps, clip.size, seconds, kept)


def to_sample(e: Extraction, label: int = 0, instance_id: str | None = None,
              miss_below: float | None = None):
    """The extraction as a one-person sample, in skelkd's convention for a missing joint:
    a landmark whose visibility is below ``miss_below`` (default:
    :data:`skelkd.data.calibrate.MISS_THRESHOLD`) gets coordinates 0 and score 0.

    BlazePose places every landmark, guessing the hidden ones, and gives them a low
    visibility; the simulator the models train on was calibrated with those as its
    misses, and the joints it leaves present score well above it: a model trained on it
    never saw a present joint scored below it (``docs/real_vs_simulated.md`` measures
    both). ``miss_below=0`` keeps BlazePose's output as it is."""
    from .data.calibrate import MISS_THRESHOLD
    from .data.transforms import apply_mask
    from .io.pack import Sample

    miss = e.scores < (MISS_THRESHOLD if miss_below is None else miss_below)
    kp, sc = apply_mask(e.keypoints, e.scores, miss)
    return Sample(kp[None], sc[None], label,
                  instance_id or e.path.stem, "blazepose",
                  {"source_file": e.path.name, "estimator": ESTIMATOR, "fps": e.fps,
                   "image_height": e.size[0], "image_width": e.size[1]})


def extract_to_pack(videos: Sequence[str | Path], out: str | Path, *, label: str | None = None,
                    overwrite: bool = False, progress: bool = True,
                    echo=print) -> tuple[Path, list[Extraction]]:
    """``skelkd extract``: every video to one pack (BlazePose layout, with scores). A
    video where no person is found in any frame is reported and left out; if none is
    left, nothing is written."""
    from .io.pack import write_pack

    if not videos:
        raise SkelkdError("no video given")
    results, samples = [], []
    ids: set[str] = set()
    for path in videos:
        e = extract(path, progress=progress)
        if e.found == 0:
            echo(f"{e.path}: no person found in any of its {len(e.scores)} frames; left out")
            continue
        iid = e.path.stem
        while iid in ids:  # two videos with one name in different folders
            iid += "_"
        ids.add(iid)
        results.append(e)
        samples.append(to_sample(e, 0, iid))
        echo(f"{e.path}: {len(e.scores)} frames, person found in {100 * e.found:.0f}%, "
             f"{e.speed:.1f} frames/s")
    if not samples:
        raise SkelkdError("no person was found in any video; nothing written")
    path = write_pack(out, samples, "blazepose", [label or "unlabelled"], overwrite=overwrite,
                      protect=list(videos),
                      description=f"BlazePose skeletons extracted by skelkd ({ESTIMATOR})",
                      source=", ".join(str(e.path) for e in results))
    return Path(path), results
