"""Training and inference throughput of the models, measured side by side, against the
machine's matrix-multiply rate.

    python benchmarks/throughput.py [--config small|tiny|paper|both|all|none] [--steps 4]
                                    [--rounds 5] [--anchors DIR] [--backbones] [--doc PATH]

For each configuration: samples per second of a teacher training step (cross-entropy), a
plain student step (FP32 and BF16 autocast), the same steps with the textbook einsum
graph convolution (the before of the fused one), a distillation step (student plus
L_pmsc with the teacher's features cached, or its forward in BF16 or FP32) and the
inference of teacher and student; the distillation step's cost relative to a plain
student step; FLOPs per sample (``torch.utils.flop_counter``) and the achieved FLOP/s of
each step as a fraction of the FP32 (and BF16) matrix multiply rates measured in the same
run; where a student step's time goes, by kind of operator (``torch.profiler``); the
data pipeline's samples per second (reading, sampling, normalising, occluding,
collating) over the training rate; the paper configuration's temporal convolution alone
against the matrix-multiply rate; the peak memory; the batch-1 latency of the small
student, eager, TorchScript and ONNX. Model inputs are random tensors of the
configuration's shape. Freed memory stays in the process, as in training
(``train.keep_freed_memory``; ``benchmarks/cpu_allocator.py`` measures without it). The
models run on the GPU when there is one (the same ratios, against the GPU's
matrix-multiply rates), else on the CPU. Run on an idle machine; ``--config all`` and
``paper`` peak at about 14 GB of resident memory on a CPU (docs/performance.md).

``--backbones`` adds every named backbone (``skelkd.models.BACKBONES``) at one input
shape, the CPU configuration's (COCO joints with scores, T = 32, one person, batch 32):
parameters, FLOPs per sample, training and inference samples/s and the training step's
achieved FLOP/s over the FP32 matrix-multiply rate, so a user can pick a backbone by cost.

``--anchors DIR`` adds the reference implementations side by side (docs/anchors.md):
the original ST-GCN code (``git clone https://github.com/yysijie/st-gcn DIR/st-gcn``) and
CTR-GCN's (``git clone https://github.com/Uason-Chen/CTR-GCN DIR/CTR-GCN``), fetched by
you, never part of skelkd; each against skelkd's backbone of that family at the paper's
configuration (NTU RGB+D's 25 joints, T = 300, two persons, 60 classes), in alternating
rounds on the same input: samples/s and GFLOP/s (each model's own FLOPs, so the ratio
is at equal work although the original ST-GCN has ten blocks to ``stgcn-paper``'s nine).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from skelkd.config import TrainConfig
from skelkd.distill import pmsc_loss
from skelkd.models import BACKBONES, ModelSpec, Recognizer
from skelkd.models.stgcn import GraphConv
from skelkd.train.allocator import keep_freed_memory

CONFIGS = {
    # name: (backbone, T, M, teacher layout, teacher channels, student layout, classes, batch)
    "small": ("stgcn-small", 32, 1, "penn_action", 3, "coco", 15, 32),
    "tiny": ("stgcn-tiny", 32, 1, "penn_action", 3, "coco", 15, 32),  # skelkd reproduce
    "paper": ("stgcn-paper", 300, 2, "ntu", 3, "coco", 60, 16),
}


DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
"""Where the models run: the GPU when there is one, the CPU otherwise."""
DEFAULT_WORKERS = TrainConfig().loader_workers()  # training's default ('auto') here


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    _sync()
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync()
    return (time.perf_counter() - start) / steps


def measure(name: str, steps: int, rounds: int) -> dict:
    """Every figure of configuration ``name``: ``rounds`` rounds of ``steps`` steps each."""
    warmup = 1 if name == "paper" else 3  # a paper-configuration step takes seconds
    backbone, t, m, t_layout, t_c, s_layout, classes, batch = CONFIGS[name]
    torch.manual_seed(0)
    teacher = Recognizer(ModelSpec(t_layout, t_c, classes, m, backbone)).to(DEVICE)
    student = Recognizer(ModelSpec(s_layout, 3, classes, m, backbone)).to(DEVICE)
    xt = torch.randn(batch, m, t, teacher.layout.num_joints, t_c, device=DEVICE)
    xs = torch.randn(batch, m, t, student.layout.num_joints, 3, device=DEVICE)
    y = torch.randint(0, classes, (batch,), device=DEVICE)
    e = torch.full((classes, 5), 0.2, device=DEVICE)
    twin = torch.arange(batch, device=DEVICE)
    opt_t = torch.optim.SGD(teacher.parameters(), lr=0.01, momentum=0.9)
    opt_s = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)

    def teacher_step():
        teacher.train()
        loss = F.cross_entropy(teacher(xt), y)
        opt_t.zero_grad()
        loss.backward()
        opt_t.step()

    with torch.no_grad():
        _, _, cached_parts = teacher.eval().features(xt)  # what the teacher cache holds

    def student_step(distill: str | None = None, bf16: bool = False):
        student.train()
        with torch.autocast(DEVICE.type, torch.bfloat16, enabled=bf16):
            logits, _, parts = student.features(xs)
            loss = F.cross_entropy(logits.float(), y)
        if distill == "cached":
            loss = loss + pmsc_loss(parts.float(), cached_parts, y, y, twin, e)
        elif distill is not None:
            teacher.eval()
            with torch.no_grad(), torch.autocast(DEVICE.type, torch.bfloat16,
                                                 enabled=distill == "bf16"):
                _, _, t_parts = teacher.features(xt)
            loss = loss + pmsc_loss(parts.float(), t_parts.float(), y, y, twin, e)
        opt_s.zero_grad()
        loss.backward()
        opt_s.step()

    @torch.no_grad()
    def infer():
        student.eval()
        student(xs)

    @torch.no_grad()
    def teacher_infer():
        teacher.eval()
        teacher(xt)

    def flop_per_sample(fn) -> float:
        with FlopCounterMode(display=False) as fc:
            fn()
        return fc.get_total_flops() / batch

    out = {"config": name, "backbone": backbone, "batch": batch, "T": t, "M": m,
           "flop": {"teacher_train": flop_per_sample(teacher_step),
                    "teacher_infer": flop_per_sample(teacher_infer),
                    "student_train": flop_per_sample(student_step),
                    "student_infer": flop_per_sample(infer)}}

    def textbook(fn):
        def run():
            with textbook_graph_conv():
                fn()
        return run

    steps_fns = {"teacher_train": teacher_step, "student_train": student_step,
                 "student_train_ref": textbook(student_step),
                 "teacher_train_ref": textbook(teacher_step),
                 "student_train_bf16": lambda: student_step(bf16=True),
                 "distill_train": lambda: student_step("fp32"),
                 "distill_bf16_teacher": lambda: student_step("bf16"),
                 "distill_cached": lambda: student_step("cached"),
                 "student_infer": infer, "teacher_infer": teacher_infer}
    with data_passes(s_layout, t, m, batch, (DEFAULT_WORKERS, 2)) as (data_default, data_2w):
        passes = {"data_per_s": data_default, "data_per_s_2w": data_2w}
        for fn in [*steps_fns.values(), *passes.values()]:  # warm-up
            for _ in range(warmup):
                fn()
        # a ratio is taken within a pair measured back to back (in alternating order), and
        # reported as the median over rounds; a throughput is the median of all its
        # measurements: this host's speed wanders over minutes, so figures measured minutes
        # apart give ratios that wander too
        pairs = [("student_train", "distill_cached"), ("student_train", "distill_bf16_teacher"),
                 ("student_train", "distill_train"), ("data_per_s", "student_train"),
                 ("data_per_s", "student_train_bf16")]
        paired = {k for pair in pairs for k in pair}

        def rate(k: str) -> float:
            return passes[k]() if k in passes else batch / _time(steps_fns[k], steps, 0)

        rates: dict[str, list[float]] = {k: [] for k in [*steps_fns, *passes]}
        ratios: dict[str, list[float]] = {f"{a}/{b}": [] for a, b in pairs}
        for i in range(rounds):
            for k in rates:
                if k not in paired:
                    rates[k].append(rate(k))
            for a, b in pairs:
                first, second = (a, b) if i % 2 == 0 else (b, a)
                got = {first: rate(first), second: rate(second)}
                ratios[f"{a}/{b}"].append(got[a] / got[b])
                for k, v in got.items():
                    rates[k].append(v)
    out.update({k: float(np.median(v)) for k, v in rates.items()})
    out["ratio"] = {k: float(np.median(v)) for k, v in ratios.items()}
    out["profile"] = step_profile(student_step, 1 if name == "paper" else 5)
    return out


def every_backbone(steps: int, rounds: int, fp32: float, batch: int = 32,
                   frames: int = 32) -> list[str]:
    """One row per named backbone (``--backbones``): a training step and inference on the
    same random input, the median of ``rounds`` rounds of ``steps`` steps."""
    x = torch.randn(batch, 1, frames, 17, 3, device=DEVICE)
    y = torch.randint(0, 15, (batch,), device=DEVICE)
    rows = []
    for name in BACKBONES:
        torch.manual_seed(0)
        model = Recognizer(ModelSpec("coco", 3, 15, 1, name, coord_dims=2)).to(DEVICE)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(model=model, opt=opt):
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        def infer(model=model):
            model.eval()
            with torch.no_grad():
                model(x)

        with FlopCounterMode(display=False) as fc:
            step()
        flop = fc.get_total_flops() / batch
        train = float(np.median([batch / _time(step, steps) for _ in range(rounds)]))
        inference = float(np.median([batch / _time(infer, steps) for _ in range(rounds)]))
        params = sum(p.numel() for p in model.parameters()) / 1e6
        rows.append(f"| {name} | {params:.2f} | {flop / 1e9:.3f} | {train:.0f} | "
                    f"{inference:.0f} | {flop * train / fp32:.2f} |")
    return ["", f"Every named backbone at one input (COCO, x, y and score, T = {frames}, one "
            f"person, 15 classes, batch {batch}; median of {rounds} rounds of {steps} "
            "steps):", "", "| backbone | parameters (M) | GFLOP/sample, training step | "
            "training samples/s | inference samples/s | training FLOP/s / FP32 rate |",
            "|---|---|---|---|---|---|", *rows]


@contextlib.contextmanager
def textbook_graph_conv():
    """Inside: the graph convolution as it was before the fused one (1x1 convolution and
    einsum over contiguous NCHW tensors), for a before/after in the same process."""
    fused = GraphConv.forward
    GraphConv.forward = lambda self, x: self.reference(x.contiguous())
    try:
        yield
    finally:
        GraphConv.forward = fused


def latency(frames: int = 64, reps: int = 50) -> dict:
    """Batch-1 latency (ms, median) of the small student on a ``frames``-frame window:
    eager PyTorch, TorchScript and ONNX Runtime (export extra), same input."""
    import statistics
    import tempfile

    from skelkd.export import export_onnx, export_torchscript

    torch.manual_seed(0)
    model = Recognizer(ModelSpec("coco", 3, 15, 1, "stgcn-small", coord_dims=2)).eval()
    x = torch.randn(1, 1, frames, model.layout.num_joints, 3)

    def median_ms(fn) -> float:
        for _ in range(5):
            fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 1000 * statistics.median(times)

    out = {}
    with torch.inference_mode():
        out["eager"] = median_ms(lambda: model(x))
    with tempfile.TemporaryDirectory() as tmp:
        ts = torch.jit.load(str(export_torchscript(model, Path(tmp) / "m.pt", frames)))
        with torch.inference_mode():
            out["torchscript"] = median_ms(lambda: ts(x))
        try:
            import onnxruntime as ort

            sess = ort.InferenceSession(str(export_onnx(model, Path(tmp) / "m.onnx", frames)),
                                        providers=["CPUExecutionProvider"])
            feed = {sess.get_inputs()[0].name: x.numpy()}
            out["onnx"] = median_ms(lambda: sess.run(None, feed))
        except ImportError:
            out["onnx"] = float("nan")
    return out


ANCHORS = {
    # name: (skelkd backbone, the folder under --anchors, its model's import path)
    "ST-GCN (yysijie/st-gcn)": ("stgcn-paper", "st-gcn", "net.st_gcn"),
    "CTR-GCN (Uason-Chen/CTR-GCN)": ("ctrgcn-paper", "CTR-GCN", "model.ctrgcn"),
}


def _reference_model(folder: Path, module: str) -> torch.nn.Module:
    """The reference code's NTU RGB+D model (60 classes, 25 joints, two persons), imported
    from its own folder; it takes (N, C, T, V, M)."""
    import importlib
    import sys

    if not (folder / module.split(".")[0]).is_dir():
        raise SystemExit(f"{folder}: no {module.split('.')[0]}/ folder; clone the reference "
                         "code there (see --anchors in this script's help)")
    sys.path.insert(0, str(folder))
    mod = importlib.import_module(module)
    if module == "net.st_gcn":
        return mod.Model(3, 60, {"layout": "ntu-rgb+d", "strategy": "spatial"}, True)
    return mod.Model(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph",
                     graph_args={"labeling_mode": "spatial"})


def anchors(folder: Path, rounds: int, batch: int = 4, frames: int = 300) -> list[str]:
    """Table rows: each reference model against skelkd's backbone of its family."""
    rows = []
    for title, (backbone, sub, module) in ANCHORS.items():
        torch.manual_seed(0)
        ours = Recognizer(ModelSpec("ntu", 3, 60, num_persons=2, backbone=backbone))
        ref = _reference_model(folder / sub, module)
        rows += _side_by_side(title, backbone, ours.to(DEVICE), ref.to(DEVICE), rounds,
                              batch, frames)
    return rows


