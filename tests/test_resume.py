"""A training process killed with SIGKILL at random points, several times, and resumed
ends with the same weights and metrics as an uninterrupted run of the same seed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from .test_train import _class_motion_pack

KILLS = 3


def _command(cfg, runs, name):
    return [sys.executable, "-m", "skelkd.cli", "train", "teacher", str(cfg), "--runs",
            str(runs), "--set", f"name={name}"]


def _final(run):
    ckpt = torch.load(run / "teacher" / "checkpoints" / "last.ckpt", weights_only=True)
    metrics = json.loads((run / "teacher" / "metrics.json").read_text())
    keep = ("top1", "top5", "per_class", "confusion", "samples", "train_samples")
    return ckpt["state_dict"], {k: metrics[k] for k in keep}


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_at_random_points_then_resume_equals_uninterrupted(tmp_path):
    pack = _class_motion_pack(tmp_path / "hq.skpack", "kinect_v1", 20, 3, n=96)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"hq": str(pack.path), "simulate": {"preset": "fast", "layout": "coco",
                                                     "seed": 0}},
        "model": {"backbone": "stgcn-tiny", "overrides": {"channels": [8, 16],
                                                          "strides": [1, 2]}},
        "input": {"num_frames": 12, "rotate_deg": 5.0},
        "train": {"epochs": 8, "batch_size": 12, "per_class": 4, "seed": 5,
                  "progress": False}}))
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    subprocess.run(_command(cfg, runs, "straight"), check=True, **quiet)
    # one epoch's time on this machine: a kill lands within the epoch after a checkpoint,
    # so that each kill costs the run one or two of its 8 epochs however fast they are
    epoch_s = json.loads((runs / "straight" / "teacher" / "metrics.json").read_text())[
        "seconds"] / 8

    rng = np.random.default_rng(0)
    ckpt = runs / "killed" / "teacher" / "checkpoints" / "last.ckpt"
    kills = []
    for _ in range(KILLS):
        proc = subprocess.Popen(_command(cfg, runs, "killed"), **quiet)
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        while proc.poll() is None and not (ckpt.exists() and ckpt.stat().st_mtime_ns > before):
            time.sleep(0.02)
        if proc.poll() is not None:
            break  # finished before it could be killed
        time.sleep(float(rng.uniform(0.0, epoch_s)))  # anywhere in the next epoch
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(torch.load(ckpt, weights_only=True)["epoch"])
    assert len(kills) == KILLS, f"only {len(kills)} kills landed before the run finished"
    subprocess.run(_command(cfg, runs, "killed"), check=True, **quiet)

    (wa, ma), (wb, mb) = _final(runs / "straight"), _final(runs / "killed")
    assert ma == mb
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_moved_run_folder_resumes_into_the_one_checkpoint_name(tmp_path):
    """Lightning remembers the checkpoint's absolute path: in a moved run folder it would
    write last-v1.ckpt and leave last.ckpt stale for every reader."""
    import shutil

    from click.testing import CliRunner

    from skelkd.cli import main

    pack = _class_motion_pack(tmp_path / "hq.skpack", "kinect_v1", 20, 3, n=48)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"hq": str(pack.path)},
        "model": {"backbone": "stgcn-tiny", "overrides": {"channels": [8], "strides": [1]}},
        "input": {"num_frames": 8},
        "train": {"epochs": 1, "batch_size": 12, "per_class": 4, "progress": False}}))
    runs = tmp_path / "runs"

    def train(name, epochs):
        r = CliRunner().invoke(main, ["train", "teacher", str(cfg), "--runs", str(runs),
                                      "--set", f"name={name}", "--set",
                                      f"train.epochs={epochs}"])
        assert r.exit_code == 0, r.output

    train("a", 1)
    shutil.move(runs / "a", runs / "b")
    train("b", 2)
    folder = runs / "b" / "teacher" / "checkpoints"
    assert not any("-v" in p.name for p in folder.iterdir()), sorted(folder.iterdir())
    assert torch.load(folder / "last.ckpt", weights_only=True)["epoch"] == 1  # 2nd epoch


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
@pytest.mark.parametrize("sig, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_stops_training_with_its_status_a_message_and_an_intact_checkpoint(
        tmp_path, sig, status):
    from skelkd.train.checkpoint import read_checkpoint

    pack = _class_motion_pack(tmp_path / "hq.skpack", "kinect_v1", 20, 3, n=48)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"hq": str(pack.path)},
        "model": {"backbone": "stgcn-tiny", "overrides": {"channels": [8], "strides": [1]}},
        "input": {"num_frames": 8},
        "train": {"epochs": 200, "batch_size": 12, "per_class": 4, "progress": False}}))
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_command(cfg, runs, "r"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    ckpt = runs / "r" / "teacher" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while proc.poll() is None and not ckpt.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be signalled"
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    assert read_checkpoint(ckpt)["epoch"] >= 0  # loads and verifies
    assert not list(ckpt.parent.glob(".*tmp*"))
