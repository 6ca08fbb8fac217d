"""Training and inference throughput of the models, measured side by side, against the
machine's matrix-multiply rate.

    python benchmarks/throughput.py [--config small|paper|both] [--steps 20] [--doc PATH]

For each configuration: samples per second of a teacher training step (cross-entropy),
a plain student step, a distillation step (student plus the frozen teacher's forward
and L_pmsc, without the teacher cache) and inference; the distillation step's cost
relative to a plain student step; FLOPs per sample (``torch.utils.flop_counter``) and
the achieved FLOP/s of a training step as a fraction of the FP32 and BF16 matrix
multiply rates measured in the same run; the data pipeline's samples per second
(reading, sampling, normalising, occluding, collating) over the training rate; and the
peak resident memory. Model inputs are random tensors of the configuration's shape.
Run on an idle machine.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

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
    with FlopCounterMode(display=False) as fc:
        student_step(False)
    out["train_flop_per_sample"] = fc.get_total_flops() / batch
    with FlopCounterMode(display=False) as fc:
        infer()
    out["infer_flop_per_sample"] = fc.get_total_flops() / batch
    out["teacher_train"] = batch / _time(teacher_step, steps)
    out["student_train"] = batch / _time(lambda: student_step(False), steps)
    out["distill_train"] = batch / _time(lambda: student_step(True), steps)
    out["student_infer"] = batch / _time(infer, steps)
    out["distill_over_plain"] = out["student_train"] / out["distill_train"]
    out["data_per_s"] = data_rate(s_layout, t, m, batch)
    return out


def matmul_rate(dtype: torch.dtype, sizes=(1024, 2048, 4096), reps: int = 5) -> float:
    """The best FLOP/s of square matrix multiplies in ``dtype`` on this machine."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        best = max(best, 2 * n**3 / _time(lambda a=a, b=b: a @ b, reps, warmup=2))
    return best


def data_rate(layout: str, t: int, m: int, batch: int, samples: int = 256) -> float:
    """Samples per second of the training data pipeline on the embedded Penn Action pack
    (SIMULATED into ``layout``): read, sample T frames, normalise, occlude (OP 0.6),
    augment, collate; one process, as the trainer's default."""
    import tempfile

    from torch.utils.data import DataLoader

    from skelkd.data import PairedDataset, Pipeline, get_preset, simulate_pack
    from skelkd.io import embedded_pack, open_pack

    hq = embedded_pack()
    with tempfile.TemporaryDirectory() as tmp:
        idx = np.arange(samples)
        sub = Path(tmp) / "hq.skpack"
        from skelkd.io.pack import write_pack

        write_pack(sub, (hq[int(i)] for i in idx), hq.layout, hq.class_names)
        lq_path = Path(tmp) / "lq.skpack"
        simulate_pack(open_pack(sub), lq_path, get_preset("fast", target_layout=layout),
                      progress=False)
        ds = PairedDataset(open_pack(lq_path), None,
                           Pipeline(layout, t, m, train=True, occlusion=0.6, rotate_deg=10,
                                    scale_range=(0.9, 1.1)))
        loader = DataLoader(ds, batch_size=batch, shuffle=True)
        start = time.perf_counter()
        n = sum(len(b["label"]) for b in loader)
        return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=["small", "paper", "both"], default="small")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--doc", default=None, help="Also write the table to this markdown file.")
    args = ap.parse_args()
    names = ["small", "paper"] if args.config == "both" else [args.config]
    fp32, bf16 = matmul_rate(torch.float32), matmul_rate(torch.bfloat16)
    lines = [f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch "
             f"{torch.__version__}, {datetime.date.today()}. Best square matrix multiply: FP32 "
             f"{fp32 / 1e9:.0f} GFLOP/s, BF16 {bf16 / 1e9:.0f} GFLOP/s.", "",
             "| config | backbone | batch | T | M | GFLOP/sample (train) | teacher train | "
             "student train | distill train | student inference | distill / plain | "
             "train FLOP/s / FP32 | / BF16 | data / train |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        r = measure(name, args.steps if name == "small" else max(2, args.steps // 10))
        achieved = r["student_train"] * r["train_flop_per_sample"]
        lines.append(
            f"| {r['config']} | {r['backbone']} | {r['batch']} | {r['T']} | {r['M']} | "
            f"{r['train_flop_per_sample'] / 1e9:.2f} | {r['teacher_train']:.1f} | "
            f"{r['student_train']:.1f} | {r['distill_train']:.1f} | {r['student_infer']:.1f} | "
            f"{r['distill_over_plain']:.2f} | {achieved / fp32:.2f} | {achieved / bf16:.2f} | "
            f"{r['data_per_s'] / r['student_train']:.1f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += ["", "Throughputs in samples per second (training steps include the backward pass "
              "and the optimiser). 'distill / plain' is the time of a distillation step (teacher "
              "forward included, no cache) over a plain student step. 'train FLOP/s / FP32' is "
              "the student training step's achieved FLOP/s over the FP32 matrix-multiply rate. "
              "'data / train' is the data pipeline's rate (one process, OP 0.6, augmentation) "
              f"over the student's training rate. Peak resident memory: {peak:.0f} MB."]
    text = "\n".join(lines)
    print(text)
    if args.doc:
        Path(args.doc).write_text("# Performance\n\nGenerated by `python benchmarks/throughput.py "
                                  f"--config {args.config}`; do not edit by hand.\n\n{text}\n")


if __name__ == "__main__":
    main()
