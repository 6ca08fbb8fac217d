"""The part-level study: one lever of the distillation at a time, against the paper's
part-level loss as the reproduction ran it, on validation only.

For a cell of the reproduction (``--cell DATASET:SETTING:OP``), the distilled arm's
recipe is the one the protocol chose on validation (read from its records), and its five
seeds' records are the baseline. Each lever (``--lever NAME KEY=VALUE ...``, repeatable)
trains the same jobs with its settings changed and nothing else, in ``--study DIR``, and
keeps each run's record (its validation curve and seconds) in ``--records DIR``
(committed, like the reproduction's), so the table regenerates, and a rerun resumes, on
a machine without the runs. ``--cell`` may be given several times: a row per lever and
cell. The row compares the validation accuracy the protocol selects by (the mean of the last
``select_last`` validated epochs), paired by seed, and its CPU cost (the runs' seconds
against the baseline's). Test accuracy is never read. When a lever sets
``distill.part_matrix_source=drop`` and the reproduction's teacher was trained before
teachers kept the probability drops, a copy of the teacher in ``--study`` gets them
computed on its training samples (``skelkd part-matrix --subset train``).

    python experiments/part_level_study.py --cell utd:hetero:0.6 [--cell ...] \\
        --lever "E from drop" distill.part_matrix_source=drop [--seeds 0 1 2 3 4] \\
        [--data ../shared/data] [--runs runs/fair] [--results results/fair] \\
        [--study runs/study] [--records results/study] \\
        [--doc docs/part_level_study.md]

Run it where the reproduction ran (its packs and teachers are under ``--runs``); each
run is skipped when its metrics are there, so a rerun only adds what is missing.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
from pathlib import Path

import numpy as np
import yaml

from skelkd.distill.part_matrix import PartMatrix
from skelkd.experiment import part_matrix_on, student_dir, train_student_run
from skelkd.io.files import write_text_atomic
from skelkd.reproduce import PROTOCOLS, Cell
from skelkd.reproduce.run import choose_recipe, job_config, read_record
from skelkd.reproduce.short_schedule import prepare_packs
from skelkd.reproduce.stats import fmt_p, mean_last, paired


def teacher_for(teacher_dir: Path, study: Path, values: dict) -> Path:
    """The teacher to distil from: the reproduction's, or a copy of it given the
    probability drops when the lever needs them and it has none."""
    if values.get("distill.part_matrix_source") != "drop" or PartMatrix.load(
            teacher_dir / "part_matrix.json").drops is not None:
        return teacher_dir
    copy = study / teacher_dir.relative_to(teacher_dir.parents[2])
    if not (copy / "part_matrix.json").exists() or PartMatrix.load(
            copy / "part_matrix.json").drops is None:
        shutil.copytree(teacher_dir, copy, dirs_exist_ok=True)
        part_matrix_on(copy, "train").save(copy / "part_matrix.json")
    return copy


def lever_row(args, protocol, spec: str, seeds: list[int], name: str,
              settings: list[str]) -> str:
    """The study table's row of one lever on one cell: its runs trained (or their records
    read), paired by seed with the paper's loss as the reproduction ran it."""
    dataset, setting, op = spec.split(":")
    cell = Cell(dataset, setting, float(op))
    tune = [read_record(args.results, j) for j in protocol.cell_jobs(cell, "tune")
            if j.arm == "pmsc"]
    if any(r is None for r in tune):
        raise SystemExit(f"{spec}: the reproduction has not tuned this cell yet")
    recipe = choose_recipe(protocol, tune)
    jobs = [j for j in protocol.cell_jobs(cell, "final", {"pmsc": recipe}) if j.seed in seeds]
    base = {}
    for j in jobs:
        rec = read_record(args.results, j)
        if rec is None:
            raise SystemExit(f"{j.label()}: no record yet")
        base[j.seed] = (mean_last(rec["metrics"]["val_curve"], protocol.select_last),
                        rec["metrics"]["seconds"])
    values = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in settings)}
    slug = name.replace(" ", "-")
    got, packs = {}, None
    for j in jobs:
        record = args.records / slug / f"{j.key()}.json"
        if not record.exists():
            packs = packs or prepare_packs(args.data, args.runs, (dataset,), print)
            cfg = job_config(j, protocol, packs)
            for key, v in values.items():
                section, field = key.split(".", 1)
                setattr(getattr(cfg, section), field, v)
            run_dir = args.study / slug / j.key()
            out = student_dir(run_dir, cfg)
            if not (out / "metrics.json").exists():
                print(f"{name}: {j.label()}", flush=True)
                teacher = teacher_for(args.runs / j.teacher().key() / "teacher",
                                      args.study, values)
                train_student_run(cfg, run_dir, teacher)
            m = json.loads((out / "metrics.json").read_text())
            record.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(record, json.dumps(
                {"lever": name, "settings": values, "job": j.key(), "seed": j.seed,
                 "val_curve": m["val_curve"], "seconds": m["seconds"]}, indent=1) + "\n")
        m = json.loads(record.read_text())
        got[j.seed] = (mean_last(m["val_curve"], protocol.select_last), m["seconds"])
    a = {s: base[s][0] for s in seeds}
    b = {s: got[s][0] for s in seeds}
    pr = paired(a, b)
    lo, hi = pr.interval()
    cost = sum(v[1] for v in got.values()) / sum(base[s][1] for s in seeds)
    return (f"| {name} (`{' '.join(settings)}`) | {spec} (pmsc lr {recipe[0]:g}, "
            f"{recipe[1]} batches) | {len(seeds)} | {np.mean(list(a.values())):.2f} | "
            f"{np.mean(list(b.values())):.2f} | {pr.gain:+.2f} | [{lo:+.2f}, "
            f"{hi:+.2f}] | {fmt_p(pr.p)} | {cost:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", required=True, action="append",
                    help="DATASET:SETTING:OP, e.g. utd:hetero:0.6 (repeatable)")
    ap.add_argument("--lever", nargs="+", action="append", required=True,
                    metavar="NAME KEY=VALUE", help="a lever's name and its settings")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"),
                    help="the raw datasets, as given to skelkd reproduce")
    ap.add_argument("--runs", type=Path, default=Path("runs/fair"))
    ap.add_argument("--results", type=Path, default=Path("results/fair"))
    ap.add_argument("--study", type=Path, default=Path("runs/study"))
    ap.add_argument("--records", type=Path, default=Path("results/study"))
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    protocol = PROTOCOLS["fair"]
    seeds = args.seeds or list(protocol.seeds)
    lines = ["| lever | cell | seeds | validation, paper's loss | validation, lever | gain | "
             "95% CI | p | CPU time vs. the paper's |", "|---|---|---|---|---|---|---|---|---|"]
    for name, *settings in args.lever:
        for spec in args.cell:
            lines.append(lever_row(args, protocol, spec, seeds, name, settings))
    text = "\n".join(lines)
    print(text)
    if args.doc:
        levers = " ".join(f"--lever \"{n}\" " + " ".join(s) for n, *s in args.lever)
        cells = " ".join(f"--cell {c}" for c in args.cell)
        write_text_atomic(args.doc, "\n".join([
            "# The part-level study", "",
            f"Generated by `python experiments/part_level_study.py {cells} "
            f"{levers} --seeds {' '.join(map(str, seeds))} --data {args.data.as_posix()} "
            f"--runs {args.runs.as_posix()} --results {args.results.as_posix()} --study "
            f"{args.study.as_posix()} --records {args.records.as_posix()} --doc "
            f"{args.doc.as_posix()}` "
            f"where the reproduction ran ({platform.machine()}); do not edit by hand.", "",
            "Each lever changes the paper's part-level distillation (`pmsc`, as the "
            "reproduction ran it: its recipe chosen on validation, its five seeds' records "
            "the baseline) in one way and trains the same jobs again. Validation top-1 in %: "
            f"the mean of the last {protocol.select_last} validated epochs, the protocol's "
            "selection measure; paired by seed; test accuracy is not read. CPU time: the "
            "lever's runs' seconds over the baseline's (runs share the machine with other "
            "work, so both are upper bounds). All low-quality data SIMULATED.", "", text,
            ""]))


if __name__ == "__main__":
    main()
