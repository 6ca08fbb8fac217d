"""Several trainings side by side on one CPU: with each process's default thread count
(every core), and with the cores shared out (one thread per process on a 2-core machine).

    python benchmarks/side_by_side.py [--config tiny|small] [--processes N]
                                      [--seconds 20] [--rounds 2] [--doc PATH]

A study, a reproduction and an experiment run as separate commands each start PyTorch
with one thread per core, so N of them ask for N times the cores. `skelkd reproduce
--workers N` shares the cores out itself (design item 36); separate commands do not:
`OMP_NUM_THREADS` (or `torch.set_num_threads`) does. This measures what that costs: for
one student training step of ``benchmarks/throughput.py``'s configuration (COCO, random
input, SGD), the samples per second of

* one process with every core's thread (torch's default), alone: the reference;
* N processes at once, each with torch's default threads;
* N processes at once, each with (cores / N) threads;

each process stepping for ``--seconds`` after its warm-up, all starting together, the
settings alternating over ``--rounds``. Printed, not asserted: the machine must be
otherwise idle for the figures to mean anything.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from cpu_allocator import CONFIGS, STEP  # noqa: E402 (this folder)

SIZES = ("tiny", "small")  # of CONFIGS: the paper configuration's steps take seconds each

CHILD = """
import json, sys, time
import torch
backbone, t, m, classes, batch, threads, start, seconds = json.loads(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
""" + STEP + """
while time.time() < start:  # warm up until every process is ready
    step()
steps, begin = 0, time.perf_counter()
while time.perf_counter() - begin < seconds:
    step()
    steps += 1
print(json.dumps({"rate": steps * batch / (time.perf_counter() - begin),
                  "threads": torch.get_num_threads()}))
"""


def run_together(name: str, threads: list[int], seconds: float) -> list[dict]:
    """One child per entry of ``threads`` (0: torch's default), started together."""
    backbone, t, m, classes, batch = CONFIGS[name]
    start = time.time() + 10 + 2 * len(threads)  # imports and warm-up before it
    procs = [subprocess.Popen(
        [sys.executable, "-c", CHILD,
         json.dumps([backbone, t, m, classes, batch, n, start, seconds])],
        stdout=subprocess.PIPE, text=True) for n in threads]
    out = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            sys.exit(f"a benchmark process failed (exit {p.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=SIZES, default="tiny")
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--doc", type=Path, default=None, help="Also write this markdown file")
    args = ap.parse_args()
    n, cores = args.processes, os.cpu_count() or 1
    shared = max(1, cores // n)
    settings = {"one process, default threads (alone)": [0],
                f"{n} processes, default threads each": [0] * n,
                f"{n} processes, {shared} thread(s) each": [shared] * n}
    got: dict[str, list[list[dict]]] = {k: [] for k in settings}
    for _ in range(args.rounds):
        for label, threads in settings.items():  # alternating: this host's speed wanders
            got[label].append(run_together(args.config, threads, args.seconds))
    ref = statistics.median(r[0]["rate"] for r in got["one process, default threads (alone)"])
    rows = ["| setting | threads per process | samples/s per process | all processes "
            "together | together / one alone |", "|---|---|---|---|---|"]
    for label, rounds in got.items():
        total = statistics.median(sum(r["rate"] for r in rs) for rs in rounds)
        per = " / ".join(", ".join(f"{r['rate']:.0f}" for r in rs) for rs in rounds)
        rows.append(f"| {label} | {rounds[0][0]['threads']} | {per} | {total:.0f} | "
                    f"{total / ref:.2f} |")
    default = statistics.median(sum(r["rate"] for r in rs)
                                for rs in got[f"{n} processes, default threads each"])
    split = statistics.median(sum(r["rate"] for r in rs)
                              for rs in got[f"{n} processes, {shared} thread(s) each"])
    text = "\n".join([
        f"Machine: {platform.machine()}, {cores} CPUs, torch {torch.__version__}, "
        f"{datetime.date.today()}. A `{args.config}` student training step "
        f"({CONFIGS[args.config][0]}, batch {CONFIGS[args.config][4]}), each process "
        f"stepping {args.seconds:g} s after its warm-up, all starting together; "
        f"{args.rounds} rounds (separated by /; within a round, one figure per process).",
        "", *rows, "",
        f"{n} processes side by side: {split / default:.2f}x the samples/s with the cores "
        "shared out as with every process on torch's default threads."])
    print(text)
    if args.doc:
        from skelkd.io.files import write_text_atomic

        write_text_atomic(args.doc, "\n".join([
            "# Trainings side by side on one CPU", "",
            f"Generated by `python benchmarks/side_by_side.py --config {args.config} "
            f"--processes {n} --seconds {args.seconds:g} --rounds {args.rounds} --doc "
            f"{args.doc.as_posix()}`; do not edit by hand. What it means for running a "
            "study, a reproduction or an experiment beside another: give each command "
            f"the cores over the processes (here `--set train.threads={shared}`, or "
            f"`OMP_NUM_THREADS={shared}`); `skelkd reproduce --workers N` does so for its "
            "own workers.", "", text, ""]))


if __name__ == "__main__":
    main()
