"""Which form GraphConv should take: the linear map first (then the sum over joints) or
the sum over joints first (then the linear map), measured side by side; and a third form
measured and not adopted, one product with the Kronecker product of graph and weights.

    python benchmarks/graph_conv_order.py [--reps 5] [--threads 1] [--doc PATH]

Times a forward and backward pass of one GraphConv at the paper configuration's block
shapes (batch 16 x 2 persons, COCO's 17 joints, 3 subsets), in both orders, and a whole
training step of stgcn-paper and stgcn-tiny with the rule skelkd uses (joints first when
C_out >= AGGREGATE_FIRST * C_in) against the linear map first everywhere.

Then the one product (:func:`one_product`, issue 22): each frame's (V*C_in) vector times
``sum_k G_k (x) W_k``, a (V*C_in, V*C_out) matrix built from the parameters at every call:
one large matrix multiply in place of two small ones, for V*C_in / (K*(C_in + V)) times
the FLOPs. Measured for one GraphConv at the tiny backbones' shapes (batch 32, T = 32
halved as their strides halve it) for several joint counts, and for whole training steps
of the tiny backbones with the one product wherever it costs at most ``KRONECKER_MAX``
times the FLOPs, each against skelkd's GraphConv; the largest difference of outputs and
gradients is printed beside. ``--threads``: torch's threads (1, as each run of ``skelkd
reproduce``). Printed, not asserted: these machines are noisy, so the forms are
interleaved and each figure is the median of ``--reps`` runs.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import skelkd.models.stgcn as stgcn
from skelkd.io.files import write_text_atomic
from skelkd.layouts import get_layout
from skelkd.layouts.graph import spatial_partition
from skelkd.models import ModelSpec, Recognizer

NEVER = 10**9  # an AGGREGATE_FIRST that no layer reaches: the linear map first everywhere


def _median_s(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _training_step(backbone: str, layout: str, batch: int, t: int, m: int, classes: int):
    """One SGD training step (forward, cross-entropy, backward) of a fresh recogniser on a
    fixed random batch of ``layout``'s joints with scores."""
    torch.manual_seed(0)
    model = Recognizer(ModelSpec(layout, 3, classes, m, backbone))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, m, t, get_layout(layout).num_joints, 3)
    y = torch.randint(0, classes, (batch,))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def layer_table(reps: int) -> list[str]:
    rows = ["| C_in | C_out | T | linear map first (ms) | joints first (ms) | ratio |",
            "|---|---|---|---|---|---|"]
    adjacency = torch.rand(3, 17, 17)
    for cin, cout, t in [(3, 64, 300), (64, 64, 300), (64, 128, 300), (128, 128, 150),
                         (256, 256, 75)]:
        torch.manual_seed(0)
        gc = stgcn.GraphConv(cin, cout, adjacency, edge_importance=True)
        x = torch.randn(32, cin, t, 17).contiguous(memory_format=torch.channels_last)
        ms = {}
        for order in (NEVER, 1, NEVER, 1):  # interleaved; the second of each counts
            stgcn.AGGREGATE_FIRST = order
            ms[order] = 1000 * _median_s(lambda gc=gc, x=x: gc(x).square().mean().backward(), reps)
        rows.append(f"| {cin} | {cout} | {t} | {ms[NEVER]:.0f} | {ms[1]:.0f} | "
                    f"{ms[NEVER] / ms[1]:.2f} |")
    return rows


