"""``skelkd demo``: the main job on the embedded Penn Action pack, end to end.

Trains a teacher on the human-annotated joints, computes the part matrix E, trains a
student without and one with part-level distillation on SIMULATED low-quality skeletons
(COCO layout, per-sequence occlusion at the configuration's OP), evaluates both at OP 0
and 0.6, prints a table shaped like the paper's Table 1, and writes a report folder:
``summary.md``, ``part_matrix.png``, ``accuracy.png`` and ``sample.png`` (one test
sample in high and low quality with both students' predictions).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .config import ExperimentConfig, load_config
from .distill.part_matrix import PartMatrix
from .evaluate.changed import changed_predictions, draw_changed, test_probabilities
from .experiment import load_data, student_dir, train_student_run, train_teacher_run
from .reproduce.stats import CONVERGED_POINTS, last_quarter_gain, mean_last
from .train.api import load_module


def _table(teacher: dict, students: dict[str, dict], train_op: float, ops) -> list[str]:
    lines = ["| Methods | Skeleton | OP | Top-1 | Top-5 |", "|---|---|---|---|---|",
             f"| Teacher | human annotation | 0 | {teacher['top1']:.2f} | {teacher['top5']:.2f} |"]
    for op in ops:
        base = students["none"]["by_op"][f"{op:g}"]
        for mode, label in (("none", "Student (w/o KD)"), ("pmsc", "Student (w/ KD)")):
            r = students[mode]["by_op"][f"{op:g}"]
            gain = "" if mode == "none" else f" ({r['top1'] - base['top1']:+.2f})"
            lines.append(f"| {label} | simulated 'fast', COCO | {op:g} | {r['top1']:.2f}{gain} | "
                         f"{r['top5']:.2f} |")
    lines.append(f"\nBoth students were trained at OP {train_op:g}; OP is the occlusion "
                 "probability of the test data (per-sequence occlusion, the same occluded data "
                 "for both).")
    return lines


CONVERGED = ("One seed, one short schedule: docs/RESULTS.md measures the same comparison "
             "(Penn Action, OP 0.6) with every arm tuned on validation, trained until its "
             "validation accuracy stopped improving, over five paired seeds, with a "
             "confidence interval and a p-value (`skelkd reproduce`).")


RECORDS = Path(__file__).resolve().parents[2] / "results" / "fair"
"""The reproduction's committed records, where the package runs from a checkout."""


def converged_line(records: Path = RECORDS) -> str:
    """How the gain compares at convergence: the records' Penn Action OP 0.6 comparison
    in one line, when the records are there (a checkout), else where to find it."""
    from .reproduce import PROTOCOLS, Cell
    from .reproduce.report import converged_gain

    line = converged_gain(records, Cell("penn", "hetero", 0.6), PROTOCOLS["fair"]) \
        if records.is_dir() else None
    return CONVERGED if line is None else f"{CONVERGED} {line}"


def _trained(curve: list) -> str:
    """Whether a student finished learning: its validation accuracy at the end and how
    much the last quarter of training added (docs/RESULTS.md's convergence measure)."""

    if not curve:
        return "no validation curve"
    gain = last_quarter_gain(curve)
    state = ("-" if not np.isfinite(gain)
             else "still learning" if gain >= CONVERGED_POINTS else "converged")
    return (f"validation top-1 {mean_last(curve, 3):.2f} over the last 3 epochs; the last "
            f"quarter of training added {gain:+.2f} points ({state})")


