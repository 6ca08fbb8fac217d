"""Validation splits: carved from the training subset only, class-stratified, the same
whatever order the samples come in, and stored in every pack that is written."""

from __future__ import annotations

import numpy as np
import pytest

from skelkd.errors import SkelkdError
from skelkd.io.splits import carve_validation, with_validation


def _data(n=200, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    ids = [f"clip{i:04d}" for i in range(n)]
    train = np.flatnonzero(rng.random(n) < 0.6)
    return labels, ids, train


def test_carve_is_a_stratified_part_of_train_only():
    labels, ids, train = _data()
    tr, val = carve_validation(labels, train, ids, 0.2)
    assert set(tr) | set(val) == set(train) and not set(tr) & set(val)
    for c in np.unique(labels[train]):
        n_c = int((labels[train] == c).sum())
        assert int((labels[val] == c).sum()) == min(max(round(0.2 * n_c), 1), n_c - 1)


def test_carve_does_not_depend_on_the_order_of_the_pack():
    labels, ids, train = _data()
    _, val = carve_validation(labels, train, ids)
    perm = np.random.default_rng(1).permutation(len(labels))  # new pack index -> old
    inv = np.argsort(perm)
    _, val2 = carve_validation(labels[perm], inv[train], [ids[i] for i in perm])
    assert sorted(ids[i] for i in val) == sorted(ids[perm[i]] for i in val2)


def test_a_class_with_one_sample_stays_in_training():
    labels = np.array([0, 0, 0, 0, 0, 1])
    tr, val = carve_validation(labels, range(6), [str(i) for i in range(6)], 0.2)
    assert 5 in tr and list(val) == [val[0]] and labels[val[0]] == 0


def test_bad_fraction_is_refused():
    labels, ids, train = _data()
    with pytest.raises(SkelkdError, match="validation fraction"):
        carve_validation(labels, train, ids, 1.0)


def test_every_split_with_train_and_test_gets_one():
    labels, ids, train = _data(20)
    splits = {"official": {"train": list(range(12)), "test": list(range(12, 20))},
              "other": {"train": list(range(20))}}
    out = with_validation(splits, labels, ids)
    assert set(out) == {"official", "official-val", "other"}
    v = out["official-val"]
    assert v["test"] == splits["official"]["test"]
    assert sorted(v["train"] + v["val"]) == splits["official"]["train"]
    assert with_validation(out, labels, ids) == out  # idempotent


def test_written_packs_carry_it(make_pack):
    pack = make_pack("coco", n=40, num_classes=4)
    v = pack.splits["official-val"]
    assert sorted(v["train"] + v["val"]) == pack.splits["official"]["train"]
    # labels are i % 4 and the test split is i % 4 == 0: classes 1-3 have 10 training
    # samples each (2 to validation), class 0 none
    assert len(v["val"]) == 6
    assert np.array_equal(pack.split_indices("official-val", "val"), v["val"])


def test_the_embedded_pack_has_the_issue_s_validation_share():
    from skelkd.io import embedded_pack

    pack = embedded_pack()
    train, val = pack.split_indices("official", "train"), pack.split_indices("official-val", "val")
    assert set(val) <= set(train)
    assert 0.15 <= len(val) / len(train) <= 0.21  # 20% of each class, rounded
    assert set(np.unique(pack.labels[val])) == set(np.unique(pack.labels[train]))
