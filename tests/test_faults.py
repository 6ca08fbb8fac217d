"""Faults during training and untrusted checkpoints: stamped and verified checkpoints,
pickled code refused, a full disk keeps the previous checkpoint, a NaN loss stops the run
with the last good checkpoint intact, and a seed gives the same run twice."""

from __future__ import annotations

import errno
import json
import pickle

import pytest
import torch

from skelkd.errors import SkelkdError
from skelkd.train import checkpoint as ckpt_mod
from skelkd.train import load_module, train_recognizer
from skelkd.train.checkpoint import read_checkpoint, state_digest

from .test_train import _class_motion_pack, _run


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return _class_motion_pack(tmp_path_factory.mktemp("p") / "hq.skpack", "kinect_v1", 20, 3)


def _train(pack, out, **kw):
    idx = pack.split_indices("official", "train")
    return train_recognizer(pack, idx, _run(**kw), out)


def test_checkpoints_are_stamped_and_verified(pack, tmp_path):
    _train(pack, tmp_path / "t", epochs=1)
    last = tmp_path / "t" / "checkpoints" / "last.ckpt"
    ck = torch.load(last, weights_only=True)
    assert ck["skelkd"]["format"] == "skelkd-checkpoint" and ck["skelkd"]["version"] == 1
    assert ck["skelkd"]["state_dict_sha256"] == state_digest(ck["state_dict"])
    load_module(tmp_path / "t")
    name = next(k for k in ck["state_dict"] if k.endswith("weight"))
    ck["state_dict"][name] = ck["state_dict"][name] + 1e-3  # a damaged weight
    torch.save(ck, last)
    with pytest.raises(SkelkdError, match="do not match the checkpoint's checksum"):
        load_module(tmp_path / "t")
    last.write_bytes(last.read_bytes()[:500])  # truncated
    with pytest.raises(SkelkdError, match="not a readable checkpoint"):
        load_module(tmp_path / "t")


class _Evil:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_checkpoint_with_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Evil()}, path, pickle_protocol=2)
    with pytest.raises(SkelkdError, match="refused: it holds pickled objects"):
        read_checkpoint(path)
    assert "this would have run" not in capsys.readouterr().out
    with open(tmp_path / "plain.pkl", "wb") as fh:  # not even a torch file
        pickle.dump(_Evil(), fh)
    with pytest.raises(SkelkdError):
        read_checkpoint(tmp_path / "plain.pkl")
    assert "this would have run" not in capsys.readouterr().out


def test_a_file_of_random_bytes_is_not_called_pickled_and_no_message_advises_unsafe_loading(
        tmp_path):
    import numpy as np

    from skelkd.io.readers import blazepose

    rng = np.random.default_rng(0)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x11" + rng.bytes(999))
    with pytest.raises(SkelkdError, match="not a PyTorch checkpoint") as info:
        read_checkpoint(junk)
    assert "pickled" not in str(info.value)
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _Evil()}, evil, pickle_protocol=2)
    with pytest.raises(SkelkdError) as info:
        read_checkpoint(evil)
    assert "weights_only=False" not in str(info.value).replace(" ", "")
    assert "set to `False`" not in str(info.value)
    npz = tmp_path / "junk.npz"
    npz.write_bytes(rng.bytes(500))
    with pytest.raises(SkelkdError, match="a .npz archive") as info:
        blazepose.read_npz(npz)
    assert "pickled" not in str(info.value)


def test_full_disk_keeps_the_previous_checkpoint(pack, tmp_path, monkeypatch):
    _train(pack, tmp_path / "t", epochs=1)
    last = tmp_path / "t" / "checkpoints" / "last.ckpt"
    before = last.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt_mod.os, "fsync", no_space)
    with pytest.raises(SkelkdError, match="No space left on device.*previous checkpoint"):
        _train(pack, tmp_path / "t", epochs=3)  # resumes, then cannot save epoch 1
    assert last.read_bytes() == before
    assert not [p for p in last.parent.iterdir() if ".tmp-" in p.name]
    monkeypatch.undo()
    assert torch.load(last, weights_only=True)["epoch"] == 0
    load_module(tmp_path / "t")


def test_nan_loss_stops_with_a_clear_message(pack, tmp_path, monkeypatch):
    import re

    import skelkd.train.modules as modules

    last = tmp_path / "t" / "checkpoints" / "last.ckpt"

    real = modules.F.cross_entropy
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        loss = real(*a, **k)
        return loss * float("nan") if calls["n"] > 5 else loss

    monkeypatch.setattr(modules.F, "cross_entropy", flaky)
    with pytest.raises(SkelkdError, match=r"non-finite training loss \(loss = nan\).*last good "
                                          r"checkpoint is kept") as err:
        _train(pack, tmp_path / "t", epochs=10)
    failed_epoch = int(re.search(r"at epoch (\d+)", str(err.value)).group(1))
    assert failed_epoch >= 1
    monkeypatch.undo()
    kept = torch.load(last, weights_only=True)
    assert kept["epoch"] == failed_epoch - 1  # the end of the last epoch without NaN
    assert all(torch.isfinite(v).all() for v in kept["state_dict"].values()
               if v.is_floating_point())
    load_module(tmp_path / "t")


def test_same_seed_same_run(pack, tmp_path):
    from skelkd.train import evaluate_at

    idx = pack.split_indices("official", "test")
    results = []
    for k in range(2):
        m = _train(pack, tmp_path / f"r{k}", epochs=2, seed=3)
        results.append((evaluate_at(m.model, pack, idx, _run(), 0.0),
                        torch.cat([p.flatten() for p in m.model.parameters()])))
    assert json.dumps(results[0][0], sort_keys=True) == json.dumps(results[1][0], sort_keys=True)
    assert torch.equal(results[0][1], results[1][1])
