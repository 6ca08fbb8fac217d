"""How ``skelkd predict`` should combine a clip's windows when the clip is not trimmed to
the action: each reading of ``skelkd.predict.READINGS`` measured on Penn Action
validation clips (the shipped model's run: simulated low quality, never its test split),
as they are and with a synthetic rest before and after the action, then, once, on the
real clips of ``benchmarks/real_video.py``.

    python experiments/window_reading.py [--real FOLDER] [--seeds 3] [--doc docs/window_reading.md]

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
from skelkd.predict import READINGS, combine_windows, default_model, window_probabilities


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
    from real_video import extraction, match_class, read_manifest

    from skelkd.video import to_sample

    names = list(model.spec.class_names)
    clips = read_manifest(folder)
    right, lines = np.zeros(len(READINGS)), []
    for clip, label in clips:
        label = match_class(label, names, folder)
        s = to_sample(extraction(clip, cache))
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
    return list(100 * right / len(clips)), lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=None,
                    help="Folder of real clips with manifest.csv")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--seeds", type=int, default=3, help="Draws of the synthetic rest")
    ap.add_argument("--model", default=None,
                    help="A run folder or checkpoint (default: the shipped model)")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
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
               "three scales (`skelkd.predict.predict_clip`) and combines them within a "
               "scale by one of three readings: `mean` (every window alike), `confident` "
               "(each weighted by its top probability), `max` (the window it is surest "
               "of). Top-1 in %, the top class (the no-action "
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


if __name__ == "__main__":
    main()
