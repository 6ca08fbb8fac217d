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


def _command(cfg, runs, name, sets=()):
    return [sys.executable, "-m", "skelkd.cli", "train", "teacher", str(cfg), "--runs",
            str(runs), "--set", f"name={name}", *[a for s in sets for a in ("--set", s)]]


def _final(run):
    ckpt = torch.load(run / "teacher" / "checkpoints" / "last.ckpt", weights_only=True)
    metrics = json.loads((run / "teacher" / "metrics.json").read_text())
    keep = ("top1", "top5", "per_class", "confusion", "samples", "train_samples")
    return ckpt["state_dict"], {k: metrics[k] for k in keep}


def _killed_and_resumed_equals_straight(cfg, runs, epochs: int, sets=(), kills: int = KILLS):
    """Train ``cfg``'s teacher straight through, and again killed with SIGKILL ``kills``
    times at random points (each within the epoch after a checkpoint) and resumed: the
    final weights and metrics must be identical."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    subprocess.run(_command(cfg, runs, "straight", sets), check=True, **quiet)
    # one epoch's time on this machine: a kill lands within the epoch after a checkpoint,
    # so that each kill costs the run one or two of its epochs however fast they are
    epoch_s = json.loads((runs / "straight" / "teacher" / "metrics.json").read_text())[
        "seconds"] / epochs

    rng = np.random.default_rng(0)
    ckpt = runs / "killed" / "teacher" / "checkpoints" / "last.ckpt"
    landed = []
    for _ in range(kills):
        proc = subprocess.Popen(_command(cfg, runs, "killed", sets), **quiet)
        before = ckpt.stat().st_mtime_ns if ckpt.exists() else 0
        while proc.poll() is None and not (ckpt.exists() and ckpt.stat().st_mtime_ns > before):
            time.sleep(0.02)
        if proc.poll() is not None:
            break  # finished before it could be killed
        time.sleep(float(rng.uniform(0.0, epoch_s)))  # anywhere in the next epoch
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed.append(torch.load(ckpt, weights_only=True)["epoch"])
    assert len(landed) == kills, f"only {len(landed)} kills landed before the run finished"
    subprocess.run(_command(cfg, runs, "killed", sets), check=True, **quiet)

    (wa, ma), (wb, mb) = _final(runs / "straight"), _final(runs / "killed")
    assert ma == mb
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


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
    _killed_and_resumed_equals_straight(cfg, tmp_path / "runs", epochs=8)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_then_resume_on_penn_action(tmp_path):
    """The same on the embedded Penn Action pack with the shipped penn_small
    configuration (T = 16 frames: the check is about the engine, not accuracy)."""
    _killed_and_resumed_equals_straight(
        "penn_small", tmp_path / "runs", epochs=5, kills=2,
        sets=("train.epochs=5", "train.progress=false", "input.num_frames=16"))


def _tiny_cfg(tmp_path, epochs: int = 1, n: int = 48):
    pack = _class_motion_pack(tmp_path / "hq.skpack", "kinect_v1", 20, 3, n=n)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "data": {"hq": str(pack.path)},
        "model": {"backbone": "stgcn-tiny", "overrides": {"channels": [8], "strides": [1]}},
        "input": {"num_frames": 8},
        "train": {"epochs": epochs, "batch_size": 12, "per_class": 4, "progress": False}}))
    return cfg


def _signalled(cfg, runs, name, sig, after: int = 0):
    """A training process signalled once its checkpoint records epoch >= ``after``;
    returns (exit status, stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(_command(cfg, runs, name), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    ckpt = runs / name / "teacher" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if ckpt.exists() and torch.load(ckpt, weights_only=True)["epoch"] >= after:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be signalled"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_a_moved_run_folder_resumes_into_the_one_checkpoint_name(tmp_path):
    """Lightning remembers the checkpoint's absolute path: in a moved run folder it would
    write last-v1.ckpt and leave last.ckpt stale for every reader."""
    import shutil

    cfg, runs = _tiny_cfg(tmp_path, epochs=200), tmp_path / "runs"
    assert _signalled(cfg, runs, "a", signal.SIGTERM)[0] == 143
    shutil.move(runs / "a", runs / "b")
    folder = runs / "b" / "teacher" / "checkpoints"
    done = torch.load(folder / "last.ckpt", weights_only=True)["epoch"]
    assert _signalled(cfg, runs, "b", signal.SIGTERM, after=done + 1)[0] == 143
    assert not any("-v" in p.name for p in folder.iterdir()), sorted(folder.iterdir())
    assert torch.load(folder / "last.ckpt", weights_only=True)["epoch"] > done


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
@pytest.mark.parametrize("sig, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_stops_training_with_its_status_a_message_and_an_intact_checkpoint(
        tmp_path, sig, status):
    from skelkd.train.checkpoint import read_checkpoint

    cfg, runs = _tiny_cfg(tmp_path, epochs=200), tmp_path / "runs"
    code, err = _signalled(cfg, runs, "r", getattr(signal, sig))
    assert code == status, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    ckpt = runs / "r" / "teacher" / "checkpoints" / "last.ckpt"
    assert read_checkpoint(ckpt)["epoch"] >= 0  # loads and verifies
    assert not list(ckpt.parent.glob(".*tmp*"))


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_a_signal_is_acted_on_at_a_batch_end_and_a_second_one_at_once():
    """The first signal only marks the run (raising inside a logger's or checkpoint's
    write could deadlock its shutdown); the batch's end raises; a second signal raises
    wherever it lands."""
    from skelkd.errors import RunInterrupted
    from skelkd.train.api import _StopOnSignal

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop = _StopOnSignal()
    with pytest.raises(RunInterrupted) as second:
        with stop.listening():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # the handler runs between bytecodes: nothing was raised
            assert stop.signum == signal.SIGTERM
            with pytest.raises(RunInterrupted):
                stop.on_train_batch_end(None, None, None, None, 0)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert second.value.signum == signal.SIGINT
    assert {s: signal.getsignal(s) for s in before} == before  # restored on the way out


def test_a_rerun_with_other_settings_is_refused_naming_them(tmp_path):
    from click.testing import CliRunner

    from skelkd.cli import main

    cfg, runs = _tiny_cfg(tmp_path), tmp_path / "runs"

    def train(*sets):
        args = ["train", "teacher", str(cfg), "--runs", str(runs), "--set", "name=r"]
        for s in sets:
            args += ["--set", s]
        return CliRunner().invoke(main, args)

    assert train().exit_code == 0
    before = (runs / "r" / "teacher" / "config.yaml").read_text()
    r = train("train.optim.lr=0.5", "input.num_frames=12")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "train.optim.lr" in r.output and "input.num_frames" in r.output
    assert (runs / "r" / "teacher" / "config.yaml").read_text() == before  # untouched
    assert train("train.progress=false", "eval.ops=[0.0]").exit_code == 0  # not defining


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    from click.testing import CliRunner

    from skelkd.cli import main
    from skelkd.config import load_config
    from skelkd.experiment import claim_run_folder

    cfg, runs = _tiny_cfg(tmp_path), tmp_path / "runs"
    with claim_run_folder(runs / "r" / "teacher", load_config(cfg, ["name=r"])):
        r = CliRunner().invoke(main, ["train", "teacher", str(cfg), "--runs", str(runs),
                                      "--set", "name=r"])
        assert r.exit_code == 2 and "another skelkd run is training into this folder" in r.output
        assert str(os.getpid()) in r.output  # who holds it
    r = CliRunner().invoke(main, ["train", "teacher", str(cfg), "--runs", str(runs),
                                  "--set", "name=r"])
    assert r.exit_code == 0, r.output  # released when the holder ends


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_a_resumed_run_keeps_its_earlier_log_rows_and_counts_all_its_seconds(tmp_path):
    import csv

    # 12 steps an epoch and a logged row every 10 steps: a row in every epoch
    cfg, runs = _tiny_cfg(tmp_path, epochs=6, n=144), tmp_path / "runs"
    assert _signalled(cfg, runs, "r", signal.SIGTERM, after=2)[0] == 143
    out = runs / "r" / "teacher"
    done = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    first = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    earlier = next(v for k, v in first["callbacks"].items() if "FitClock" in k)["seconds"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
             "env": {**os.environ, "OMP_NUM_THREADS": "1"}}
    subprocess.run(_command(cfg, runs, "r"), check=True, **quiet)
    subprocess.run(_command(cfg, runs, "straight"), check=True, **quiet)

    def epochs(run):
        with (runs / run / "teacher" / "logs" / "metrics.csv").open() as fh:
            return sorted(int(float(r["epoch"])) for r in csv.DictReader(fh) if r.get("epoch"))

    assert min(epochs("r")) <= done  # rows of the first process survive the resumption
    assert epochs("r") == epochs("straight")  # each epoch's rows once, as uninterrupted
    assert json.loads((out / "metrics.json").read_text())["seconds"] > earlier > 0
