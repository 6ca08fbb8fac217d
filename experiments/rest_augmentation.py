"""Does a still rest added in training (``input.rest_prob``) help the shipped student read
clips that are not trimmed to the action? The shipped recipe (configuration
``penn_video``) trained with and without it from one teacher, at each seed, compared on
Penn Action validation clips (SIMULATED low quality; never the test split, never the
real clips) under ``skelkd predict``'s default reading, as trimmed and with a synthetic
rest before and after (``experiments/window_reading.py``'s rows); paired over seeds.

    python experiments/rest_augmentation.py --teacher RUN/penn_video/teacher --runs DIR
        [--seeds 0 1 2] [--rest 0.5] [--draws 3] [--real FOLDER]
        [--doc docs/rest_augmentation.md]

Each arm and seed trains in ``DIR/ARM-seedS`` (``student-pmsc-op0.3`` inside, the
simulated pack in its ``data``), and is skipped when its ``metrics.json`` is there; its
validation reading is kept beside it (``reading.json``), so a rerun only adds what is
missing. The training rest is drawn on the low-quality clips in the pipeline
(``skelkd.data.transforms.hold_rest``); the validation rest is drawn on the high-quality
clips and then degraded by the simulator (``skelkd.data.simulate.rested_twin``), so the
two are not the same draw of the same thing, but they are the same kind of thing: this
validation favours the augmentation built like it. With ``--real``, each arm's first
seed is also read on the real clips of ``benchmarks/real_video.py`` (BlazePose on real
video; the top class, the threshold aside): after the choice, once.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
from window_reading import real_rows, validation_rows  # noqa: E402 (this folder)

from skelkd.config import load_config
from skelkd.experiment import student_dir, train_student_run
from skelkd.io.files import write_text_atomic
from skelkd.predict import DEFAULT_READING, READINGS, default_model
from skelkd.reproduce.stats import fmt_p, paired

ARMS = ("none", "rest")


def run(arm: str, seed: int, values: dict, args, val: tuple | None = None) -> dict:
    """The validation reading of the shipped recipe with ``values`` set (configuration
    keys) at ``seed``, trained in ``args.runs / ARM-seedS`` from ``args.teacher`` when
    missing: {"as trimmed": top-1, "with rest": mean top-1 over ``args.draws`` draws},
    under the default reading, on the validation clips of the run itself, or of another
    configuration given as ``val = (KEY, config)``; kept beside the student
    (``reading.json``, or ``reading-KEY.json``)."""
    run_dir = args.runs / f"{arm}-seed{seed}"
    # the studies that train through here (this one, simulator_preset.py) ran when the
    # shipped recipe's backbone was ST-GCN-tiny, and their docs are of those students: a
    # rerun remakes them unless ``values`` names another (student_backbone.py does)
    cfg = load_config("penn_video", values={"train.seed": seed, "train.progress": False,
                                            "model.backbone": "stgcn-tiny", **values})
    out = student_dir(run_dir, cfg)
    if not (out / "metrics.json").exists():
        print(f"training {arm}, seed {seed} in {out}", flush=True)
        train_student_run(cfg, run_dir, args.teacher)
    cached = out / ("reading.json" if val is None else f"reading-{val[0]}.json")
    if cached.exists():
        rows = json.loads(cached.read_text())
    else:
        model, _, _ = default_model(out)
        rows = validation_rows(model, args.draws, cfg if val is None else val[1])
        write_text_atomic(cached, json.dumps(rows, indent=1) + "\n")
    r = READINGS.index(DEFAULT_READING)
    rested = [v[r] for k, v in rows.items() if k != "as trimmed"]
    return {"as trimmed": rows["as trimmed"][r], "with rest": float(np.mean(rested))}


def paired_rows(data: str, a: dict[int, float], b: dict[int, float], lines: list[str]) -> str:
    """Table rows (one per seed, then the mean) of arm ``b`` against arm ``a`` on ``data``,
    appended to ``lines``; returns the paired verdict's line."""
    for s in a:
        lines.append(f"| {data} | {s} | {a[s]:.2f} | {b[s]:.2f} | {b[s] - a[s]:+.2f} |")
    pr = paired(a, b)
    lo, hi = pr.interval()
    lines.append(f"| {data} | mean | {np.mean(list(a.values())):.2f} | "
                 f"{np.mean(list(b.values())):.2f} | **{pr.gain:+.2f}** |")
    return (f"{data}: {pr.gain:+.2f} points, 95% CI [{lo:+.2f}, {hi:+.2f}], "
            f"paired t-test p = {fmt_p(pr.p)} ({pr.verdict})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", type=Path, required=True, help="the shipped run's teacher")
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rest", type=float, default=0.5, help="input.rest_prob of the rest arm")
    ap.add_argument("--draws", type=int, default=3, help="draws of the validation rest")
    ap.add_argument("--real", type=Path, default=None,
                    help="a folder of labelled real clips (manifest.csv)")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/skelkd/extractions")
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    fast = {"data.simulate.preset": "fast"}  # the simulation the study was run with
    values = {"none": {**fast, "input.rest_prob": 0.0},
              "rest": {**fast, "input.rest_prob": args.rest}}
    got = {arm: {s: run(arm, s, values[arm], args) for s in args.seeds} for arm in ARMS}
    lines = ["| validation clips | seed | no rest in training | rest in training | gain |",
             "|---|---|---|---|---|"]
    verdicts = []
    for data in ("as trimmed", "with rest"):
        a = {s: got["none"][s][data] for s in args.seeds}
        b = {s: got["rest"][s][data] for s in args.seeds}
        verdicts.append(paired_rows(data, a, b, lines))
    if args.real:
        r = READINGS.index(DEFAULT_READING)
        real = []
        for arm in ARMS:
            run_dir = args.runs / f"{arm}-seed{args.seeds[0]}"
            model, _, _ = default_model(next(run_dir.glob("student-*")))
            accs, clips = real_rows(model, args.real, args.cache)
            real.append(f"{accs[r]:.1f}")
        lines.append(f"| real clips ({len(clips)}), read once after the choice | "
                     f"{args.seeds[0]} | {real[0]} | {real[1]} | |")
    text = "\n".join(lines + ["", *[f"- {v}" for v in verdicts]])
    print(text)
    if args.doc:
        seeds = " ".join(str(s) for s in args.seeds)
        write_text_atomic(args.doc, "\n".join([
            "# A still rest in training, for clips not trimmed to the action", "",
            f"Generated by `python experiments/rest_augmentation.py --teacher "
            f"{args.teacher.as_posix()} --runs {args.runs.as_posix()} --seeds {seeds} "
            f"--rest {args.rest:g} --draws {args.draws}"
            + (f" --real {args.real.as_posix()}" if args.real else "")
            + f" --doc {args.doc.as_posix()}` "
            f"({platform.machine()}); do not edit by hand.", "",
            "The shipped student's recipe (`penn_video`: SIMULATED low-quality Penn Action, "
            "part-level distillation from one teacher) trained without and with "
            f"`input.rest_prob: {args.rest:g}` (that share of training clips gets its first "
            "pose held before it and its last after it, each for up to its own length, "
            "swaying: `skelkd.data.transforms.hold_rest`), at each seed. Top-1 in % on "
            "Penn Action's validation clips read as `skelkd predict` reads a video "
            f"(reading `{DEFAULT_READING}`): as trimmed, and with a synthetic rest drawn on "
            f"the high-quality clip and then degraded by the simulator (mean of {args.draws} "
            "draws; `experiments/window_reading.py`). The choice is made on these rows; "
            "the real clips, when read, are read once afterwards with each arm's first "
            "seed.", "", text, ""]))


if __name__ == "__main__":
    main()
