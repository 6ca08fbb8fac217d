"""Would the reproduction's runs be cheaper trained together? Several small models in one
process against one model at a time, on one CPU thread (how ``skelkd reproduce`` runs
each job: single-threaded, one process per core).

    python benchmarks/grouped_training.py [--group 4] [--reps 5] [--doc docs/grouped_training.md]

The performance issue lists ways to cut the CPU hours of the validated reproduction; this
measures the ones that change how the work is laid out, at the reproduction's shapes
(stgcn-tiny student, batch 32, T = 32, COCO's 17 joints, 15 classes):

1. G models as one: their parameters stacked and one training step vmapped over them
   (``torch.func``; each model keeps its own BatchNorm statistics and data), against G
   ordinary steps one after another. The benchmark first checks that the stacked step
   gives each model the loss and gradients of its own step.
2. The 9x1 temporal convolution of G models as one grouped convolution (``groups=G``)
   against G convolutions, forward and backward, at the tiny widths.
3. ``torch.compile`` of the training step against eager PyTorch (and its compile time),
   for stgcn-tiny and efficientgcn-tiny (:data:`COMPILED`).
4. GraphConv's sum over joints (a batched multiply of every frame by the stacked graph,
   ``skelkd.models.backbones.GraphConv``) against one large matrix multiply over the
   frames (permute, multiply, permute back) and against ``torch.einsum``.

Ratios above 1 favour the alternative. Printed, not asserted: the machines are noisy, so
the alternatives are interleaved round by round and each figure is a median.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from skelkd.models import ModelSpec, Recognizer

N, T, V, CLASSES = 32, 32, 17, 15
# torch.compile'd: the reproduction's backbone, and EfficientGCN's CPU-sized one, whose
# many small element-wise layers (BatchNorm, Swish, attention products) fusion could help
COMPILED = ("stgcn-tiny", "efficientgcn-tiny")


def _interleaved(fns: dict, reps: int, inner: int = 3) -> dict[str, float]:
    """Median seconds per call of each function, the functions taking turns."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - start) / inner)
    return {k: statistics.median(v) for k, v in times.items()}


def _models(group: int, backbone: str = "stgcn-tiny") -> list[Recognizer]:
    spec = ModelSpec("coco", 3, CLASSES, backbone=backbone)
    out = []
    for seed in range(group):
        torch.manual_seed(seed)
        out.append(Recognizer(spec))
    return out


def grouped_models(group: int, reps: int) -> list[str]:
    from torch.func import functional_call, stack_module_state, vmap

    models = _models(group)
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(group, N, 1, T, V, 3, generator=gen)
    ys = torch.randint(0, CLASSES, (group, N), generator=gen)
    base = copy.deepcopy(models[0])
    params, buffers = stack_module_state(models)
    params = {k: p.detach().clone().requires_grad_() for k, p in params.items()}

    def loss_of(p, b, x, y):
        return F.cross_entropy(functional_call(base, (p, b), (x,)), y)

    # equality first: the stacked step gives each model its own loss and gradients
    stacked = vmap(loss_of)(params, buffers, xs, ys)
    stacked.sum().backward()
    worst = 0.0
    for g, m in enumerate(models):
        m.zero_grad()
        loss = F.cross_entropy(m(xs[g]), ys[g])
        loss.backward()
        worst = max(worst, abs(float(loss) - float(stacked[g])))
        for name, p in m.named_parameters():
            worst = max(worst, float((p.grad - params[name].grad[g]).abs().max()))
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]
    vopt = torch.optim.SGD(list(params.values()), lr=0.01, momentum=0.9)

    def separate() -> None:
        for m, o, x, y in zip(models, opts, xs, ys, strict=True):
            o.zero_grad()
            F.cross_entropy(m(x), y).backward()
            o.step()

    def together() -> None:
        vopt.zero_grad()
        vmap(loss_of)(params, buffers, xs, ys).sum().backward()
        vopt.step()

    s = _interleaved({"separate": separate, "together": together}, reps)
    return [f"| {group} stgcn-tiny students, one step each | {group * N / s['separate']:.0f} "
            f"| {group * N / s['together']:.0f} | {s['separate'] / s['together']:.2f} | "
            f"largest difference in loss or gradient: {worst:.1e} |"]