def step_table(reps: int) -> list[str]:
    rows = ["| backbone | batch | T | M | linear map first (samples/s) | skelkd's rule "
            "(samples/s) | speed-up |", "|---|---|---|---|---|---|---|"]
    for backbone, batch, t, m in [("stgcn-tiny", 32, 32, 1), ("stgcn-paper", 16, 300, 2)]:
        step = _training_step(backbone, "coco", batch, t, m, 60)
        rate = {}
        for order in (NEVER, 4, NEVER, 4):
            stgcn.AGGREGATE_FIRST = order
            rate[order] = batch / _median_s(step, reps if t < 300 else max(2, reps // 2))
        rows.append(f"| {backbone} | {batch} | {t} | {m} | {rate[NEVER]:.2f} | {rate[4]:.2f} "
                    f"| {rate[4] / rate[NEVER]:.2f} |")
    return rows


KRONECKER_MAX = 3.0
"""The whole-step measurement takes the one product where its FLOPs are at most this many
times the two-step form's (about where one GraphConv's speed-up falls below 1)."""


def kronecker_ratio(cin: int, joints: int, subsets: int = 3) -> float:
    """The one product's FLOPs over the two-step form's."""
    return joints * cin / (subsets * (cin + joints))


def one_product(gc: stgcn.GraphConv, x: torch.Tensor) -> torch.Tensor:
    """``gc``'s output (ST-GCN's Eq. 10, as :meth:`skelkd.models.stgcn.GraphConv.forward`)
    as one matrix multiply of each frame's joints and channels by
    ``m[(v, c), (w, o)] = sum_k G_k[v, w] W_k[o, c]``."""
    n, c, t, v = x.shape
    k, cout = gc.k, gc.cout
    g = gc.graph()
    m = torch.einsum("kvw,koc->vcwo", g, gc.conv.weight.view(k, cout, c))
    out = (x.permute(0, 2, 3, 1).reshape(n * t, v * c) @ m.reshape(v * c, v * cout))
    out = out.view(n * t, v, cout) + g.sum(1).t() @ gc.conv.bias.view(k, cout)
    return out.view(n, t, v, cout).permute(0, 3, 1, 2)


PLAIN_FORWARD = stgcn.GraphConv.forward


def _rule_forward(gc: stgcn.GraphConv, x: torch.Tensor) -> torch.Tensor:
    if kronecker_ratio(x.shape[1], x.shape[3], gc.k) <= KRONECKER_MAX:
        return one_product(gc, x)
    return PLAIN_FORWARD(gc, x)


def _largest_difference(fa, fb, params: list[torch.Tensor]) -> float:
    """The largest absolute difference of two forms' outputs and gradients."""
    outs = []
    for f in (fa, fb):
        y = f()
        outs.append([y.detach(), *torch.autograd.grad(y.square().mean(), params)])
    return max(float((p - q).abs().max()) for p, q in zip(*outs, strict=True))


def kronecker_layer_table(reps: int) -> list[str]:
    rows = ["| joints (layout) | C_in | C_out | T | FLOPs of the one product / two-step | "
            "skelkd (ms) | one product (ms) | speed-up | largest difference |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name in ("penn_action", "coco", "nw_ucla", "ntu"):
        adjacency = torch.from_numpy(spatial_partition(get_layout(name))).float()
        v = adjacency.shape[-1]
        for cin, cout, t in [(3, 16, 32), (16, 16, 32), (16, 32, 32), (32, 32, 16),
                             (32, 64, 16)]:
            torch.manual_seed(0)
            gc = stgcn.GraphConv(cin, cout, adjacency, edge_importance=True)
            x = torch.randn(32, cin, t, v).contiguous(memory_format=torch.channels_last)
            x.requires_grad_(True)
            forms = {"skelkd": lambda gc=gc, x=x: gc(x),
                     "one": lambda gc=gc, x=x: one_product(gc, x)}
            ms = {}
            for form in ("skelkd", "one", "skelkd", "one"):  # interleaved
                ms[form] = 1000 * _median_s(lambda f=forms[form]: f().square().mean().backward(),
                                            reps)
            diff = _largest_difference(forms["skelkd"], forms["one"],
                                       [x, *gc.parameters()])
            rows.append(f"| {v} ({name}) | {cin} | {cout} | {t} | "
                        f"{kronecker_ratio(cin, v):.2f} | {ms['skelkd']:.2f} | {ms['one']:.2f} "
                        f"| {ms['skelkd'] / ms['one']:.2f} | {diff:.1e} |")
    return rows


def kronecker_step_table(reps: int) -> list[str]:
    rows = ["| backbone | layout | batch | T | skelkd (samples/s) | one product where its "
            f"FLOPs are at most {KRONECKER_MAX} times (samples/s) | speed-up |",
            "|---|---|---|---|---|---|---|"]
    for backbone in ("stgcn-tiny", "efficientgcn-tiny"):
        for name in ("penn_action", "coco", "nw_ucla"):
            step = _training_step(backbone, name, 32, 32, 1, 15)
            sec = {}
            try:
                for form in ("skelkd", "one", "skelkd", "one"):  # interleaved
                    stgcn.GraphConv.forward = PLAIN_FORWARD if form == "skelkd" else _rule_forward
                    sec[form] = _median_s(step, reps)
            finally:
                stgcn.GraphConv.forward = PLAIN_FORWARD
            rows.append(f"| {backbone} | {name} ({get_layout(name).num_joints} joints) | 32 | 32 | "
                        f"{32 / sec['skelkd']:.1f} | {32 / sec['one']:.1f} | "
                        f"{sec['skelkd'] / sec['one']:.2f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--doc", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    default = stgcn.AGGREGATE_FIRST
    try:
        text = ["GraphConv forward and backward, median of "
                f"{args.reps}, the two orders:", "", *layer_table(args.reps), "",
                "Training step (forward, backward, SGD), the two orders:", "",
                *step_table(args.reps)]
    finally:
        stgcn.AGGREGATE_FIRST = default
    text += ["", "GraphConv forward and backward at the tiny backbones' shapes, skelkd's "
             f"form against the one product (median of {args.reps}):", "",
             *kronecker_layer_table(args.reps), "",
             "Training step of the tiny backbones (forward, backward, SGD), skelkd's "
             "GraphConv against the one product where it costs at most "
             f"{KRONECKER_MAX} times the FLOPs:", "", *kronecker_step_table(args.reps)]
    print("\n".join(text))
    if args.doc:
        write_text_atomic(args.doc, "\n".join([
            "# The graph convolution's form", "",
            f"Generated by `python benchmarks/graph_conv_order.py --reps {args.reps} "
            f"--threads {args.threads} --doc {args.doc.as_posix()}` on "
            f"{datetime.date.today()} ({platform.machine()}, torch {torch.__version__}, "
            f"{args.threads} thread(s)); do not edit by hand. Ratios above 1 favour the "
            "second column.", "", *text, ""]))


if __name__ == "__main__":
    main()
