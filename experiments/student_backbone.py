"""Which backbone should the shipped real-video student have? The shipped recipe
(configuration ``penn_video``: SIMULATED low-quality Penn Action, part-level distillation)
trained with each backbone of ``--backbones``, its teacher of the same backbone (part
features are compared by cosine, so teacher and student share a width), at each seed, and
compared, paired over seeds, against the first backbone (ST-GCN-tiny, the one the model
shipped with when this study began; it chose EfficientGCN-tiny, design item 79) on:

* Penn Action validation clips (never the test split), read as ``skelkd predict`` reads a
  video (reading ``max``), as trimmed and with a synthetic rest before and after
  (``experiments/window_reading.py``'s rows): where the choice is made;
* the real clips of ``benchmarks/real_video.py`` (BlazePose on real video, the top class
  with the no-action threshold aside), every seed, read after the validation rows and
  shown beside them, not used to choose.

    python experiments/student_backbone.py --runs DIR --real FOLDER
        [--backbones stgcn-tiny efficientgcn-tiny] [--seeds 0 1 2 3 4] [--draws 3]
        [--arm NAME model.backbone=B KEY=VALUE ...] [--records results/recipes/student_backbone]
        [--averaged] [--doc docs/student_backbone.md]

``--arm`` adds a backbone with another recipe than the shipped one, e.g. the learning rate
and batches its own Table 3 cell chose on validation (docs/RESULTS.md), so that every
backbone is compared with the same tuning budget: the shipped recipe's are the choice of
ST-GCN's cell.

Each backbone's teacher trains in ``DIR/BACKBONE`` with the shipped teacher's recipe
(``scripts/train_shipped_model.sh``); each student in ``DIR/BACKBONE-seedS``. Every
finished student leaves a small record in ``--records`` (its readings, test top-1,
seconds, commit): commit them; a rerun on any machine skips a student with a record and
trains only what is missing, so a comparison spread over machines stays paired by seed.
The students train without the shipped model's outlier exposure (as in the other
comparisons of the recipe, docs/simulator_preset.md, docs/rest_augmentation.md): it
shapes "no known action", not which class comes first.

With ``--averaged``, each seed's students of all the backbones are also read as one (the
mean of their class probabilities) and compared like a backbone; that reading needs the
students' checkpoints on this machine, so a seed whose students were trained elsewhere
(records only) has no such row until they are trained here again.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rest_augmentation import paired_rows, run  # noqa: E402 (this folder)
from simulator_preset import add_student_arguments  # noqa: E402 (this folder)
from window_reading import real_rows, validation_rows  # noqa: E402 (this folder)

from skelkd.config import load_config, parse_override
from skelkd.experiment import student_dir, train_teacher_run
from skelkd.io.files import write_text_atomic
from skelkd.models import Ensemble
from skelkd.predict import DEFAULT_READING, READINGS, default_model
from skelkd.reproduce.short_schedule import published_ucla_schedule

# scripts/train_shipped_model.sh's teacher: the reproduction's teacher schedule, 30 epochs,
# fair.yaml's augmentation (the student's extra augmentation is the student's)
TEACHER_OVERRIDES = (*published_ucla_schedule(), "train.epochs=30", "input.rotate_deg=10",
                     "input.flip_prob=0", "input.crop_range=[1,1]", "train.progress=false")


def teacher(backbone: str, runs: Path) -> Path:
    """The shipped recipe's teacher with ``backbone``, trained in ``runs/BACKBONE`` when
    missing."""
    run_dir = runs / backbone
    if not (run_dir / "teacher" / "metrics.json").exists():
        print(f"training the {backbone} teacher in {run_dir}", flush=True)
        train_teacher_run(load_config("penn_video", TEACHER_OVERRIDES,
                                      {"model.backbone": backbone}), run_dir)
    return run_dir / "teacher"


def student(name: str, seed: int, args) -> dict:
    """The record of arm ``name``'s student at ``seed`` (``args.arms[name]``: its
    configuration values, the backbone among them): trained and read when missing."""
    record = args.records / f"{name}-seed{seed}.json"
    if record.exists():
        return json.loads(record.read_text())
    values = args.arms[name]
    backbone = values["model.backbone"]
    arm = argparse.Namespace(**{**vars(args), "teacher": teacher(backbone, args.runs)})
    start = time.time()
    got = run(name, seed, values, arm)  # trains DIR/NAME-seedS when missing
    out = student_dir(args.runs / f"{name}-seed{seed}", load_config("penn_video"))
    metrics = json.loads((out / "metrics.json").read_text())
    model, _, _ = default_model(out)
    accs, clips = real_rows(model, args.real, args.cache)
    rec = {"backbone": backbone, "seed": seed, **got,
           **({"values": values} if name != backbone else {}),
           "real top class": accs[READINGS.index(DEFAULT_READING)], "real clips": len(clips),
           "test top-1": {op: m["top1"] for op, m in metrics.get("by_op", {}).items()},
           "seconds": metrics.get("seconds"),
           "seconds with the readings": time.time() - start,
           "environment": metrics.get("environment")}
    write_text_atomic(record, json.dumps(rec, indent=1) + "\n")
    return rec


class Averaged(torch.nn.Module):
    """Students of different backbones read as one as ``skelkd.models.Ensemble`` reads
    seeds of one specification (``Ensemble.read_as_one``), with the first one's
    specification for reading a clip (the same layout, frames and clip length: one recipe
    but the backbone)."""

    def __init__(self, models: list[torch.nn.Module]):
        super().__init__()
        self.parts = torch.nn.ModuleList(models)
        self.spec = models[0].spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return Ensemble.read_as_one(self.parts, x)


def averaged(backbones: list[str], seed: int, args) -> dict | None:
    """The record of ``backbones``' students at ``seed`` read as one (:class:`Averaged`):
    read when missing, from their checkpoints, which must be on this machine (None when
    they are not: the students' records alone cannot be averaged)."""
    name = "+".join(backbones)
    record = args.records / f"{name}-seed{seed}.json"
    if record.exists():
        return json.loads(record.read_text())
    outs = [student_dir(args.runs / f"{b}-seed{seed}", load_config("penn_video"))
            for b in backbones]
    if not all((o / "checkpoints" / "last.ckpt").exists() for o in outs):
        print(f"{name}, seed {seed}: the students' checkpoints are not here; not read")
        return None
    model = Averaged([default_model(o)[0] for o in outs])
    r = READINGS.index(DEFAULT_READING)
    rows = validation_rows(model, args.draws)
    accs, clips = real_rows(model, args.real, args.cache)
    rec = {"backbone": name, "seed": seed, "as trimmed": rows["as trimmed"][r],
           "with rest": float(np.mean([v[r] for k, v in rows.items() if k != "as trimmed"])),
           "real top class": accs[r], "real clips": len(clips)}
    write_text_atomic(record, json.dumps(rec, indent=1) + "\n")
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_student_arguments(ap)
    ap.add_argument("--backbones", nargs="+", default=["stgcn-tiny", "efficientgcn-tiny"],
                    help="the first is the baseline (the backbone shipped before the study), "
                    "the others are compared with it")
    ap.add_argument("--records", type=Path, default=Path("results/recipes/student_backbone"))
    ap.add_argument("--arm", nargs="+", action="append", default=[],
                    metavar=("NAME", "KEY=VALUE"),
                    help="one more arm: a name and configuration values, model.backbone "
                    "among them (a backbone with another recipe, e.g. the learning rate and "
                    "batches its own Table 3 cell chose on validation)")
    ap.add_argument("--averaged", action="store_true",
                    help="also every seed's students of all the backbones read as one")
    args = ap.parse_args()
    extra = {name: {".".join(k): v for k, v in map(parse_override, pairs)}
             for name, *pairs in args.arm}  # --arm: name, then its values
    for name, values in extra.items():
        if "model.backbone" not in values:
            ap.error(f"--arm {name}: give its backbone (model.backbone=NAME)")
    args.arms = {**{b: {"model.backbone": b} for b in args.backbones}, **extra}
    recs: dict[str, dict[int, dict]] = {b: {} for b in args.arms}
    base, *others = args.arms
    both = "+".join(args.backbones)
    if args.averaged:
        recs[both] = {}
    for s in args.seeds:  # seed by seed, so that a comparison cut short is still paired
        for b in args.arms:
            recs[b][s] = student(b, s, args)
        if args.averaged and (rec := averaged(args.backbones, s, args)) is not None:
            recs[both][s] = rec
    if args.averaged:  # compared on the seeds it was read for
        others = [*others, both]
    lines = [f"| clips | seed | `{base}` | the other | gain |", "|---|---|---|---|---|"]
    verdicts = []
    for other in others:
        for data in ("as trimmed", "with rest", "real top class"):
            label = f"`{other}`, {data}" + (" (read after the choice)" if "real" in data
                                             else "")
            a = {s: recs[base][s][data] for s in recs[other]}
            b = {s: r[data] for s, r in recs[other].items()}
            verdict = paired_rows(label, a, b, lines)
            if len(b) < 3:  # two seeds can agree to the clip (29 clips: steps of 3.4)
                gain = float(np.mean([b[s] - a[s] for s in b]))
                verdict = (f"{label}: {gain:+.2f} points over {len(b)} seed(s): fewer than 3, "
                           "so no interval or verdict yet")
            verdicts.append(verdict)
    cost = {b: sum(r["seconds"] or 0 for r in recs[b].values()) for b in args.arms}
    test = ["| backbone | seed | Penn Action test top-1, OP 0 | OP 0.3 | training s |",
            "|---|---|---|---|---|"]
    for b in args.arms:
        for s, r in recs[b].items():
            t = r["test top-1"]
            test.append(f"| `{b}` | {s} | {t.get('0', float('nan')):.2f} | "
                        f"{t.get('0.3', float('nan')):.2f} | {r['seconds'] or 0:.0f} |")
    text = "\n".join(lines + ["", *[f"- {v}" for v in verdicts], "",
                              "Test split (information only, not used to choose):", "",
                              *test, "",
                              "Training time against the first backbone: " + ", ".join(
                                  f"`{b}` {cost[b] / max(cost[base], 1e-9):.2f}x"
                                  for b in others if b != both) + (
                                  f"; `{both}` reads with both." if args.averaged else "")])
    print(text)
    if args.doc:
        seeds = " ".join(str(s) for s in args.seeds)
        write_text_atomic(args.doc, "\n".join([
            "# Which backbone the shipped real-video student has", "",
            f"Generated by `python experiments/student_backbone.py --runs "
            f"{args.runs.as_posix()} --real {args.real.as_posix()} --backbones "
            f"{' '.join(args.backbones)}"
            + "".join(f" --arm {n} " + " ".join(f"{k}={v}" for k, v in vals.items())
                      for n, vals in extra.items())
            + f" --seeds {seeds} --draws {args.draws} --records "
            f"{args.records.as_posix()}{' --averaged' if args.averaged else ''} --doc "
            f"{args.doc.as_posix()}` ({platform.machine()}); "
            "do not edit by hand; the figures are the committed records'.", "",
            "The shipped student's recipe (`penn_video`, without outlier exposure; all "
            "training data SIMULATED) trained with each backbone and a teacher of the same "
            "backbone, at each seed. Top-1 in %: Penn Action's validation clips read as "
            f"`skelkd predict` reads a video (reading `{DEFAULT_READING}`), as trimmed and "
            f"with a synthetic rest (mean of {args.draws} draws), where the choice is made; "
            "then the real clips (BlazePose on real video, the top class with the "
            "no-action threshold aside), read for every seed after its validation rows."
            + (f" `{both}`: each seed's students of the backbones read as one (the mean of "
               "their class probabilities). That arm was added after the first seed's "
               "students had been read clip by clip on the real clips, which showed them "
               "wrong on different clips: the real rows of that arm are not an untouched "
               "measure, its validation rows are. It reads with two networks against the "
               "first backbone's one, so part of its gain is any ensemble's (seeds of one "
               "backbone read as one gain too: docs/seed_ensemble.md); the backbone itself "
               "is judged by the single-network rows." if args.averaged else "")
            + "".join(f" `{n}`: the recipe with " + ", ".join(
                f"`{k}={v}`" for k, v in vals.items()) + "." for n, vals in
                extra.items()),
            "", text, ""]))


if __name__ == "__main__":
    main()
