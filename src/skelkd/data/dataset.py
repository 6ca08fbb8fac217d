"""PyTorch datasets over packs, and the pairing of low- and high-quality samples.

The paper's training data (Section 3.1) are paired instances D_pair = {(x^H, x^L, y)}
and solitary low-quality instances D_sol = {(x^L, y)}. :class:`PairedDataset` yields
every low-quality sample of a split together with its high-quality twin (same
instance id) when there is one; the two may be in different layouts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SkelkdError
from ..io.pack import Pack
from .transforms import Pipeline, sample_rng


def keep_fraction(instance_ids: Iterable[str], fraction: float, seed: int) -> set[str]:
    """A reproducible choice of ``round(fraction * n)`` of the ids (the paper's Table 5
    settings keep high-quality data for 80% or 70% of the instances). Independent of
    the order the ids come in."""
    if not 0.0 <= fraction <= 1.0:
        raise SkelkdError(f"high-quality fraction must be in [0, 1], got {fraction}")
    ids = sorted(set(instance_ids))
    order = sample_rng(seed, "hq-fraction").permutation(len(ids))
    return {ids[i] for i in order[: int(round(fraction * len(ids)))]}


class _EpochRng:
    """Training randomness: a generator per (seed, epoch, sample), so a run is the same
    whatever the number of data-loader workers."""

    def __init__(self, seed: int):
        self.seed, self.epoch = seed, 0

    def __call__(self, index: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.epoch, index))


class SkeletonDataset(Dataset):
    """Samples of one pack (optionally a split of it) through a :class:`Pipeline`.

    Items are dicts: ``x`` (M, T, V, C_in) float32 tensor, ``label``, ``index`` (the
    sample's index in the pack).
    """

    def __init__(self, pack: Pack, pipeline: Pipeline, indices: Sequence[int] | None = None,
                 seed: int = 0, rng_offset: int = 0):
        if pipeline.layout.name != pack.layout.name:
            raise SkelkdError(f"{pack.path}: pack layout '{pack.layout.name}' differs from the "
                              f"pipeline's '{pipeline.layout.name}'")
        self.pack, self.pipeline = pack, pipeline
        self.indices = np.arange(len(pack)) if indices is None else np.asarray(indices)
        self.rng = _EpochRng(seed)
        self.rng_offset = rng_offset  # another pack's samples draw other numbers

    def set_epoch(self, epoch: int) -> None:
        self.rng.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> np.ndarray:
        return self.pack.labels[self.indices]

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])[0]

    def __getitems__(self, items: Sequence[int]) -> list[dict]:
        """Items ``items`` at once (PyTorch's DataLoader asks for a batch this way): the
        pipeline's :meth:`~skelkd.data.Pipeline.batch`; each item is what ``self[i]``
        gives."""
        read = [(int(self.indices[i]), self.pack[int(self.indices[i])]) for i in items]
        x = torch.from_numpy(self.pipeline.batch(
            [(s.keypoints, s.scores, s.instance_id, self.rng(j + self.rng_offset))
             for j, s in read]))
        return [{"x": x[k], "label": s.label, "index": j} for k, (j, s) in enumerate(read)]


class PairedDataset(Dataset):
    """Low-quality samples, each with its high-quality twin when one exists.

    Args:
        lq, hq: the low-quality pack and the (optional) high-quality pack, joined by
            instance id. Their class lists must be the same.
        lq_pipeline, hq_pipeline: what each model sees.
        indices: low-quality samples to use (a split); all by default.
        hq_fraction: keep high-quality data for only this fraction of the instances
            (chosen by :func:`keep_fraction` with ``pairing_seed``, by default ``seed``);
            the others become solitary.
        load_hq: read and transform the twin (``x_hq``); off when the teacher's
            features of every twin are computed once beforehand (``hq_index`` suffices).
        seed: fixes the training randomness (and the fraction's choice, unless
            ``pairing_seed`` is given).

    Items: ``x_lq``, ``label``, ``paired`` (bool), ``x_hq`` (zeros when not paired),
    ``index`` (low-quality pack index), ``hq_index`` (-1 when not paired).
    """

    def __init__(self, lq: Pack, hq: Pack | None, lq_pipeline: Pipeline,
                 hq_pipeline: Pipeline | None = None, indices: Sequence[int] | None = None,
                 hq_fraction: float = 1.0, seed: int = 0, load_hq: bool = True,
                 pairing_seed: int | None = None):
        self.low = SkeletonDataset(lq, lq_pipeline, indices, seed)
        self.load_hq = load_hq
        self.hq, self.hq_pipeline = hq, hq_pipeline
        self.twin = np.full(len(self.low), -1, dtype=np.int64)
        if hq is not None:
            if hq_pipeline is None and load_hq:
                raise SkelkdError("a high-quality pack needs a high-quality pipeline")
            if list(hq.class_names) != list(lq.class_names):
                raise SkelkdError(f"{hq.path} and {lq.path}: class lists differ; pairing "
                                  "needs the same classes in the same order")
            hq_pos = {iid: k for k, iid in enumerate(hq.instance_ids)}
            lq_ids = [lq.instance_ids[j] for j in self.low.indices]
            candidates = [iid for iid in lq_ids if iid in hq_pos]
            self.kept_ids = keep_fraction(candidates, hq_fraction,
                                          seed if pairing_seed is None else pairing_seed)
            for i, iid in enumerate(lq_ids):
                if iid in self.kept_ids:
                    k = hq_pos[iid]
                    if hq.labels[k] != lq.labels[self.low.indices[i]]:
                        raise SkelkdError(
                            f"instance '{iid}': label {lq.labels[self.low.indices[i]]} in "
                            f"{lq.path} but {hq.labels[k]} in {hq.path}")
                    self.twin[i] = k
            self._hq_zeros = torch.zeros(0)
            if load_hq:
                self._hq_zeros = torch.zeros(hq_pipeline.num_persons, hq_pipeline.num_frames,
                                             hq.layout.num_joints,
                                             hq_pipeline.channels(hq.coord_dims))
        else:
            self.kept_ids = set()
            self._hq_zeros = torch.zeros(0)

    def set_epoch(self, epoch: int) -> None:
        self.low.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.low)

    @property
    def paired(self) -> np.ndarray:
        """(N,) bool: which samples have a high-quality twin."""
        return self.twin >= 0

    @property
    def labels(self) -> np.ndarray:
        return self.low.labels

    def hq_indices(self) -> np.ndarray:
        """High-quality pack indices of the kept twins (what a teacher trains on)."""
        return np.sort(self.twin[self.twin >= 0])

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])[0]

    def __getitems__(self, items: Sequence[int]) -> list[dict]:
        """Items ``items`` at once, each what ``self[i]`` gives (see
        :meth:`SkeletonDataset.__getitems__`)."""
        out = []
        for i, item in zip(items, self.low.__getitems__(items), strict=True):
            k = int(self.twin[i])
            out.append({"x_lq": item["x"], "label": item["label"], "index": item["index"],
                        "paired": k >= 0, "hq_index": k, "x_hq": self._hq_zeros})
        twins = [d for d in out if d["paired"]] if self.load_hq else []
        if twins:
            assert self.hq is not None and self.hq_pipeline is not None
            hq = [self.hq[d["hq_index"]] for d in twins]
            x = torch.from_numpy(self.hq_pipeline.batch(
                [(s.keypoints, s.scores, s.instance_id, self.low.rng(d["index"] + (1 << 40)))
                 for s, d in zip(hq, twins, strict=True)]))
            for k, d in enumerate(twins):
                d["x_hq"] = x[k]
        return out


OUTLIER = -1
"""The label of an outlier sample (:class:`WithOutliers`): an action outside the classes."""


class WithOutliers(Dataset):
    """A :class:`PairedDataset` followed by samples of actions outside its classes, for
    outlier exposure (Hendrycks et al., "Deep Anomaly Detection with Outlier Exposure",
    ICLR 2019): items like the paired dataset's, with label :data:`OUTLIER`, never paired
    (``x_hq`` zeros, ``hq_index`` -1). The outliers go through the same pipeline as the
    low-quality samples (augmentation and occlusion alike) with their own random numbers.
    """

    def __init__(self, known: PairedDataset, outliers: Pack, indices: Sequence[int],
                 seed: int = 0):
        self.known = known
        self.outliers = SkeletonDataset(outliers, known.low.pipeline, indices, seed,
                                        rng_offset=1 << 41)

    def set_epoch(self, epoch: int) -> None:
        self.known.set_epoch(epoch)
        self.outliers.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.known) + len(self.outliers)

    @property
    def labels(self) -> np.ndarray:
        return np.concatenate([self.known.labels,
                               np.full(len(self.outliers), OUTLIER, dtype=np.int64)])

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])[0]

    def __getitems__(self, items: Sequence[int]) -> list[dict]:
        n = len(self.known)
        inside = [i for i in items if i < n]
        outside = [i - n for i in items if i >= n]
        known = iter(self.known.__getitems__(inside) if inside else [])
        other = iter(self.outliers.__getitems__(outside) if outside else [])
        out = []
        for i in items:
            if i < n:
                out.append(next(known))
                continue
            item = next(other)
            out.append({"x_lq": item["x"], "label": OUTLIER, "index": item["index"],
                        "paired": False, "hq_index": -1, "x_hq": self.known._hq_zeros})
        return out
