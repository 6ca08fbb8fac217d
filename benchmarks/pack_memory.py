"""Peak memory while writing and reading an NTU-size pack (synthetic data).

    python benchmarks/pack_memory.py [--samples 56880] [--dir /tmp]

Writes a pack of N samples of 2 persons x 300 frames x 25 joints x 3D (NTU RGB+D's
size at the paper's input: 56,880 samples, about 13.6 GB), then, in fresh processes,
(1) summarises it (`skelkd data info`'s numbers) and (2) reads every sample through
the training pipeline (sampling, normalising, occluding). Prints each process's peak
resident memory beside the pack's size: the ratio shows the pack is never loaded whole.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write(path: Path, n: int) -> None:
    from skelkd.io.pack import PackWriter, Sample

    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 300, 25, 3)).astype(np.float32)
    base[..., 2] += 3
    scores = np.ones((2, 300, 25), np.float32)
    names = [f"A{a:03d}" for a in range(1, 61)]
    with PackWriter(path, "ntu", names) as w:
        for i in range(n):
            w.add(Sample(base + np.float32(i % 97) * 1e-3, scores, i % 60, f"S{i:06d}", "ntu",
                         {"subject": i % 40 + 1, "camera": i % 3 + 1}))
        w.set_split("xsub", "train", range(0, n, 2))
        w.set_split("xsub", "test", range(1, n, 2))


def info(path: str) -> None:
    from skelkd.io import open_pack
    from skelkd.io.info import describe

    t = time.time()
    d = describe(open_pack(path))
    print(f"info: {d['samples']} samples, missing {d['missing_joint_rate']:.3f}, "
          f"{time.time() - t:.1f} s, peak RSS {peak_mb():.0f} MB")


def iterate(path: str) -> None:
    from skelkd.data import Pipeline, SkeletonDataset
    from skelkd.io import open_pack

    t = time.time()
    ds = SkeletonDataset(open_pack(path), Pipeline("ntu", 300, 2, train=True, occlusion=0.3),
                         seed=0)
    total = 0.0
    for i in range(len(ds)):
        total += float(ds[i]["x"][0, 0, 0, 0])
    dt = time.time() - t
    print(f"iterate: {len(ds)} samples through the training pipeline in {dt:.0f} s "
          f"({len(ds) / dt:.0f} samples/s), peak RSS {peak_mb():.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=56880)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--stage", choices=["info", "iterate"], help=argparse.SUPPRESS)
    ap.add_argument("--pack", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        {"info": info, "iterate": iterate}[args.stage](args.pack)
        return
    path = Path(tempfile.mkdtemp(dir=args.dir)) / "ntu_size.skpack"
    try:
        t = time.time()
        write(path, args.samples)
        size = sum(f.stat().st_size for f in path.iterdir()) / 1e6
        print(f"write: {args.samples} samples, {size:.0f} MB on disk, {time.time() - t:.0f} s, "
              f"peak RSS {peak_mb():.0f} MB")
        for stage in ("info", "iterate"):
            subprocess.run([sys.executable, __file__, "--stage", stage, "--pack", str(path)],
                           check=True)
        print(f"pack size / 2 GB budget: {size / 2000:.1f}x; every process stayed below the "
              "budget if its peak RSS above is under 2048 MB")
    finally:
        if not args.keep:
            shutil.rmtree(path.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
