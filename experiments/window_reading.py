"""How ``skelkd predict`` should combine a clip's windows when the clip is not trimmed to
the action: each reading of ``skelkd.predict.READINGS`` measured on Penn Action
validation clips (the shipped model's run: simulated low quality, never its test split),
as they are and with a synthetic rest before and after the action, then, once, on the
real clips of ``benchmarks/real_video.py``.

    python experiments/window_reading.py [--real FOLDER] [--seeds 3] [--doc docs/window_reading.md]
    python experiments/window_reading.py --models RUN [RUN ...] [--real FOLDER] [--seeds 3]
        [--doc docs/window_reading_students.md]

With ``--models``, every reading is compared with the default one (``DEFAULT_READING``)
over several trained students (seeds of a recipe), each on its own run's validation
clips, paired by student: a choice of reading then rests on more than one model's
validation clips.

Penn Action's clips start and end on the action; real clips often begin and end at rest
(docs/real_video_ends.md). The rest added here: the clip's first pose held before it and
its last pose after it, each for a random 0 to 1 times the clip's length, with a slow
sway of the whole body and of each joint (a person standing), drawn on the high-quality
joints and then degraded by the same simulator as the training data, so the rest carries
the simulated estimator's noise. The choice of a reading is made on these validation
rows; the real clips are read once with every reading and reported beside them, not used
to choose.
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
    READINGS,
    WINDOW_SCALES,
    combine_windows,
    default_model,
    window_probabilities,
)


def validation_rows(model, seeds: int, cfg=None) -> dict[str, list[float]]:
    """Top-1 of every reading on the validation clips of the run configured by ``cfg``
    (default: the shipped recipe, ``penn_video``): as they are, and with rest added
    (``seeds`` draws of it)."""
    cfg = cfg or load_config("penn_video")
    with tempfile.TemporaryDirectory() as tmp:
        hq, lq, _, _ = load_data(cfg, Path(tmp))
        idx = lq.split_indices(cfg.data.split, cfg.data.val_subset)
        rows = {"as trimmed": [], **{f"with rest, draw {k}": [] for k in range(seeds)}}
        for k, name in enumerate(rows, -1):
            right = np.zeros(len(READINGS))
            clips = (lq[int(i)] for i in idx) if k < 0 else rested_val_clips(cfg, hq, lq, k)
            for s in clips:
                per_scale = window_probabilities(model, s)
                for r, reading in enumerate(READINGS):
                    right[r] += combine_windows(per_scale, reading).argmax() == s.label
            rows[name] = list(100 * right / len(idx))
            print(f"validation, {name}: " + ", ".join(
                f"{r} {a:.2f}" for r, a in zip(READINGS, rows[name], strict=True)), flush=True)
    return rows


def real_rows(model, folder: Path, cache: Path) -> tuple[list[float], list[str]]:
    """Top-1 (the top class, the no-action threshold aside) of every reading on the real
    clips, and one line per clip."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from real_video import labelled_clips

    names = list(model.spec.class_names)
    right, lines = np.zeros(len(READINGS)), []
    for clip, label, s in labelled_clips(folder, names, cache):
        per_scale = window_probabilities(model, s)
        cells = []
        for r, reading in enumerate(READINGS):
            top = names[int(combine_windows(per_scale, reading).argmax())]
            right[r] += top == label
            cells.append(top + ("" if top == label else " (wrong)"))
        windows, prob = per_scale[len(per_scale) // 2]  # the middle scale: one clip_seconds
        for k in sorted({0, len(windows) // 2, len(windows) - 1}):
            c = int(prob[k].argmax())
            cells.append(f"{windows[k][0]}-{windows[k][1]}: {names[c]} {100 * prob[k, c]:.0f}%")
        cells += [""] * (len(READINGS) + 3 - len(cells))
        lines.append(f"| {clip.relative_to(folder)} | {label} | " + " | ".join(cells) + " |")
    return list(100 * right / len(lines)), lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=None,
                    help="Folder of real clips with manifest.csv")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--seeds", type=int, default=3, help="Draws of the synthetic rest")
    ap.add_argument("--model", default=None,
                    help="A run folder or checkpoint (default: the shipped model)")
    ap.add_argument("--models", nargs="+", default=None, metavar="RUN",
                    help="compare the readings over these students, paired")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    if args.models:
        return compare_students(args)
    model, _, _ = default_model(args.model)
    val = validation_rows(model, args.seeds)
    head = "| data | " + " | ".join(READINGS) + " |"
    table = [head, "|---|" + "---|" * len(READINGS)]
    table += [f"| Penn Action validation, {name} | " + " | ".join(f"{a:.2f}" for a in accs)
              + " |" for name, accs in val.items()]
    rested = np.array([a for n, a in val.items() if n != "as trimmed"])
    table.append("| Penn Action validation, with rest, mean of draws | "
                 + " | ".join(f"{a:.2f}" for a in rested.mean(0)) + " |")
    clips = []
    if args.real:
        accs, clips = real_rows(model, args.real, args.cache)
        table.append(f"| real clips ({len(clips)}), read once | "
                     + " | ".join(f"{a:.1f}" for a in accs) + " |")
    text = "\n".join(table)
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        real = f" --real {args.real.as_posix()}" if args.real else ""
        real += f" --model {args.model}" if args.model else ""
        doc = ["# Reading a clip that is not trimmed to the action", "",
               f"Generated by `python experiments/window_reading.py{real} --seeds "
               f"{args.seeds} --doc {args.doc.as_posix()}` ({platform.machine()}); do not "
               "edit by hand. " + (f"The model {args.model}" if args.model else "The shipped model")
               + "; `skelkd predict` reads a clip in windows at "
               f"{len(WINDOW_SCALES)} scales ({', '.join(f'{v:g}' for v in WINDOW_SCALES)} "
               "times the model's clip length: `skelkd.predict.predict_clip`) and "
               "combines them within a scale by one of three readings, then averages the "
               "scales: `mean` (every "
               "window alike), `confident` (each weighted by its top probability), `max` "
               "(the window it is surest of); or takes the surest window of any scale "
               "(`best`). Top-1 in %, the top class (the no-action "
               "threshold aside). Validation rows: the shipped run's Penn Action "
               "validation clips (SIMULATED low quality), as trimmed and with a synthetic "
               "rest before and after (the first and last pose held, swaying, 0 to 1 times "
               "the clip's length each, degraded by the same simulator). The choice is "
               "made on these rows; the real clips (BlazePose on real video) are read "
               "once.", "", text, ""]
        if clips:
            doc += ["Each real clip: the top class of each reading, then the model's answer "
                    "on the first, middle and last window of one `clip_seconds` (frames, "
                    "top class, its probability).", "",
                    "| clip | class | " + " | ".join(READINGS)
                    + " | first window | middle window | last window |",
                    "|---|---|" + "---|" * (len(READINGS) + 3), *clips, ""]
        write_text_atomic(args.doc, "\n".join(doc))



def compare_students(args) -> None:
    """Each reading against ``DEFAULT_READING`` over the students ``args.models``, each on
    its own run's validation clips (as trimmed; with rest, the mean of ``args.seeds``
    draws), paired by student; the real clips read once by each."""
    from skelkd.io.files import write_text_atomic
    from skelkd.predict import DEFAULT_READING
    from skelkd.reproduce.stats import fmt_p, paired

    trimmed, rested, real = {}, {}, {}
    for k, run in enumerate(args.models):
        model, cfg, _ = default_model(run)
        rows = validation_rows(model, args.seeds, cfg)
        rest = np.mean([a for n, a in rows.items() if n != "as trimmed"], axis=0)
        for r, reading in enumerate(READINGS):
            trimmed.setdefault(reading, {})[k] = rows["as trimmed"][r]
            rested.setdefault(reading, {})[k] = float(rest[r])
        if args.real:
            for reading, acc in zip(READINGS, real_rows(model, args.real, args.cache)[0],
                                    strict=True):
                real.setdefault(reading, {})[k] = acc
    table = ["| reading | validation, as trimmed | validation, with rest | gain with rest "
             f"over `{DEFAULT_READING}` | 95% interval | p | real clips, read once |",
             "|---|---|---|---|---|---|---|"]
    for reading in READINGS:
        pr = paired(rested[DEFAULT_READING], rested[reading])
        lo, hi = pr.interval() if reading != DEFAULT_READING else (0.0, 0.0)
        stat = ("", "", "") if reading == DEFAULT_READING else (
            f"{pr.gain:+.2f}", f"[{lo:+.2f}, {hi:+.2f}]", fmt_p(pr.p))
        realcell = f"{np.mean(list(real[reading].values())):.1f}" if real else "-"
        table.append(f"| `{reading}` | {np.mean(list(trimmed[reading].values())):.2f} | "
                     f"{np.mean(list(rested[reading].values())):.2f} | " + " | ".join(stat)
                     + f" | {realcell} |")
    text = "\n".join(table)
    print(text)
    if args.doc:
        runs = " ".join(args.models)
        real = f" --real {args.real.as_posix()}" if args.real else ""
        write_text_atomic(args.doc, "\n".join([
            "# Reading a clip, over several students", "",
            f"Generated by `python experiments/window_reading.py --models {runs}{real} "
            f"--seeds {args.seeds} --doc {args.doc.as_posix()}` ({platform.machine()}); do "
            "not edit by hand.", "",
            f"The readings of `skelkd.predict.READINGS` for {len(args.models)} trained "
            "students, each on its own run's Penn Action validation clips (SIMULATED low "
            f"quality), as trimmed and with a synthetic rest (mean of {args.seeds} draws; "
            "docs/window_reading.md says how it is made); top-1 in %, means over the "
            f"students; each reading's gain with rest over the default `{DEFAULT_READING}`, "
            "paired by student (t interval, two-sided paired t-test). The real clips "
            "(BlazePose on real video) are read once by each student and reported, not "
            "used to choose.", "", text, ""]))


if __name__ == "__main__":
    main()
