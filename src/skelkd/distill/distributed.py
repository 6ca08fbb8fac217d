"""Contrastive losses under data parallelism: positives and negatives span the global
batch.

Each process holds part of the mini-batch. The teacher's features of every process's
high-quality batch B^H are gathered (they carry no gradient), so each low-quality sample
is contrasted with the high-quality samples of the whole global batch, as in a single
process. Eq. 11's mean is then taken over the global batch: each process returns its
sum of defined per-sample losses times the world size over the global count, so the
gradient average that data parallelism applies yields exactly the single-process loss.
Without an initialised process group these functions are the identity.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def gather_high_quality(feats: torch.Tensor, labels: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """All processes' high-quality batches, concatenated in rank order.

    Args:
        feats: (B_r, ...) this process's teacher features (any B_r, may be 0).
        labels: (B_r,) their labels.

    Returns:
        (B, ...) features, (B,) labels and the offset of this process's rows.
    """
    world, rank = _world()
    if world == 1:
        return feats, labels, 0
    count = torch.tensor([feats.shape[0]], device=feats.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    counts = [int(c) for c in counts]
    cap = max(max(counts), 1)
    pad_f = feats.new_zeros((cap, *feats.shape[1:]))
    pad_f[: feats.shape[0]] = feats
    pad_y = labels.new_full((cap,), -1)
    pad_y[: labels.shape[0]] = labels
    all_f = [torch.zeros_like(pad_f) for _ in range(world)]
    all_y = [torch.zeros_like(pad_y) for _ in range(world)]
    dist.all_gather(all_f, pad_f.contiguous())
    dist.all_gather(all_y, pad_y)
    f = torch.cat([t[:c] for t, c in zip(all_f, counts, strict=True)])
    y = torch.cat([t[:c] for t, c in zip(all_y, counts, strict=True)])
    return f, y, sum(counts[:rank])


def global_mean(losses: torch.Tensor, defined: torch.Tensor) -> torch.Tensor:
    """Eq. 11 over the global batch (see the module docstring); 0 if nothing is defined."""
    world, _ = _world()
    local_sum = (losses * defined).sum()
    count = defined.sum().to(losses.dtype).detach()
    if world > 1:
        count = count.clone()
        dist.all_reduce(count)
    if count == 0:
        return losses.sum() * 0.0
    return local_sum * world / count
