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
for _ in range(4):
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
    if min(default["faults"][2:]) < 100:
        pytest.skip("this process's allocator keeps freed memory already (e.g. jemalloc "
                    "preloaded), so there is nothing to compare")
    # default glibc: every allocation of the block faults its pages in again (65536 of
    # 4 KiB, fewer with transparent huge pages). Kept: the heap grows for the first two
    # (PyTorch's posix_memalign asks for the block plus its alignment, which the first
    # block, once freed, is just short of), and from then on the block is reused
    assert kept["faults"][0] > 100
    assert max(kept["faults"][2:]) * 20 < min(default["faults"][2:])


def test_restoring_the_defaults_is_accepted():
    took = keep_freed_memory(True)
    assert keep_freed_memory(False) == took  # glibc takes both, or neither is glibc
