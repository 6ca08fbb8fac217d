"""train.keep_freed_memory: a large tensor freed and allocated again is not faulted in
again. Counted in page faults (not timed), in a fresh process each, since the setting
is process-wide."""

import json
import subprocess
import sys

import pytest

from skelkd.train.allocator import keep_freed_memory

PROBE = """
import json, resource, sys
import torch
from skelkd.train.allocator import keep_freed_memory
took = keep_freed_memory(sys.argv[1] == "keep")
faults = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.empty(64 * 2**20)  # 256 MiB, above glibc's largest mmap threshold
    x.fill_(1.0)
    del x
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"took": took, "faults": faults}))
"""


def probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="mallopt is glibc's (Linux)")
def test_freed_memory_is_reused_without_page_faults():
    default, kept = probe("default"), probe("keep")
    if not kept["took"]:
        pytest.skip("the C library is not glibc: keep_freed_memory does nothing here")
    if min(default["faults"][3:]) < 100:
        pytest.skip("this process's allocator keeps freed memory already (e.g. jemalloc "
                    "preloaded), so there is nothing to compare")
    # default glibc: every allocation of the block faults its pages in again (65536 of
    # 4 KiB, fewer with transparent huge pages). Kept: the heap grows for the first and
    # for one of the next two (measured: [65514, 0, 65536, 0, ...] or [65514, 65536, 0,
    # ...]; the first freed block is not always reused, likely because posix_memalign
    # asks for a little more than it), and from the fourth on the block is reused
    assert kept["faults"][0] > 100
    assert max(kept["faults"][3:]) * 20 < min(default["faults"][3:])


def test_restoring_the_defaults_is_accepted():
    took = keep_freed_memory(True)
    assert keep_freed_memory(False) == took  # glibc takes both, or neither is glibc


def _start_runs(monkeypatch, tmp_path):
    """A function that starts a run of a given TrainConfig, the fit itself stubbed out:
    what a run sets up before fitting, and nothing more."""
    from types import SimpleNamespace

    import numpy as np

    from skelkd.config import ExperimentConfig
    from skelkd.train import api

    monkeypatch.setattr(api, "_loader", lambda *args: None)
    monkeypatch.setattr(api, "make_trainer",
                        lambda *args: SimpleNamespace(fit=lambda *a, **k: None))
    data = SimpleNamespace(labels=np.zeros(1, dtype=int))
    return lambda train: api._fit(None, data, None, ExperimentConfig(train=train), tmp_path)


def test_training_applies_the_setting(monkeypatch, tmp_path):
    """``train.keep_freed_memory`` reaches the allocator when a run starts (the fit
    itself stubbed out)."""
    from skelkd.config import TrainConfig
    from skelkd.train import api

    calls = []
    monkeypatch.setattr(api, "keep_freed_memory", calls.append)
    start = _start_runs(monkeypatch, tmp_path)
    for keep in (False, True):
        start(TrainConfig(keep_freed_memory=keep))
    assert calls == [False, True]


def test_training_applies_its_thread_count(monkeypatch, tmp_path):
    """``train.threads`` sets torch's CPU threads when a run starts, and 0 (the default)
    leaves torch's own count alone (the fit itself stubbed out); a negative count is a
    configuration error naming the key."""
    from skelkd.config import TrainConfig, load_config
    from skelkd.errors import SkelkdError
    from skelkd.train import api

    calls = []
    monkeypatch.setattr(api.torch, "set_num_threads", calls.append)
    start = _start_runs(monkeypatch, tmp_path)
    for threads in (0, 1, 3):
        start(TrainConfig(threads=threads))
    assert calls == [1, 3]
    with pytest.raises(SkelkdError, match="train.threads"):
        load_config(values={"train.threads": -1})
