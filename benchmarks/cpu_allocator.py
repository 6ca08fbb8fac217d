"""A training step with and without ``train.keep_freed_memory`` (glibc keeping freed
memory in the process instead of handing large blocks back to the kernel), each in a
fresh process, since the setting is process-wide.

    python benchmarks/cpu_allocator.py [--config tiny|small|paper|all] [--steps 3]
                                       [--rounds 2] [--doc PATH]

For each configuration of ``benchmarks/throughput.py`` (the student: COCO, random input
of the configuration's shape, SGD), one process per setting and round, alternating the
settings: samples per second of a training step (median over ``--steps`` after two
warm-up steps), minor page faults and kernel (system) CPU seconds per step, and the
process's peak resident memory. Printed, not asserted. Linux with glibc only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import torch

CONFIGS = {  # name: (backbone, T, M, classes, batch), as benchmarks/throughput.py
    "tiny": ("stgcn-tiny", 32, 1, 15, 32),
    "small": ("stgcn-small", 32, 1, 15, 32),
    "paper": ("stgcn-paper", 300, 2, 60, 16),
}

# a child process's student training step, ``step()``, on random input of the shape
# ``backbone, t, m, classes, batch`` (defined before it) give: shared with side_by_side.py
STEP = """
import torch, torch.nn.functional as F
from skelkd.models import ModelSpec, Recognizer
torch.manual_seed(0)
model = Recognizer(ModelSpec("coco", 3, classes, m, backbone))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(batch, m, t, 17, 3), torch.randint(0, classes, (batch,))
def step():
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

CHILD = """
import json, resource, statistics, sys, time
import torch, torch.nn.functional as F
from skelkd.models import ModelSpec, Recognizer
from skelkd.train.allocator import keep_freed_memory
backbone, t, m, classes, batch, keep, steps = json.loads(sys.argv[1])
took = keep_freed_memory(keep)
""" + STEP + """
for _ in range(2):
    step()
seconds, faults, system = [], [], []
for _ in range(steps):
    r0, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    step()
    seconds.append(time.perf_counter() - start)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    faults.append(r1.ru_minflt - r0.ru_minflt)
    system.append(r1.ru_stime - r0.ru_stime)
print(json.dumps({"took": took, "rate": batch / statistics.median(seconds),
                  "faults": statistics.median(faults), "system": statistics.median(system),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(name: str, keep: bool, steps: int) -> dict:
    backbone, t, m, classes, batch = CONFIGS[name]
    arg = json.dumps([backbone, t, m, classes, batch, keep, steps])
    out = subprocess.run([sys.executable, "-c", CHILD, arg], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), platform.machine())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=[*CONFIGS, "all"], default="all")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--doc", default=None, help="Also write the table to this markdown file.")
    args = ap.parse_args()
    names = list(CONFIGS) if args.config == "all" else [args.config]
    rows = ["| config | setting | samples/s | minor page faults per step | kernel CPU s per "
            "step | peak resident MB |", "|---|---|---|---|---|---|"]
    speedups = []
    for name in names:
        results = {False: [], True: []}
        for _ in range(args.rounds):
            for keep in (False, True):  # alternating: this host's speed wanders
                r = run(name, keep, args.steps if name == "paper" else 10 * args.steps)
                if keep and not r["took"]:
                    sys.exit("keep_freed_memory had no effect: the C library is not glibc")
                results[keep].append(r)
        for keep, label in ((False, "glibc's default"), (True, "keep_freed_memory (default)")):
            rs = results[keep]
            rows.append(f"| {name} | {label} | "
                        + " / ".join(f"{r['rate']:.2f}" for r in rs) + " | "
                        + " / ".join(f"{r['faults']:.0f}" for r in rs) + " | "
                        + " / ".join(f"{r['system']:.2f}" for r in rs) + " | "
                        + " / ".join(f"{r['peak_mb']:.0f}" for r in rs) + " |")
        ratio = [k["rate"] / d["rate"] for d, k in zip(results[False], results[True],
                                                       strict=True)]
        speedups.append(f"{name} " + " / ".join(f"{s:.2f}" for s in ratio))
    text = "\n".join([
        f"Machine: {cpu_name()}, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}, {datetime.date.today()}. "
        f"One fresh process per cell, {args.rounds} rounds (separated by /), the two "
        "settings alternating; a student training step (COCO, random input, SGD), median "
        f"of {args.steps} steps at the paper configuration and {10 * args.steps} otherwise, "
        "after two warm-up steps.", "", *rows, "",
        "Speed-up of keeping freed memory, round by round: " + "; ".join(speedups) + "."])
    print(text)
    if args.doc:
        Path(args.doc).write_text(
            "# Keeping freed memory in the training process\n\nGenerated by `python "
            f"benchmarks/cpu_allocator.py --config {args.config}`; do not edit by hand. "
            "What it measures: `src/skelkd/train/allocator.py`.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
