"""The part-level study: one lever of the distillation at a time, against the paper's
part-level loss as the reproduction ran it, on validation only.

For a cell of the reproduction (``--cell DATASET:SETTING:OP``), the distilled arm's
recipe is the one the protocol chose on validation (read from its records), and its five
seeds' records are the baseline. Each lever (``--lever NAME KEY=VALUE ...``, repeatable)
trains the same jobs with its settings changed and nothing else (the setting
``teachers=K``, no section: distil from an ensemble of the reproduction's teacher and K - 1
more of seeds 1 to K - 1, trained once per cell), in ``--study DIR``, and
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
    python experiments/part_level_study.py --doc docs/part_level_study.md   # the table alone

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
from skelkd.experiment import part_matrix_on, student_dir, train_student_run, train_teacher_run
from skelkd.io.files import write_text_atomic
from skelkd.reproduce import PROTOCOLS, Cell
from skelkd.reproduce.run import choose_recipe, ensure_teacher, job_config, read_record
from skelkd.reproduce.short_schedule import _paper, prepare_packs
from skelkd.reproduce.stats import fmt_p, mean_last, paired


def teacher_for(teacher_dir: Path, study: Path, values: dict, teacher_job=None,
                teacher_cfg=None) -> Path:
    """The teacher to distil from: the reproduction's; or, for ``distill.teacher_occlusion``,
    one trained again with it (``teacher_cfg``: the reproduction teacher's configuration,
    ``teacher_job`` its job) in ``study``, once per cell; or a copy of the reproduction's
    given the probability drops when the lever needs them and it has none."""
    occ = values.get("distill.teacher_occlusion", 0)
    if occ:
        run_dir = study / "teachers" / f"occ{occ:g}" / teacher_job.key()
        if not (run_dir / "teacher" / "metrics.json").exists():
            teacher_cfg.distill.teacher_occlusion = occ
            train_teacher_run(teacher_cfg, run_dir)
        return run_dir / "teacher"
    if values.get("distill.part_matrix_source") != "drop" or PartMatrix.load(
            teacher_dir / "part_matrix.json").drops is not None:
        return teacher_dir
    copy = study / teacher_dir.relative_to(teacher_dir.parents[2])
    if not (copy / "part_matrix.json").exists() or PartMatrix.load(
            copy / "part_matrix.json").drops is None:
        shutil.copytree(teacher_dir, copy, dirs_exist_ok=True)
        part_matrix_on(copy, "train").save(copy / "part_matrix.json")
    return copy


def ensemble_teachers(study: Path, count: int, teacher_job, teacher_cfg) -> list[str]:
    """For the lever setting ``teachers=K``: the folders of K - 1 more teachers like the
    reproduction's (``teacher_cfg``, job ``teacher_job``), of seeds 1 to K - 1, trained in
    ``study`` once per cell, to read with it as an ensemble (distill.extra_teachers)."""
    dirs = []
    for seed in range(1, count):
        run_dir = study / "teachers" / f"seed{seed}" / teacher_job.key()
        if not (run_dir / "teacher" / "metrics.json").exists():
            teacher_cfg.train.seed = seed
            train_teacher_run(teacher_cfg, run_dir)
        dirs.append(str(run_dir / "teacher"))
    return dirs


def _cell_jobs(args, protocol, spec: str, seeds: list[int], arm: str = "pmsc"):
    """The cell, the recipe the protocol chose for its ``arm`` (the paper's loss unless
    told) and that arm's final jobs of ``seeds``."""
    dataset, setting, op = spec.split(":")
    cell = Cell(dataset, setting, float(op))
    tune = [read_record(args.results, j) for j in protocol.cell_jobs(cell, "tune")
            if j.arm == arm]
    if any(r is None for r in tune):
        raise SystemExit(f"{spec}: the reproduction has not tuned its {arm} arm yet")
    recipe = choose_recipe(protocol, tune)
    return cell, recipe, [j for j in protocol.cell_jobs(cell, "final", {arm: recipe})
                          if j.seed in seeds]


def run_lever(args, protocol, spec: str, seeds: list[int], name: str,
              settings: list[str]) -> None:
    """Train one lever's jobs on one cell, each unless its record is there, and keep each
    run's record."""
    cell, _, jobs = _cell_jobs(args, protocol, spec, seeds)
    values = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in settings)}
    count = int(values.pop("teachers", 1))  # a teacher ensemble: ensemble_teachers
    slug = name.replace(" ", "-")
    packs = None
    for j in jobs:
        record = args.records / slug / f"{j.key()}.json"
        if record.exists():
            continue
        packs = packs or prepare_packs(args.data, args.runs, (cell.dataset,), print)
        cfg = job_config(j, protocol, packs)
        for key, v in values.items():
            section, field = key.split(".", 1)
            setattr(getattr(cfg, section), field, v)
        run_dir = args.study / slug / j.key()
        out = student_dir(run_dir, cfg)
        if not (out / "metrics.json").exists():
            print(f"{name}: {j.label()}", flush=True)
            # the reproduction's teacher, trained again here when this machine's runs
            # folder lacks it (its record is kept)
            ensure_teacher(j.teacher(), protocol, packs, args.runs, args.results)
            teacher = teacher_for(args.runs / j.teacher().key() / "teacher", args.study,
                                  values, j.teacher(), job_config(j.teacher(), protocol, packs))
            cfg.distill.extra_teachers = ensemble_teachers(
                args.study, count, j.teacher(), job_config(j.teacher(), protocol, packs))
            train_student_run(cfg, run_dir, teacher)
        m = json.loads((out / "metrics.json").read_text())
        record.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(record, json.dumps(
            {"lever": name, "settings": settings, "cell": spec, "seed": j.seed,
             "job": j.key(), "val_curve": m["val_curve"], "seconds": m["seconds"]},
            indent=1) + "\n")


