"""What the reproduction's runs cost with today's code: finished runs of ``skelkd
reproduce`` trained again, side by side as the reproduction runs them, against the
seconds their ``metrics.json`` recorded.

    python benchmarks/reproduce_cost.py [--runs runs/reproduce] [--scratch runs/cost]
        [--job penn:0:hetero:0.6:none --job penn:0:hetero:0.6:pmsc ...]

Each job (dataset:seed:setting:OP:mode, a student of the ``full`` profile) is trained
again into ``--scratch`` with the same configuration and teacher, one single-threaded
process per CPU (``skelkd reproduce``'s default). Prints, per run, the recorded and the
new seconds and their ratio, then the reproduction's recorded total scaled by the mean
ratio: an estimate (students stand for teachers, whose share is about a fifth) of what
all its runs would take now, and that over this machine's CPUs, the least wall time.
Run on an idle machine; the recorded runs also went two at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from skelkd.reproduce import DATASETS, PROFILES, Job, job_config, plan, prepare_packs


def _train(job: Job, runs: Path, scratch: Path, data: Path) -> float:
    from skelkd.experiment import train_student_run

    packs = prepare_packs(data, runs, tuple(DATASETS), echo=lambda _: None)
    cfg = job_config(job, PROFILES["full"], packs)
    start = time.perf_counter()
    train_student_run(cfg, scratch / job.group() / f"seed{job.seed}", job.teacher_dir(runs))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--runs", default="runs/reproduce")
    ap.add_argument("--scratch", default="runs/cost")
    ap.add_argument("--job", action="append", default=None,
                    help="dataset:seed:setting:OP:mode (default: Penn Action seed 0, OP 0.6, "
                         "without and with L_pmsc)")
    args = ap.parse_args()
    runs, scratch = Path(args.runs), Path(args.scratch)
    jobs = []
    for text in args.job or ["penn:0:hetero:0.6:none", "penn:0:hetero:0.6:pmsc"]:
        key, seed, setting, op, mode = text.split(":")
        jobs.append(Job(key, int(seed), setting=setting, op=float(op), mode=mode))
    recorded = []
    for job in jobs:
        metrics = job.out_dir(runs) / "metrics.json"
        if not metrics.exists():
            raise SystemExit(f"{metrics}: missing; run `skelkd reproduce` first")
        recorded.append(json.loads(metrics.read_text())["seconds"])
    shutil.rmtree(scratch, ignore_errors=True)  # every run trains from scratch
    cpus = os.cpu_count() or 1
    with ProcessPoolExecutor(min(cpus, len(jobs)), mp_context=get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(1,)) as pool:
        now = list(pool.map(_train, jobs, [runs] * len(jobs), [scratch] * len(jobs),
                            [Path(args.data)] * len(jobs)))
    print("| run | recorded s | now s | now / recorded |\n|---|---|---|---|")
    for job, old, new in zip(jobs, recorded, now, strict=True):
        print(f"| {job.label()} | {old:.0f} | {new:.0f} | {new / old:.2f} |")
    ratio = sum(n / o for n, o in zip(now, recorded, strict=True)) / len(jobs)
    done = [j for j in plan(PROFILES["full"]) if (j.out_dir(runs) / "metrics.json").exists()]
    total = sum(json.loads((j.out_dir(runs) / "metrics.json").read_text())["seconds"]
                for j in done)
    print(f"\nRecorded: {len(done)} runs, {total / 3600:.2f} h of run time. At the mean "
          f"ratio {ratio:.2f}: about {total * ratio / 3600:.2f} h, at least "
          f"{total * ratio / cpus / 3600:.2f} h of wall time on this machine's {cpus} CPUs.")


if __name__ == "__main__":
    main()
