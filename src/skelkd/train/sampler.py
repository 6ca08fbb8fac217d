"""Batch construction for the multi-sample contrastive losses.

Eq. 8-10 need, for each low-quality sample, high-quality samples of the same class
(positives) and of other classes (negatives) in the same mini-batch. With uniform
shuffling and many classes, a batch often holds a class only once. The class-aware
sampler builds each batch from ``batch_size // per_class`` classes with ``per_class``
samples each, so every sample meets ``per_class - 1`` same-class samples and the rest
of the batch as other-class ones. Over an epoch each sample is drawn about once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class ClassAwareBatchSampler(Sampler[list[int]]):
    """Batches of ``per_class`` samples from each of ``batch_size // per_class`` classes.

    Args:
        labels: label of each dataset position.
        batch_size: samples per batch (a multiple of ``per_class`` is best).
        per_class: samples of one class in a batch (4 by default).
        seed: with the epoch (:meth:`set_epoch`), fixes the order.
        drop_last: drop a last, smaller batch.
    """

    def __init__(self, labels: Sequence[int], batch_size: int, per_class: int = 4,
                 seed: int = 0, drop_last: bool = True):
        self.labels = np.asarray(labels)
        self.batch_size, self.per_class = int(batch_size), max(int(per_class), 1)
        self.seed, self.epoch, self.drop_last = seed, 0, drop_last
        self.classes = np.unique(self.labels)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _chunks(self, rng: np.random.Generator) -> list[np.ndarray]:
        chunks = []
        for c in self.classes:
            idx = rng.permutation(np.flatnonzero(self.labels == c))
            chunks += [idx[i:i + self.per_class] for i in range(0, len(idx), self.per_class)]
        return chunks

    @staticmethod
    def _shard() -> tuple[int, int]:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return dist.get_world_size(), dist.get_rank()
        return 1, 0

    def __iter__(self) -> Iterator[list[int]]:
        """This process's batches: under data parallelism, every ``world``-th batch of the
        epoch's order, so the processes see disjoint batches of the same epoch."""
        world, rank = self._shard()
        for k, batch in enumerate(self._batches()):
            if k % world == rank and k < len(self) * world:
                yield batch

    def _batches(self) -> Iterator[list[int]]:
        rng = np.random.default_rng((self.seed, self.epoch))
        chunks = self._chunks(rng)
        order = rng.permutation(len(chunks))
        batch: list[int] = []
        for k in order:
            batch.extend(int(i) for i in chunks[k])
            if len(batch) >= self.batch_size:
                yield batch[: self.batch_size]
                batch = batch[self.batch_size:]
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.labels)
        batches = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return batches // self._shard()[0]
