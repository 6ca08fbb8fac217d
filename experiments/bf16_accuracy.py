"""BF16 against FP32: the same trained students evaluated both ways, and the demo's student
trained both ways.

    python experiments/bf16_accuracy.py [MODEL_DIR ...] [--ops 0.6] [--train-seeds 0 1]
        [--runs runs/bf16_check] [--set KEY=VALUE ...] [--doc docs/bf16.md]

Inference: by default the reproduction's Penn Action students at OP 0.6 (``skelkd
reproduce``; runs/reproduce/penn/seed*/student-*-op0.6). The test set, its occlusion and
the weights are identical in both columns, so every difference is the reduced
precision's.

Training (``--train-seeds``): the demo's configuration (``skelkd demo``: Penn Action,
stgcn-small, L_pmsc at OP 0.6) trained with ``train.precision=32-true`` and with
``bf16-mixed`` (Lightning's BF16 autocast) for each seed, from one FP32 teacher. Two
trainings of one seed differ by more than precision (rounding changes every later
step), so the seed-to-seed spread of FP32 is printed beside the differences. Finished
runs are kept. Run from the repository root.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from skelkd.config import load_config
from skelkd.experiment import load_data, student_dir, train_student_run, train_teacher_run
from skelkd.train.api import evaluate_at, load_module
from skelkd.train.modules import StudentModule


def evaluate_both(folder: Path, ops: list[float]) -> dict:
    module = load_module(folder)
    model = module.model
    cfg = load_config(folder / "config.yaml")
    hq, lq, _, _ = load_data(cfg, folder.parent)
    data = lq if isinstance(module, StudentModule) else hq
    idx = data.split_indices(cfg.data.split, cfg.data.test_subset)
    out = {}
    for op in ops:
        fp32 = evaluate_at(model, data, idx, cfg, op)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = evaluate_at(model, data, idx, cfg, op)
        out[op] = (fp32["top1"], bf16["top1"], len(idx))
    return out


def train_both(seeds: list[int], runs: Path, overrides: list[str]) -> list[str]:
    """The demo's student in FP32 and BF16-mixed per seed; table rows (OP 0 and 0.6)."""
    import json

    import numpy as np

    def cfg_for(precision: str, seed: int):
        return load_config("demo", ["name=bf16-check", "train.progress=false",
                                    f"train.seed={seed}", f"train.precision={precision}",
                                    *overrides])

    teacher_dir = runs / "teacher"
    if not (teacher_dir / "metrics.json").exists():
        train_teacher_run(cfg_for("32-true", 0), runs)
    rows, diffs, fp32 = [], {}, {}
    for seed in seeds:
        res = {}
        for precision in ("32-true", "bf16-mixed"):
            cfg = cfg_for(precision, seed)
            run_dir = runs / f"{precision}-seed{seed}"
            metrics = student_dir(run_dir, cfg) / "metrics.json"
            r = (json.loads(metrics.read_text()) if metrics.exists()
                 else train_student_run(cfg, run_dir, teacher_dir))
            res[precision] = {op: v["top1"] for op, v in r["by_op"].items()}
        for op in sorted(res["32-true"]):
            a, b = res["32-true"][op], res["bf16-mixed"][op]
            diffs.setdefault(op, []).append(b - a)
            fp32.setdefault(op, []).append(a)
            rows.append(f"| {seed} | {op} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
            print(rows[-1], flush=True)
    for op in sorted(diffs):
        spread = (f"{np.std(fp32[op], ddof=1):.2f}" if len(fp32[op]) > 1 else "-")
        rows.append(f"| mean | {op} | {np.mean(fp32[op]):.2f} (seed s.d. {spread}) | "
                    f"{np.mean(fp32[op]) + np.mean(diffs[op]):.2f} | "
                    f"{np.mean(diffs[op]):+.2f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="trained run folders to evaluate both ways")
    ap.add_argument("--ops", type=float, nargs="+", default=[0.6])
    ap.add_argument("--train-seeds", type=int, nargs="*", default=[])
    ap.add_argument("--runs", default="runs/bf16_check", help="where the training check runs")
    ap.add_argument("--set", action="append", default=[], dest="overrides",
                    help="extra configuration overrides of the training check")
    ap.add_argument("--doc", default=None)
    args = ap.parse_args()
    models = [Path(r) for r in args.models] or sorted(
        Path("runs/reproduce/penn").glob("seed*/student-*-op0.6"))
    if not models:
        raise SystemExit("no runs given and none under runs/reproduce/penn: run "
                         "`skelkd reproduce` first or name run folders")
    rows = ["| model | test OP | samples | top-1 FP32 | top-1 BF16 autocast | difference |",
            "|---|---|---|---|---|---|"]
    for folder in models:
        for op, (a, b, n) in evaluate_both(folder, args.ops).items():
            rows.append(f"| {folder} | {op:g} | {n} | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
            print(rows[-1], flush=True)
    text = ["# BF16 against FP32", "", "Generated by `python experiments/bf16_accuracy.py"
            + (f" --train-seeds {' '.join(map(str, args.train_seeds))}"
               if args.train_seeds else "") + "`; do not edit by hand.", "",
            "## Inference: the same weights and test data, FP32 and BF16 autocast", "", *rows,
            ""]
    if args.train_seeds:
        text += ["## Training: the demo's student (stgcn-small, L_pmsc, OP 0.6), FP32 and "
                 "BF16-mixed, one FP32 teacher", "",
                 "| seed | test OP | top-1 FP32 | top-1 BF16-mixed | difference |",
                 "|---|---|---|---|---|", *train_both(args.train_seeds, Path(args.runs),
                                                      args.overrides), ""]
    text = "\n".join(text)
    if args.doc:
        Path(args.doc).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
