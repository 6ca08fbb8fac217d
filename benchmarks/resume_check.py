"""Kill a training run with SIGKILL mid-epoch, resume it, and compare with an
uninterrupted run of the same seed.

    python benchmarks/resume_check.py [--epochs 4] [--kills 1] [--out /tmp/skelkd-resume]

Both runs are ``skelkd train teacher penn_small`` with T = 16 frames (the check is
about the engine, not accuracy). The interrupted run is killed ``--kills`` times, each
time part-way through an epoch after at least one checkpoint exists, and restarted with
the same command, which resumes from ``checkpoints/last.ckpt``. Prints both runs' final
metrics and whether their final weights are identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch


def command(runs: Path, name: str, epochs: int) -> list[str]:
    sets = [f"name={name}", f"train.epochs={epochs}", "train.progress=false",
            "input.num_frames=16"]
    return [sys.executable, "-m", "skelkd.cli", "train", "teacher", "penn_small", "--runs",
            str(runs), *[a for s in sets for a in ("--set", s)]]


def final_state(run: Path) -> dict:
    ckpt = torch.load(run / "teacher" / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=True)
    return ckpt["state_dict"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--kills", type=int, default=1)
    ap.add_argument("--out", default="/tmp/skelkd-resume")
    args = ap.parse_args()
    runs = Path(args.out)
    shutil.rmtree(runs, ignore_errors=True)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    t0 = time.time()
    subprocess.run(command(runs, "straight", args.epochs), check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"uninterrupted run: {time.time() - t0:.0f} s")
    killed = runs / "killed"
    for k in range(args.kills):
        proc = subprocess.Popen(command(runs, "killed", args.epochs), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ckpt = killed / "teacher" / "checkpoints" / "last.ckpt"
        before = ckpt.stat().st_mtime if ckpt.exists() else 0.0
        # wait until this attempt has saved a new epoch's checkpoint, then part-way on
        while proc.poll() is None and not (ckpt.exists() and ckpt.stat().st_mtime > before):
            time.sleep(0.1)
        if proc.poll() is not None:
            print(f"kill {k + 1}: the run finished before it could be killed")
            break
        time.sleep(1.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        saved = torch.load(ckpt, map_location="cpu", weights_only=True)
        print(f"kill {k + 1}: SIGKILL {1.5:g} s after the checkpoint at step "
              f"{saved['global_step']} (epoch {saved['epoch']}); restarting")
    subprocess.run(command(runs, "killed", args.epochs), check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    a = json.loads((runs / "straight" / "teacher" / "metrics.json").read_text())
    b = json.loads((killed / "teacher" / "metrics.json").read_text())
    sa, sb = final_state(runs / "straight"), final_state(killed)
    same = sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    print(f"uninterrupted: top-1 {a['top1']:.4f}, top-5 {a['top5']:.4f}")
    print(f"killed+resumed: top-1 {b['top1']:.4f}, top-5 {b['top5']:.4f}")
    print(f"final weights identical: {same}; metrics identical: "
          f"{(a['top1'], a['top5']) == (b['top1'], b['top5'])}")


if __name__ == "__main__":
    main()