def study_rows(args, protocol) -> list[dict]:
    """A row per (lever, cell) of the records in ``args.records``: the lever's validation
    accuracy against the paper's loss as the reproduction ran it, paired by seed."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for path in sorted(args.records.rglob("*.json")):
        r = json.loads(path.read_text())
        groups.setdefault((r["cell"], r["lever"]), []).append(r)
    rows = []
    for (spec, name), recs in sorted(groups.items()):
        seeds = sorted(r["seed"] for r in recs)
        if len(seeds) < 2:  # no pairing yet
            continue
        _, recipe, jobs = _cell_jobs(args, protocol, spec, seeds)
        base = {}
        for j in jobs:
            rec = read_record(args.results, j)
            if rec is None:
                raise SystemExit(f"{j.label()}: no record yet")
            base[j.seed] = (mean_last(rec["metrics"]["val_curve"], protocol.select_last),
                            rec["metrics"]["seconds"])
        got = {r["seed"]: (mean_last(r["val_curve"], protocol.select_last), r["seconds"])
               for r in recs}
        a = {s: base[s][0] for s in seeds}
        b = {s: got[s][0] for s in seeds}
        pr = paired(a, b)
        rows.append({"lever": name, "settings": " ".join(recs[0]["settings"]), "cell": spec,
                     "recipe": recipe, "seeds": len(seeds), "per_seed": b,
                     "base": np.mean(list(a.values())),
                     "lever_acc": np.mean(list(b.values())), "gain": pr.gain,
                     "interval": pr.interval(), "p": pr.p,
                     "cost": sum(v[1] for v in got.values()) / sum(base[s][1] for s in seeds)})
    return rows


def arm_validation(args, protocol, spec: str, arm: str, seeds: list[int]) -> dict[int, float]:
    """The reproduction's ``arm`` of the cell, at the recipe the protocol chose for it on
    validation: per seed of ``seeds``, its selection measure (validation top-1)."""
    _, _, jobs = _cell_jobs(args, protocol, spec, seeds, arm)
    recs = {j.seed: read_record(args.results, j) for j in jobs}
    if any(r is None for r in recs.values()):
        raise SystemExit(f"{spec}: the reproduction's {arm} arm lacks a record")
    return {s: mean_last(r["metrics"]["val_curve"], protocol.select_last)
            for s, r in recs.items()}


def how_close(args, protocol, rows: list[dict]) -> list[str]:
    """The issue's goal, a gain over the undistilled student at least the paper's, read on
    validation: per cell, the paper's loss and each lever against the reproduction's
    undistilled arm (its recipe chosen on validation too), paired by seed, beside the
    paper's own gain (its test accuracy, Table 1/2)."""
    out = ["| cell | distillation | seeds | gain over no distillation, validation | 95% CI | "
           "p | the paper's gain (test) |", "|---|---|---|---|---|---|---|"]
    for spec in sorted({r["cell"] for r in rows}):
        dataset, setting, op = spec.split(":")
        paper = _paper(dataset, setting).get(float(op))
        theirs = "-" if paper is None else f"{paper[1] - paper[0]:+.2f}"
        seeds = sorted(protocol.seeds)
        none = arm_validation(args, protocol, spec, "none", seeds)
        arms = [("the paper's loss", arm_validation(args, protocol, spec, "pmsc", seeds))]
        arms += sorted((r["lever"], r["per_seed"]) for r in rows if r["cell"] == spec)
        for name, got in arms:
            both = sorted(set(got) & set(none))
            pr = paired({s: none[s] for s in both}, {s: got[s] for s in both})
            lo, hi = pr.interval()
            out.append(f"| {spec} | {name} | {len(both)} | {pr.gain:+.2f} | [{lo:+.2f}, "
                       f"{hi:+.2f}] | {fmt_p(pr.p)} | {theirs} |")
    return out


