"""Data-parallel distillation: two CPU processes (gloo) give the single-process loss."""

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from skelkd.distill.distributed import gather_high_quality
from skelkd.distill.losses import pmsc_loss


def _global_batch(n=12, classes=3, c=6):
    g = torch.Generator().manual_seed(0)
    f_lq = torch.randn(n, 5, c, generator=g).relu() + 0.01
    f_hq_all = torch.randn(n, 5, c, generator=g).relu() + 0.01  # teacher features per sample
    y = torch.randint(0, classes, (n,), generator=g)
    paired = torch.rand(n, generator=g) < 0.7
    e = torch.softmax(torch.rand(classes, 5, generator=g), 1)
    return f_lq, f_hq_all, y, paired, e


def _local_loss(f_lq, f_hq, y, paired, e, temperature):
    """What StudentModule.distill_loss does with one process's share of the batch."""
    t_feats, y_hq, offset = gather_high_quality(f_hq[paired], y[paired])
    twin = torch.cumsum(paired.long(), 0) - 1 + offset
    twin = torch.where(paired, twin, torch.full_like(twin, -1))
    return pmsc_loss(f_lq, t_feats, y, y_hq, twin, e, 0.5, temperature)


def _worker(rank, world, init_file, temperature, out_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    f_lq, f_hq, y, paired, e = _global_batch()
    rows = torch.arange(len(y)).chunk(world)[rank]
    mine = f_lq[rows].clone().requires_grad_(True)
    loss = _local_loss(mine, f_hq[rows], y[rows], paired[rows], e, temperature)
    loss.backward()
    value = loss.detach().clone()
    dist.all_reduce(value)
    grad = [torch.zeros(len(y), *f_lq.shape[1:]) for _ in range(world)]
    full = torch.zeros(len(y), *f_lq.shape[1:])
    full[rows] = mine.grad / world  # data parallelism averages gradients over processes
    dist.all_gather(grad, full)
    if rank == 0:
        torch.save({"loss": value / world, "grad": sum(grad)}, out_file)
    dist.destroy_process_group()


@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_two_processes_equal_one(temperature, tmp_path):
    f_lq, f_hq, y, paired, e = _global_batch()
    single_in = f_lq.clone().requires_grad_(True)
    twin = torch.where(paired, torch.cumsum(paired.long(), 0) - 1, torch.full_like(y, -1))
    single = pmsc_loss(single_in, f_hq[paired], y, y[paired], twin, e, 0.5, temperature)
    single.backward()
    out = tmp_path / "result.pt"
    init = tempfile.mktemp(dir=tmp_path)
    mp.spawn(_worker, args=(2, init, temperature, str(out)), nprocs=2, join=True)
    result = torch.load(out, weights_only=True)
    assert result["loss"].item() == pytest.approx(single.item(), abs=1e-5)
    torch.testing.assert_close(result["grad"], single_in.grad, atol=1e-6, rtol=1e-5)


def test_single_process_student_loss_equals_pmsc_loss():
    f_lq, f_hq, y, paired, e = _global_batch()
    twin = torch.where(paired, torch.cumsum(paired.long(), 0) - 1, torch.full_like(y, -1))
    want = pmsc_loss(f_lq, f_hq[paired], y, y[paired], twin, e, 0.5, 0.5)
    assert _local_loss(f_lq, f_hq, y, paired, e, 0.5).item() == pytest.approx(want.item(),
                                                                             abs=1e-6)
    assert not dist.is_initialized() and os.environ.get("RANK") is None