def grouped_conv(group: int, reps: int) -> list[str]:
    rows = []
    for c in (16, 32, 64):
        torch.manual_seed(0)
        convs = [nn.Conv2d(c, c, (9, 1), padding=(4, 0)) for _ in range(group)]
        one = nn.Conv2d(group * c, group * c, (9, 1), padding=(4, 0), groups=group)
        with torch.no_grad():  # the same weights, so the outputs can be compared
            one.weight.copy_(torch.cat([k.weight for k in convs]))
            one.bias.copy_(torch.cat([k.bias for k in convs]))
        cl = torch.channels_last
        xs = [torch.randn(N, c, T, V).contiguous(memory_format=cl).requires_grad_()
              for _ in range(group)]
        xg = torch.cat([x.detach() for x in xs], 1).contiguous(memory_format=cl)
        xg.requires_grad_()
        worst = float((one(xg) - torch.cat([k(x) for k, x in zip(convs, xs, strict=True)],
                                            1)).abs().max())

        def separate(convs=convs, xs=xs) -> None:
            for k, x in zip(convs, xs, strict=True):
                k(x).sum().backward()

        def together(one=one, xg=xg) -> None:
            one(xg).sum().backward()

        s = _interleaved({"separate": separate, "together": together}, reps)
        rows.append(f"| 9x1 temporal convolution, {group} x {c} channels, forward and "
                    f"backward | {group * N / s['separate']:.0f} | {group * N / s['together']:.0f} "
                    f"| {s['separate'] / s['together']:.2f} | largest difference: {worst:.1e} |")
    return rows


def compiled_step(reps: int, backbone: str) -> list[str]:
    (model,) = _models(1, backbone)
    twin = copy.deepcopy(model)
    x, y = torch.randn(N, 1, T, V, 3), torch.randint(0, CLASSES, (N,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)
    compiled = torch.compile(twin)

    def step(m, o) -> float:
        o.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        o.step()
        return float(loss)

    start = time.perf_counter()
    first = step(compiled, topt)
    seconds = time.perf_counter() - start
    worst = abs(step(model, opt) - first)
    s = _interleaved({"eager": lambda: step(model, opt),
                      "compiled": lambda: step(compiled, topt)}, reps)
    return [f"| torch.compile'd {backbone} training step | {N / s['eager']:.0f} | "
            f"{N / s['compiled']:.0f} | {s['eager'] / s['compiled']:.2f} | compiling took "
            f"{seconds:.0f} s; first-step loss difference {worst:.1e} |"]


def joint_sum(reps: int) -> list[str]:
    rows, v, k = [], V, 3
    for c, frames in ((16, N * T), (32, N * T // 2), (64, N * T // 4)):
        torch.manual_seed(0)
        g = torch.rand(v, v * k)
        z = torch.randn(frames, v * k, c, requires_grad=True)
        fns = {
            "bmm": lambda g=g, z=z, f=frames: torch.bmm(g.expand(f, v, v * k), z),
            "gemm": lambda g=g, z=z, f=frames, c=c: (
                g @ z.permute(1, 0, 2).reshape(v * k, f * c)).view(v, f, c).permute(1, 0, 2),
            "einsum": lambda g=g, z=z: torch.einsum("wj,njc->nwc", g, z),
        }
        ref = fns["bmm"]()
        worst = max(float((fn() - ref).abs().max()) for fn in fns.values())

        def run(fn):
            def go() -> None:
                out = fn()
                out.backward(torch.ones_like(out))
            return go

        s = _interleaved({name: run(fn) for name, fn in fns.items()}, reps, inner=10)
        for alt in ("gemm", "einsum"):
            what = "one matrix multiply over the frames" if alt == "gemm" else "torch.einsum"
            rows.append(f"| sum over joints, {c} channels, {frames} frames: {what} | "
                        f"{1 / s['bmm']:.0f} | {1 / s[alt]:.0f} | {s['bmm'] / s[alt]:.2f} | "
                        f"largest difference: {worst:.1e} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", type=int, default=4, help="models trained together")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--doc", type=Path, help="also write the table to this Markdown file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [*grouped_models(args.group, args.reps), *grouped_conv(args.group, args.reps),
            *(row for b in COMPILED for row in compiled_step(args.reps, b)),
            *joint_sum(args.reps)]
    table = ["| what | one at a time / as now (per second) | together / the alternative "
             "(per second) | ratio | check |", "|---|---|---|---|---|", *rows]
    print("\n".join(table))
    if args.doc:
        from skelkd.io.files import write_text_atomic

        head = [
            "# Training several runs together: measured, not adopted", "",
            f"Generated by `python benchmarks/grouped_training.py --doc {args.doc.as_posix()}`"
            f" on {datetime.date.today()} ({platform.machine()}, torch {torch.__version__}, "
            "one thread, as each run of `skelkd reproduce`); do not edit by hand.", "",
            "Rates are samples per second (training steps and convolutions: samples of "
            "the batch; the sum over joints: calls). A ratio above 1 would make the "
            "alternative worth adopting. Each figure is the median of interleaved rounds "
            "(the machine may have been running other work; the ratios are what count).",
            ""]
        write_text_atomic(args.doc, "\n".join([*head, *table, ""]))


if __name__ == "__main__":
    main()