def table_line(row: dict) -> str:
    lo, hi = row["interval"]
    lr, batches = row["recipe"]
    return (f"| {row['lever']} (`{row['settings']}`) | {row['cell']} (pmsc lr {lr:g}, "
            f"{batches} batches) | {row['seeds']} | {row['base']:.2f} | {row['lever_acc']:.2f} "
            f"| {row['gain']:+.2f} | [{lo:+.2f}, {hi:+.2f}] | {fmt_p(row['p'])} | "
            f"{row['cost']:.2f}x |")


def summary(rows: list[dict]) -> str:
    """What the rows show, counted from them: the levers whose gain's interval lies above
    zero, and below."""
    def names(sign: int) -> str:
        hits = [f"{r['lever']} on {r['cell']} ({r['gain']:+.2f}, {r['seeds']} seeds)"
                for r in rows if r["seeds"] >= 3 and sign * r["interval"][0 if sign > 0 else 1]
                > 0]
        return "; ".join(hits) or "none"

    return (f"Rows with at least 3 paired seeds whose 95% interval lies above zero (the lever "
            f"beats the paper's loss on validation): {names(1)}. Below zero (it loses): "
            f"{names(-1)}. Every other row is within what seeds move.")


def plot(rows: list[dict], path: Path) -> Path:
    """A forest plot: each row's paired validation gain and its 95% interval, a panel per
    cell (rows of fewer than 3 seeds, whose intervals say little, drawn hollow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = sorted({r["cell"] for r in rows})
    heights = [max(1, sum(r["cell"] == c for r in rows)) for c in cells]
    fig, axes = plt.subplots(len(cells), 1, figsize=(7, 1.2 + 0.4 * sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, cell in zip(axes[:, 0], cells, strict=True):
        mine = [r for r in rows if r["cell"] == cell][::-1]
        for k, r in enumerate(mine):
            lo, hi = r["interval"]
            ax.plot([max(lo, -30), min(hi, 30)], [k, k], color="tab:blue", lw=1.5)
            ax.plot([r["gain"]], [k], "o", color="tab:blue",
                    mfc="tab:blue" if r["seeds"] >= 3 else "white")
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(range(len(mine)), [f"{r['lever']} ({r['seeds']})" for r in mine],
                      fontsize=8)
        ax.set_title(cell, fontsize=9)
    axes[-1, 0].set_xlabel("validation top-1 gain over the paper's loss (points, 95% CI; "
                           "clipped at ±30)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    tmp.replace(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", action="append",
                    help="DATASET:SETTING:OP, e.g. utd:hetero:0.6 (repeatable)")
    ap.add_argument("--lever", nargs="+", action="append",
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
    for name, *settings in args.lever or []:
        for spec in args.cell or []:
            run_lever(args, protocol, spec, seeds, name, settings)
    rows = study_rows(args, protocol)
    lines = ["| lever | cell | seeds | validation, paper's loss | validation, lever | gain | "
             "95% CI | p | CPU time vs. the paper's |", "|---|---|---|---|---|---|---|---|---|",
             *map(table_line, rows)]
    text = "\n".join(lines) + "\n\n" + summary(rows)
    close = how_close(args, protocol, rows) if rows else []
    if close:
        text += ("\n\n## How close each came to the issue's goal\n\nThe goal: a gain over the "
                 "equally tuned, converged undistilled student at least the paper's. Here "
                 "each distillation's gain over the reproduction's undistilled arm of the "
                 "cell, on the same validation measure, paired by seed (the paper's gain is "
                 "on its test split and its own skeletons, so it is a scale, not a "
                 "like-for-like target).\n\n" + "\n".join(close))
    print(text)
    if args.doc:
        figure = plot(rows, args.doc.parent / "results" / "part_level_study.png")
        text += (f"\n\n![the study's gains](results/{figure.name})\n\n"
                 f"`results/{figure.name}`: each row's gain and interval, a panel per cell; "
                 "hollow: fewer than 3 seeds.")
        write_text_atomic(args.doc, "\n".join([
            "# The part-level study", "",
            "Generated by `python experiments/part_level_study.py --results "
            f"{args.results.as_posix()} --records {args.records.as_posix()} --doc "
            f"{args.doc.as_posix()}` ({platform.machine()}): a row per lever and cell of "
            "the records in the records folder; do not edit by hand. The runs were trained "
            "where the reproduction ran, by the same script given `--cell DATASET:SETTING:OP"
            " --lever NAME KEY=VALUE ...` (its docstring).", "",
            "Each lever changes the paper's part-level distillation (`pmsc`, as the "
            "reproduction ran it: its recipe chosen on validation, its five seeds' records "
            "the baseline) in one way and trains the same jobs again. Validation top-1 in %: "
            f"the mean of the last {protocol.select_last} validated epochs, the protocol's "
            "selection measure; paired by seed; test accuracy is not read. CPU time: the "
            "lever's runs' seconds over the baseline's (runs share the machine with other "
            "work, so both are upper bounds); the teachers a lever trains (a teacher "
            "with occlusion, a teacher ensemble's other members) are trained once per cell "
            "and not counted. All low-quality data SIMULATED.", "", text,
            ""]))


if __name__ == "__main__":
    main()