def _side_by_side(title: str, backbone: str, ours, ref, rounds: int, batch: int,
                  frames: int) -> list[str]:
    """Training (FP32 and BF16 autocast) and inference of both models on the same input,
    samples/s and GFLOP/s, in alternating rounds."""
    x = torch.randn(batch, 2, frames, 25, 3, device=DEVICE)  # (N, M, T, V, C)
    inputs = {"ours": x, "ref": x.permute(0, 4, 2, 3, 1).contiguous()}  # (N, C, T, V, M)
    models = {"ours": ours, "ref": ref}
    y = torch.randint(0, 60, (batch,), device=DEVICE)
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
            for k, m in models.items()}

    def step(k: str, bf16: bool = False):
        def run():
            models[k].train()
            with torch.autocast(DEVICE.type, torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(models[k](inputs[k]), y)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
        return run

    def infer(k: str):
        def run():
            models[k].eval()
            with torch.no_grad():
                models[k](inputs[k])
        return run

    def forward(k: str):  # inference's FLOPs: CTR-GCN's code fails under FlopCounterMode
        def run():          # with no_grad, and the count is the same without it
            models[k].eval()
            models[k](inputs[k])
        return run

    flops = {}
    for k in models:
        for kind, fn in (("train", step(k)), ("infer", forward(k))):
            with FlopCounterMode(display=False) as fc:
                fn()
            flops[(kind, k)] = fc.get_total_flops() / batch
    makers = {"train": step, "bf16": lambda k: step(k, True), "infer": infer}
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for kind, make in makers.items():
            for k in ("ours", "ref"):
                times.setdefault((kind, k), []).append(_time(make(k), 1, warmup=1))
    rows = []
    labels = {"train": "training, FP32", "bf16": "training, BF16 autocast",
              "infer": "inference, FP32"}
    for kind, label in labels.items():
        work = "infer" if kind == "infer" else "train"
        rate = {k: batch / float(np.median(times[(kind, k)])) for k in models}
        gflops = {k: rate[k] * flops[(work, k)] / 1e9 for k in models}
        rows.append(f"| {title} | {backbone} | {label} | {rate['ours']:.2f} | "
                    f"{rate['ref']:.2f} | {gflops['ours']:.1f} | {gflops['ref']:.1f} | "
                    f"{rate['ours'] / rate['ref']:.2f} | {gflops['ours'] / gflops['ref']:.2f} |")
    return rows


def machine() -> str:
    """The processor (and GPU) in words, with the number of torch CPU threads."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {torch.get_num_threads()} torch threads"
    if DEVICE.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name()}"
    return text


def matmul_rate(dtype: torch.dtype, sizes=(1024, 2048, 4096), reps: int = 5) -> float:
    """The best FLOP/s of square (n x n by n x n) matrix multiplies in ``dtype`` on this
    machine, over three routes to the same product: ``torch.mm``, ``F.linear`` and a 1x1
    convolution in channels-last memory format (n channels, n x 1 pixels). On a CPU they
    reach different libraries (BLAS for the first two, oneDNN for the convolution, which
    the backbone's convolutions use) and no one of them is the fastest everywhere: on an
    AMD EPYC, FP32 ``torch.mm`` read 0.8 of the convolution's rate. The ceiling is the
    best of all three, so no part of a step can read above it by taking another route."""
    best = 0.0
    for n in sizes:
        a = torch.randn(n, n, dtype=dtype, device=DEVICE)
        b = torch.randn(n, n, dtype=dtype, device=DEVICE)
        x = a.view(1, n, n, 1).to(memory_format=torch.channels_last)  # (1, C=n, H=n, W=1)
        w = b.view(n, n, 1, 1)
        for fn in (lambda a=a, b=b: a @ b, lambda a=a, b=b: F.linear(a, b),
                   lambda x=x, w=w: F.conv2d(x, w)):
            best = max(best, 2 * n**3 / _time(fn, reps, warmup=2))
    return best


# where a training step's time goes: aten operators by kind, as torch.profiler names them
# (CPU and CUDA) and as FlopCounterMode does
OP_KINDS = {
    "convolutions (temporal, residual 1x1)": (
        ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::cudnn_convolution",
         "aten::_convolution"), ("convolution", "convolution_backward")),
    "matrix multiplies (graph convolution's linear map, classifier)": (
        ("aten::mm", "aten::addmm"), ("mm", "addmm")),
    "batched matrix multiplies (graph convolution's sum over joints)": (("aten::bmm",),
                                                                        ("bmm",)),
    "BatchNorm": (("aten::native_batch_norm", "aten::native_batch_norm_backward",
                   "aten::cudnn_batch_norm", "aten::cudnn_batch_norm_backward"), ()),
    "ReLU and additions (residuals, biases, gradient sums)": (
        ("aten::add", "aten::add_", "aten::threshold_backward", "aten::clamp_min_",
         "aten::relu_", "aten::clamp_min"), ()),
}


def step_profile(step, steps: int) -> dict[str, tuple[float, float, float]]:
    """Where ``step``'s time goes, by kind of operator (``OP_KINDS``, the rest as
    'other'): {kind: (share of the time, share of the FLOPs, FLOP/s)}, from
    ``torch.profiler`` (self time of each aten operator: CPU time, or GPU kernel time on a
    GPU) and ``FlopCounterMode`` over the same ``steps`` steps."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    step()
    cuda = DEVICE.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        _sync()
    kind_of = {op: kind for kind, (ops, _) in OP_KINDS.items() for op in ops}
    flop_kind_of = {op: kind for kind, (_, ops) in OP_KINDS.items() for op in ops}
    seconds: dict[str, float] = {}
    for event in prof.key_averages():
        if event.device_type != DeviceType.CPU:  # a GPU kernel: counted in its aten op
            continue
        us = event.self_device_time_total if cuda else event.self_cpu_time_total
        kind = kind_of.get(event.key, "other")
        seconds[kind] = seconds.get(kind, 0.0) + us / 1e6
    with FlopCounterMode(display=False) as fc:
        for _ in range(steps):
            step()
    flops: dict[str, float] = {}
    for op, n in fc.get_flop_counts()["Global"].items():
        kind = flop_kind_of.get(getattr(op, "__name__", str(op)).split(".")[0], "other")
        flops[kind] = flops.get(kind, 0.0) + n
    total_s, total_flop = sum(seconds.values()), sum(flops.values())
    return {kind: (seconds.get(kind, 0.0) / total_s, flops.get(kind, 0.0) / total_flop,
                   flops.get(kind, 0.0) / max(seconds.get(kind, 0.0), 1e-9))
            for kind in [*OP_KINDS, "other"]}


def temporal_conv_ceiling(reps: int = 3) -> list[tuple[int, int, float, float]]:
    """FLOP/s of the paper configuration's 9x1 temporal convolution alone, forward and
    backward, at its three widths (64 channels at T = 300, 128 at 150, 256 at 75; batch
    16 x 2 persons, 25 joints): as the backbone runs it (``nn.Conv2d``, channels-last:
    oneDNN on a CPU, cuDNN on a GPU) and as one matrix multiply over the nine shifted
    copies of the input (im2col), the alternative we tried. Most of a training step's
    FLOPs are in this layer, so the step cannot reach a larger fraction of the
    matrix-multiply rate than it does. Returns (channels, T, conv, im2col) rows."""
    rows = []
    n, v, k = 32, 25, 9
    for c, t in ((64, 300), (128, 150), (256, 75)):
        flop = 3 * 2 * n * t * v * c * c * k  # forward, input gradient, weight gradient
        conv = torch.nn.Conv2d(c, c, (k, 1), padding=(k // 2, 0)).to(
            DEVICE, memory_format=torch.channels_last)
        x = torch.randn(n, c, t, v, device=DEVICE).to(memory_format=torch.channels_last)
        x.requires_grad_(True)
        w = torch.randn(k * c, c, device=DEVICE, requires_grad=True)
        xl = torch.randn(n, t, v, c, device=DEVICE, requires_grad=True)

        def step_conv(conv=conv, x=x) -> None:
            conv(x).sum().backward()

        def step_gemm(w=w, xl=xl, t=t) -> None:
            padded = F.pad(xl, (0, 0, 0, 0, k // 2, k // 2))
            cols = torch.cat([padded[:, i:i + t] for i in range(k)], dim=-1)
            (cols @ w).sum().backward()

        rows.append((c, t, flop / _time(step_conv, reps, warmup=1),
                     flop / _time(step_gemm, reps, warmup=1)))
    return rows


@contextlib.contextmanager
def data_passes(layout: str, t: int, m: int, batch: int, workers: tuple[int, ...],
                samples: int = 256):
    """Inside: for each number of loader processes in ``workers`` (0: in the training
    process, the trainer's default on a CPU), a function that runs one pass of the
    training data pipeline (a few epochs) and returns its samples per second. The data:
    ``samples`` samples of the embedded Penn Action pack, SIMULATED into ``layout`` once;
    the pipeline: read, sample T frames, normalise, occlude (OP 0.6), augment, collate.
    Worker processes start at the first pass and are kept."""
    import tempfile

    from torch.utils.data import DataLoader

    from skelkd.data import PairedDataset, Pipeline, get_preset, simulate_pack
    from skelkd.io import embedded_pack, open_pack
    from skelkd.io.pack import write_pack

    hq = embedded_pack()
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "hq.skpack"
        write_pack(sub, (hq[i] for i in range(samples)), hq.layout, hq.class_names)
        lq_path = Path(tmp) / "lq.skpack"
        simulate_pack(open_pack(sub), lq_path, get_preset("fast", target_layout=layout),
                      progress=False)
        ds = PairedDataset(open_pack(lq_path), None,
                           Pipeline(layout, t, m, train=True, occlusion=0.6, rotate_deg=10,
                                    scale_range=(0.9, 1.1)))
        epochs = 2 if t >= 300 else 16  # a pass of about half a second here

        def passes(n_workers: int):
            loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=n_workers,
                                persistent_workers=n_workers > 0)

            def one_pass() -> float:
                start = time.perf_counter()
                n = sum(len(b["label"]) for _ in range(epochs) for b in loader)
                return n / (time.perf_counter() - start)
            return one_pass

        yield tuple(passes(w) for w in workers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", choices=["small", "tiny", "paper", "both", "all", "none"],
                    default="small")
    ap.add_argument("--steps", type=int, default=4,
                    help="Steps per figure and round (the paper configuration: 1).")
    ap.add_argument("--rounds", type=int, default=5,
                    help="Rounds; each figure is the median over rounds (paper: at most 3).")
    ap.add_argument("--anchors", type=Path, default=None,
                    help="Folder holding the reference code (st-gcn/, CTR-GCN/): compare.")
    ap.add_argument("--backbones", action="store_true",
                    help="Also every named backbone at the CPU configuration's input.")
    ap.add_argument("--doc", default=None, help="Also write the table to this markdown file.")
    args = ap.parse_args()
    names = {"both": ["small", "paper"], "all": ["tiny", "small", "paper"], "none": []}.get(
        args.config, [args.config])
    # as training runs by default (train.keep_freed_memory); benchmarks/cpu_allocator.py
    # measures steps without it, in fresh processes
    kept = keep_freed_memory(TrainConfig().keep_freed_memory)
    fp32, bf16 = matmul_rate(torch.float32), matmul_rate(torch.bfloat16)
    lines = [f"Machine: {machine()}, torch {torch.__version__}, {datetime.date.today()}. "
             f"Models on {DEVICE.type}. Freed memory kept in the process (training's "
             f"default, train.keep_freed_memory): {'yes' if kept else 'no (not glibc)'}. "
             f"Best square matrix multiply (torch.mm, "
             f"F.linear or a 1x1 channels-last convolution, the fastest): FP32 "
             f"{fp32 / 1e9:.0f} GFLOP/s, BF16 {bf16 / 1e9:.0f} GFLOP/s.", "",
             "| config | backbone | batch | T | M | teacher train | teacher train, einsum | "
             "teacher inference | student train | student train, einsum | "
             "student train, BF16 | student inference |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    frac = ["", "Achieved FLOP/s (FLOPs per sample from torch.utils.flop_counter times "
            "samples/s above) over the FP32 matrix-multiply rate; the BF16 step also over the "
            "BF16 rate:", "", "| config | GFLOP/sample: teacher train, student train | "
            "teacher train | teacher inference | student train | student train, BF16 | "
            "student train, BF16 / BF16 rate | student inference |",
            "|---|---|---|---|---|---|---|---|"]
    dist = ["", "Distillation step over a plain student step (FP32 student):", "",
            "| config | teacher cached (training's default) | teacher forward BF16 | "
            "teacher forward FP32 |", "|---|---|---|---|"]
    data = ["", "Data pipeline over training (samples/s of the pipeline / of a student "
            "training step):", "", f"| config | pipeline, {DEFAULT_WORKERS} workers (default) | "
            f"2 workers | FP32 step | BF16 step ({DEFAULT_WORKERS} workers) |",
            "|---|---|---|---|---|"]
    if not names:  # the anchors and the backbones alone
        _finish(args, [lines[0], *_backbone_section(args, fp32), *_anchor_section(args)])
        return
    results = []
    for name in names:
        # a paper-configuration step takes seconds: one per round, at most three rounds
        r = (measure(name, 1, min(args.rounds, 3)) if name == "paper"
             else measure(name, args.steps, args.rounds))
        results.append((name, r))
        lines.append(
            f"| {r['config']} | {r['backbone']} | {r['batch']} | {r['T']} | {r['M']} | "
            f"{r['teacher_train']:.1f} | {r['teacher_train_ref']:.1f} | "
            f"{r['teacher_infer']:.1f} | {r['student_train']:.1f} | "
            f"{r['student_train_ref']:.1f} | {r['student_train_bf16']:.1f} | "
            f"{r['student_infer']:.1f} |")
        f = r["flop"]
        bf16_flops = r["student_train_bf16"] * f["student_train"]
        frac.append(
            f"| {name} | {f['teacher_train'] / 1e9:.2f}, {f['student_train'] / 1e9:.2f} | "
            + " | ".join(f"{r[k] * f[k] / fp32:.2f}" for k in
                         ("teacher_train", "teacher_infer", "student_train"))
            + f" | {bf16_flops / fp32:.2f} | {bf16_flops / bf16:.2f} | "
            f"{r['student_infer'] * f['student_infer'] / fp32:.2f} |")
        q = r["ratio"]
        dist.append(f"| {name} | {q['student_train/distill_cached']:.2f} | "
                    f"{q['student_train/distill_bf16_teacher']:.2f} | "
                    f"{q['student_train/distill_train']:.2f} |")
        data.append(f"| {name} | {r['data_per_s']:.0f} | {r['data_per_s_2w']:.0f} | "
                    f"{q['data_per_s/student_train']:.1f} | "
                    f"{q['data_per_s/student_train_bf16']:.1f} |")
    profiles = [(name, r["profile"]) for name, r in results]
    kinds = list(profiles[0][1])
    prof = ["", "Where an FP32 student training step's time goes (self time of the aten "
            "operators in torch.profiler, FLOPs from torch.utils.flop_counter), per config: "
            "share of the time / share of the FLOPs / the operators' FLOP/s over the FP32 "
            "matrix-multiply rate:", "",
            "| operators | " + " | ".join(name for name, _ in profiles) + " |",
            "|---|" + "---|" * len(profiles),
            *[f"| {kind} | " + " | ".join(
                f"{p[kind][0]:.0%} / {p[kind][1]:.0%} / {p[kind][2] / fp32:.2f}"
                for _, p in profiles) + " |" for kind in kinds]]
    ceiling = [] if "paper" not in names else [
        "", "The paper configuration's 9x1 temporal convolution alone, forward and backward "
        "(batch 16 x 2 persons, 25 joints), FLOP/s over the FP32 matrix-multiply rate:", "",
        "| channels | T | nn.Conv2d, channels-last (the backbone's) | one matrix multiply "
        "over unfolded frames (im2col) |", "|---|---|---|---|",
        *[f"| {c} | {t} | {a / fp32:.2f} | {b / fp32:.2f} |"
          for c, t, a, b in temporal_conv_ceiling()]]
    lat = latency()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if DEVICE.type == "cuda":
        peak_note = (f"Peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB; "
                     f"peak resident memory: {peak:.0f} MB.")
    else:
        peak_note = f"Peak resident memory: {peak:.0f} MB."
    lines += frac + dist + data + prof + ceiling + [
        "", "Batch-1 latency of the small student (stgcn-small, COCO, one person) on a 64-frame "
        "window, median of 50 runs:", "", "| eager PyTorch | TorchScript | ONNX Runtime | "
        "TorchScript speed-up | ONNX speed-up |", "|---|---|---|---|---|",
        f"| {lat['eager']:.2f} ms | {lat['torchscript']:.2f} ms | {lat['onnx']:.2f} ms | "
        f"{lat['eager'] / lat['torchscript']:.2f} | {lat['eager'] / lat['onnx']:.2f} |",
        "", "Throughputs in samples per second (training steps include the backward pass "
        f"and the optimiser), each the median of its measurements over {args.rounds} rounds "
        f"of {args.steps} steps (the paper configuration: {min(args.rounds, 3)} rounds of "
        "1 step); each ratio (distillation, data pipeline) the median over rounds of two "
        "figures measured back to back. The 'einsum' columns are the same steps with the "
        "textbook graph convolution (a 1x1 convolution, then an einsum, on NCHW tensors: "
        "skelkd before the fused, channels-last one), measured in the same process. The "
        "teacher has the paper's Kinect layout (25 joints) at the paper configuration and "
        "Penn Action's (13) otherwise; the student has COCO's (17). The latency is measured "
        f"on the CPU. {peak_note}"]
    _finish(args, lines + _backbone_section(args, fp32) + _anchor_section(args))


def _backbone_section(args, fp32: float) -> list[str]:
    """Every named backbone (``--backbones``)."""
    return every_backbone(args.steps, min(args.rounds, 3), fp32) if args.backbones else []


def _anchor_section(args) -> list[str]:
    """The reference implementations against skelkd's backbones (``--anchors``)."""
    if args.anchors is None:
        return []
    rounds = min(args.rounds, 3)
    return ["", "Reference implementations side by side (NTU RGB+D layout, batch 4, T = 300, "
            f"two persons; median of {rounds} alternating rounds of one step; ratios above 1 "
            "favour skelkd; equal work = GFLOP/s against GFLOP/s, each model's own FLOPs "
            "from torch.utils.flop_counter):", "",
            "| reference | skelkd backbone | step | skelkd samples/s | reference samples/s | "
            "skelkd GFLOP/s | reference GFLOP/s | samples/s ratio | ratio at equal work |",
            "|---|---|---|---|---|---|---|---|---|", *anchors(args.anchors, rounds)]


def _finish(args, lines: list[str]) -> None:
    text = "\n".join(lines)
    print(text)
    if args.doc:
        anchors_arg = f" --anchors {args.anchors.as_posix()}" if args.anchors else ""
        anchors_arg += " --backbones" if args.backbones else ""
        title = "Performance" if args.config != "none" else (
            "Backbones and reference implementations" if args.backbones and args.anchors
            else "Backbones" if args.backbones else "Reference implementations")
        Path(args.doc).write_text(f"# {title}\n\nGenerated by `python benchmarks/throughput.py "
                                  f"--config {args.config}{anchors_arg}`; do not edit by hand."
                                  f"\n\n{text}\n")


if __name__ == "__main__":
    main()
