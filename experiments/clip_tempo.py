"""How ``skelkd predict``'s answer depends on how fast the action is performed, and which
window lengths read a clip best: measured on Penn Action validation clips played slower
and faster, then, once, on the real clips of ``benchmarks/real_video.py``.

    python experiments/clip_tempo.py [--model RUN] [--real FOLDER] [--doc docs/clip_tempo.md]

A model trained on Penn Action's trimmed clips learns each action at the pace of those
clips: a jumping jack there lasts 0.9 to 1.1 s, a clean and jerk 3 to 12 s. A real
performer may be twice as slow or fast. ``skelkd predict`` reads a clip in windows of a
few lengths (``skelkd.predict.WINDOW_SCALES``, in units of the model's
``clip_seconds``) and combines them (``skelkd.predict.READINGS``); which lengths, and
how many, decide how much of that variation it absorbs.

Validation clips here: the run's Penn Action validation clips (never its test split),
each high-quality twin played ``tempo`` times as long (``skelkd.data.transforms.retime``:
0.5 = twice as fast, 2 = twice as slow), given the synthetic rest of
docs/window_reading.md before and after, and degraded by the run's simulator, so every
clip is SIMULATED low quality. A set of window lengths is chosen by its top-1 averaged
over the tempos (each tempo alike: a log-uniform prior from half to double the training
pace); the real clips are read once with every set and reported, not used to choose.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

from skelkd.config import load_config
from skelkd.experiment import load_data, rested_val_clips
from skelkd.predict import (
    DEFAULT_READING,
    WINDOW_SCALES,
    combine_windows,
    default_model,
    window_probabilities,
)

TEMPOS = (0.5, 0.7, 1.0, 1.4, 2.0)
SCALE_SETS = ((0.5, 1.0, 2.0), (0.25, 0.5, 1.0, 2.0), (0.5, 1.0, 2.0, 4.0),
              (0.25, 0.5, 1.0, 2.0, 4.0), (0.35, 0.7, 1.4, 2.8), (0.7, 1.4), (1.0,))
READINGS = ("mean", "max", "best")
BEFORE = ((0.5, 1.0, 2.0), "max")
"""``skelkd predict``'s lengths and reading when this experiment was first run; it chose
the lengths that are the default now (``WINDOW_SCALES``)."""


def _label(scales: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{s:g}" for s in scales) + ")"


def read_all(model, sample) -> dict[float, tuple]:
    """The windows and probabilities of every scale any set uses, computed once."""
    scales = sorted({s for ss in SCALE_SETS for s in ss})
    return dict(zip(scales, window_probabilities(model, sample, scales=tuple(scales)),
                    strict=True))


def answers(per: dict[float, tuple]) -> dict[tuple, int]:
    """The top class of every (scale set, reading)."""
    return {(ss, r): int(combine_windows([per[s] for s in ss], r).argmax())
            for ss in SCALE_SETS for r in READINGS}


def validation(model, cfg) -> dict[float, dict[tuple, float]]:
    """Top-1 (%) of every (scale set, reading) on the validation clips at every tempo."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        hq, lq, _, _ = load_data(cfg, Path(tmp))
        for k, tempo in enumerate(TEMPOS):
            right, n = {}, 0
            for s in rested_val_clips(cfg, hq, lq, draw=k, tempo=tempo):
                for key, c in answers(read_all(model, s)).items():
                    right[key] = right.get(key, 0) + (c == s.label)
                n += 1
            out[tempo] = {key: 100 * v / n for key, v in right.items()}
            print(f"tempo {tempo}: {n} clips; current "
                  f"{out[tempo][(WINDOW_SCALES, DEFAULT_READING)]:.2f}", flush=True)
    return out


def real(model, folder: Path, cache: Path) -> tuple[dict[tuple, float], int]:
    """Top-1 (%) of every (scale set, reading) on the real clips (the top class, the
    no-action threshold aside)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from real_video import labelled_clips

    names = list(model.spec.class_names)
    right, clips = {}, 0
    for _, label, sample in labelled_clips(folder, names, cache):
        for key, c in answers(read_all(model, sample)).items():
            right[key] = right.get(key, 0) + (c == names.index(label))
        clips += 1
    return {key: 100 * v / clips for key, v in right.items()}, clips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None,
                    help="A run folder or checkpoint (default: the shipped model)")
    ap.add_argument("--real", type=Path, default=None,
                    help="Folder of real clips with manifest.csv")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    model, cfg, _ = default_model(args.model)
    cfg = cfg or load_config("penn_video")
    val = validation(model, cfg)
    real_acc, n_real = real(model, args.real, args.cache) if args.real else ({}, 0)
    keys = [(ss, r) for ss in SCALE_SETS for r in READINGS]
    mean = {key: float(np.mean([val[t][key] for t in TEMPOS])) for key in keys}
    chosen = max(keys, key=lambda k: mean[k])
    head = ("| window lengths (x clip_seconds) | reading | "
            + " | ".join(f"tempo {t:g}" for t in TEMPOS) + " | mean over tempos |"
            + (f" real clips ({n_real}), read once |" if real_acc else ""))
    table = [head, "|---|---|" + "---|" * (len(TEMPOS) + 1) + ("---|" if real_acc else "")]
    for key in keys:
        ss, r = key
        mark = " (before)" if key == BEFORE else ""
        mark += " (default)" if key == (WINDOW_SCALES, DEFAULT_READING) else ""
        mark += " (best on validation)" if key == chosen else ""
        table.append(f"| {_label(ss)}{mark} | `{r}` | "
                     + " | ".join(f"{val[t][key]:.2f}" for t in TEMPOS)
                     + f" | {mean[key]:.2f} |" + (f" {real_acc[key]:.1f} |" if real_acc else ""))
    text = "\n".join(table)
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        opts = (f" --model {args.model}" if args.model else "") + (
            f" --real {args.real.as_posix()}" if args.real else "")
        write_text_atomic(args.doc, "\n".join([
            "# How fast the action is performed, and the windows a clip is read in", "",
            f"Generated by `python experiments/clip_tempo.py{opts} --doc "
            f"{args.doc.as_posix()}` ({platform.machine()}); do not edit by hand. "
            + ("The model " + args.model if args.model else "The shipped model") + ".", "",
            "Top-1 in % (the top class, the no-action threshold aside). Validation: the "
            "run's Penn Action validation clips, each action played `tempo` times as long "
            "(0.5: twice as fast; 2: twice as slow), with a synthetic rest before and after "
            "and degraded by the run's simulator (SIMULATED low quality; "
            "`experiments/clip_tempo.py` says how). Rows: the window lengths "
            "`skelkd predict` reads a clip in, in units of the model's `clip_seconds` "
            f"({model.spec.clip_seconds:g} s), and how their answers are combined "
            "(`skelkd.predict.READINGS`). The choice is made on the mean over tempos; the "
            "real clips (BlazePose on real video) are read once.", "", text, ""]))


if __name__ == "__main__":
    main()
