"""Which order GraphConv should take: the linear map first (then the sum over joints) or
the sum over joints first (then the linear map), measured side by side.

    python benchmarks/graph_conv_order.py [--reps 5]

Times a forward and backward pass of one GraphConv at the paper configuration's block
shapes (batch 16 x 2 persons, COCO's 17 joints, 3 subsets), in both orders, and a whole
training step of stgcn-paper and stgcn-tiny with the rule skelkd uses (joints first when
C_out >= AGGREGATE_FIRST * C_in) against the linear map first everywhere. Printed, not
asserted: these machines are noisy, so the two are interleaved and each figure is the
median of ``--reps`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import skelkd.models.stgcn as stgcn
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
        torch.manual_seed(0)
        model = Recognizer(ModelSpec("coco", 3, 60, m, backbone))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = torch.randn(batch, m, t, 17, 3), torch.randint(0, 60, (batch,))

        def step(model=model, opt=opt, x=x, y=y) -> None:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        rate = {}
        for order in (NEVER, 4, NEVER, 4):
            stgcn.AGGREGATE_FIRST = order
            rate[order] = batch / _median_s(step, reps if t < 300 else max(2, reps // 2))
        rows.append(f"| {backbone} | {batch} | {t} | {m} | {rate[NEVER]:.2f} | {rate[4]:.2f} "
                    f"| {rate[4] / rate[NEVER]:.2f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    default = stgcn.AGGREGATE_FIRST
    try:
        print("\n".join(["GraphConv forward and backward, median of "
                         f"{args.reps}:", "", *layer_table(args.reps), "",
                         "Training step (forward, backward, SGD):", "",
                         *step_table(args.reps)]))
    finally:
        stgcn.AGGREGATE_FIRST = default


if __name__ == "__main__":
    main()