def _accuracy_plot(teacher: dict, students: dict[str, dict], ops, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .viz.skeleton import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    width = 0.35
    x = np.arange(len(ops))
    for k, (mode, label) in enumerate((("none", "student w/o KD"), ("pmsc", "student w/ KD"))):
        vals = [students[mode]["by_op"][f"{op:g}"]["top1"] for op in ops]
        bars = ax.bar(x + (k - 0.5) * width, vals, width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.axhline(teacher["top1"], color="0.3", ls="--", lw=1,
               label=f"teacher on human joints ({teacher['top1']:.1f})")
    ax.set_xticks(x, [f"OP {op:g}" for op in ops])
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Penn Action test split, SIMULATED low-quality skeletons", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    fig.tight_layout()
    return save_figure(fig, path)


def _sample_plot(hq, lq, test, models: dict, cfg: ExperimentConfig, op: float,
                 path: Path) -> Path:
    """One test sample (among the first 200) that distillation fixed, in high and low
    quality at OP ``op``, with both students' top-1."""

    test = test[:200]
    probs = {label: test_probabilities(models[mode], lq, test, cfg, op)
             for mode, label in (("none", "w/o KD"), ("pmsc", "w/ KD"))}
    fixed, _ = changed_predictions(probs["w/o KD"], probs["w/ KD"], lq.labels[test])
    i = int(fixed[0]) if len(fixed) else 0
    return draw_changed(hq, lq, int(test[i]), {k: p[i] for k, p in probs.items()}, cfg, op,
                        path, "SIMULATED low quality")


def run_demo(out: Path, overrides: tuple[str, ...] = (), runs: Path | None = None,
             echo: Callable[[str], None] = print) -> dict:
    """Run the demo; the report goes to ``out``, the run folder under ``runs``."""

    start = time.time()
    cfg = load_config("demo", overrides)
    run_dir = (runs or out / "runs") / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "config.yaml")
    echo(f"skelkd demo: Penn Action (embedded), teacher on human-annotated joints, students on "
         f"SIMULATED low-quality skeletons ({cfg.train.epochs} epochs each, "
         f"backbone {cfg.model.backbone}, T = {cfg.input.num_frames})")
    echo("[1/4] teacher")
    teacher = train_teacher_run(cfg, run_dir)
    echo(f"      teacher top-1 {teacher['top1']:.2f} on the human-annotated test split")
    pm = PartMatrix.load(run_dir / "teacher" / "part_matrix.json")
    pm.plot(out / "part_matrix.png", "Part matrix E (Penn Action teacher)")
    students, models = {}, {}
    for step, mode in ((2, "none"), (3, "pmsc")):
        echo(f"[{step}/4] student {'without' if mode == 'none' else 'with'} part-level "
             f"distillation, trained at OP {cfg.input.occlusion:g}")
        cfg.distill.mode = mode
        students[mode] = train_student_run(cfg, run_dir)
        models[mode] = load_module(student_dir(run_dir, cfg) / "checkpoints" / "last.ckpt").model
        echo(f"      {_trained(students[mode]['val_curve'])}")
    echo("[4/4] report")
    ops = [float(op) for op in cfg.eval.ops]
    lines = _table(teacher, students, cfg.input.occlusion, ops)
    _accuracy_plot(teacher, students, ops, out / "accuracy.png")
    hq, lq, _, test = load_data(cfg, run_dir)
    _sample_plot(hq, lq, test, models, cfg, max(ops), out / "sample.png")
    seconds = time.time() - start
    lines += ["", *[f"Student {'w/o' if m == 'none' else 'w/'} KD: "
                    f"{_trained(students[m]['val_curve'])}." for m in ("none", "pmsc")],
              "", converged_line()]
    summary = ["# skelkd demo", "", *lines, "", "![part matrix](part_matrix.png)",
               "![accuracy](accuracy.png)", "![sample](sample.png)", "",
               f"Run folder: `{run_dir}`; wall time {seconds:.0f} s.",
               "Low-quality skeletons are SIMULATED from the human annotation "
               "(`skelkd simulate`, preset 'fast'), not the output of a real estimator."]
    (out / "summary.md").write_text("\n".join(summary) + "\n")
    echo("")
    for line in lines:
        echo(line)
    echo(f"\nreport: {out}/summary.md, part_matrix.png, accuracy.png, sample.png "
         f"({seconds:.0f} s)")
    return {"teacher": teacher, "students": students, "seconds": seconds}
