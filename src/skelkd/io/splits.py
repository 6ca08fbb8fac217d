"""Validation splits carved from a dataset's official training split.

Every choice of an experiment (learning rate, schedule length, distillation settings) is
made on validation data; the test split is read once per model, at the end. The
datasets' official protocols have no validation split, so one is carved from the
official training split alone and stored in the pack as a named split beside the
official one: ``official-val`` with subsets ``train`` (the official training split less
the validation clips), ``val`` and ``test`` (the official test split, unchanged).

The carve is class-stratified: ``fraction`` of each class's training samples, at least
one per class that has two or more, chosen by a fixed seed from the samples ordered by
instance id, so the same pack always gets the same split, whatever order its files
were read in. Stratified rather than by subject for every dataset: one rule for all
packs (Penn Action has no subject ids), and every class keeps the same share of its
training data. Its cost: on the cross-subject (UTD-MHAD) and cross-view (NW-UCLA)
protocols the validation clips share subjects and views with the training clips, so
validation accuracy reads higher than test accuracy; it ranks settings, it does not
estimate the test figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import SkelkdError

VAL_FRACTION = 0.2  # the issue asks 15-20% of the training clips; the upper end
VAL_SEED = 0


def val_split_name(split: str) -> str:
    """The name of the validation split carved from ``split`` (``official-val``)."""
    return f"{split}-val"


def carve_validation(labels: np.ndarray, train: Sequence[int], instance_ids: Sequence[str],
                     fraction: float = VAL_FRACTION, seed: int = VAL_SEED
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(train', val)``: a class-stratified ``fraction`` of ``train`` (pack indices) as
    validation, the rest as training; both sorted. ``labels`` and ``instance_ids`` are
    the whole pack's."""
    if not 0.0 < fraction < 1.0:
        raise SkelkdError(f"validation fraction must be in (0, 1), got {fraction}")
    train = np.asarray(sorted(int(i) for i in train), dtype=np.int64)
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for c in np.unique(labels[train]):
        members = sorted(train[labels[train] == c], key=lambda i: instance_ids[i])
        k = int(round(fraction * len(members)))
        k = min(max(k, 1 if len(members) > 1 else 0), len(members) - 1)
        order = rng.permutation(len(members))
        val += [members[j] for j in order[:k]]
    val_arr = np.asarray(sorted(val), dtype=np.int64)
    return np.setdiff1d(train, val_arr), val_arr


def with_validation(splits: dict[str, dict[str, list[int]]], labels: np.ndarray,
                    instance_ids: Sequence[str]) -> dict[str, dict[str, list[int]]]:
    """``splits`` plus, for every split with ``train`` and ``test`` subsets (and no
    validation split of its own yet), its ``-val`` split."""
    out = dict(splits)
    for name, subsets in splits.items():
        if "train" not in subsets or "test" not in subsets or name.endswith("-val"):
            continue
        if val_split_name(name) in splits:
            continue
        train, val = carve_validation(labels, subsets["train"], instance_ids)
        out[val_split_name(name)] = {"train": train.tolist(), "val": val.tolist(),
                                     "test": list(subsets["test"])}
    return out
