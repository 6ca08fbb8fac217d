"""Training and inference throughput of the models, measured side by side.

    python benchmarks/throughput.py [--config small|paper|both] [--steps 20]

For each configuration: samples per second of a teacher training step (cross-entropy),
a plain student step, a distillation step (student plus the frozen teacher's forward
and L_pmsc), and inference; and the distillation step's cost relative to a plain
student step. Inputs are random tensors of the configuration's shape, so the data
pipeline is not included (it is measured separately). Run on an idle machine.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from skelkd.distill import pmsc_loss
from skelkd.models import ModelSpec, Recognizer

CONFIGS = {
    # name: (backbone, T, M, teacher layout, teacher channels, student layout, classes, batch)
    "small": ("stgcn-small", 32, 1, "penn_action", 3, "coco", 15, 32),
    "paper": ("stgcn-paper", 300, 2, "ntu", 3, "coco", 60, 16),
}


def _time(fn, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def measure(name: str, steps: int) -> dict:
    backbone, t, m, t_layout, t_c, s_layout, classes, batch = CONFIGS[name]
    torch.manual_seed(0)
    teacher = Recognizer(ModelSpec(t_layout, t_c, classes, m, backbone))
    student = Recognizer(ModelSpec(s_layout, 3, classes, m, backbone))
    xt = torch.randn(batch, m, t, teacher.layout.num_joints, t_c)
    xs = torch.randn(batch, m, t, student.layout.num_joints, 3)
    y = torch.randint(0, classes, (batch,))
    e = torch.full((classes, 5), 0.2)
    twin = torch.arange(batch)
    opt_t = torch.optim.SGD(teacher.parameters(), lr=0.01, momentum=0.9)
    opt_s = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)

    def teacher_step():
        teacher.train()
        loss = F.cross_entropy(teacher(xt), y)
        opt_t.zero_grad()
        loss.backward()
        opt_t.step()

    def student_step(distill: bool):
        student.train()
        logits, _, parts = student.features(xs)
        loss = F.cross_entropy(logits, y)
        if distill:
            teacher.eval()
            with torch.no_grad():
                _, _, t_parts = teacher.features(xt)
            loss = loss + pmsc_loss(parts, t_parts, y, y, twin, e)
        opt_s.zero_grad()
        loss.backward()
        opt_s.step()

    @torch.no_grad()
    def infer():
        student.eval()
        student(xs)

    out = {"config": name, "backbone": backbone, "batch": batch, "T": t, "M": m}
    out["teacher_train"] = batch / _time(teacher_step, steps)
    out["student_train"] = batch / _time(lambda: student_step(False), steps)
    out["distill_train"] = batch / _time(lambda: student_step(True), steps)
    out["student_infer"] = batch / _time(infer, steps)
    out["distill_over_plain"] = out["student_train"] / out["distill_train"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=["small", "paper", "both"], default="small")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    names = ["small", "paper"] if args.config == "both" else [args.config]
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    print("| config | backbone | batch | T | M | teacher train | student train | "
          "distill train | student inference | distill / plain step |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = measure(name, args.steps if name == "small" else max(2, args.steps // 5))
        print(f"| {r['config']} | {r['backbone']} | {r['batch']} | {r['T']} | {r['M']} | "
              f"{r['teacher_train']:.1f} | {r['student_train']:.1f} | {r['distill_train']:.1f} "
              f"| {r['student_infer']:.1f} | {r['distill_over_plain']:.2f} |")
    print("(samples per second; the last column is the time of a distillation step over a "
          "plain student step)")


if __name__ == "__main__":
    main()
