import numpy as np
import pytest
import torch

from skelkd.data import PairedDataset, Pipeline, SkeletonDataset, keep_fraction
from skelkd.errors import SkelkdError


def test_keep_fraction_reproducible_and_order_free():
    ids = [f"i{k}" for k in range(100)]
    a = keep_fraction(ids, 0.8, seed=1)
    assert len(a) == 80 and a == keep_fraction(list(reversed(ids)), 0.8, seed=1)
    assert a != keep_fraction(ids, 0.8, seed=2)
    assert len(keep_fraction(ids, 0.7, 1)) == 70 and keep_fraction(ids, 1.0, 0) == set(ids)
    with pytest.raises(SkelkdError):
        keep_fraction(ids, 1.5, 0)


def test_paired_dataset_heterogeneous_layouts(make_pack):
    hq = make_pack("kinect_v1", n=10, c=3, name="hq.skpack")
    lq = make_pack("coco", n=12, name="lq.skpack", seed=3)  # ids inst000..inst011
    ds = PairedDataset(lq, hq, Pipeline("coco", 8), Pipeline("kinect_v1", 8))
    assert len(ds) == 12 and ds.paired.tolist() == [True] * 10 + [False] * 2
    item = ds[0]
    assert item["x_lq"].shape == (1, 8, 17, 3) and item["x_hq"].shape == (1, 8, 20, 3)
    assert item["paired"] and item["hq_index"] == 0
    solo = ds[11]
    assert not solo["paired"] and solo["hq_index"] == -1 and (solo["x_hq"] == 0).all()
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=12)))
    assert batch["paired"].sum() == 10 and batch["x_hq"].shape == (12, 1, 8, 20, 3)


def test_paired_dataset_fraction_and_split(make_pack):
    hq = make_pack("penn_action", n=40, name="hq.skpack")
    lq = make_pack("coco", n=40, name="lq.skpack", seed=5)
    train = lq.split_indices("official", "train")
    ds = PairedDataset(lq, hq, Pipeline("coco", 4), Pipeline("penn_action", 4), indices=train,
                       hq_fraction=0.8, seed=3)
    assert ds.paired.sum() == round(0.8 * len(train))
    again = PairedDataset(lq, hq, Pipeline("coco", 4), Pipeline("penn_action", 4),
                          indices=train, hq_fraction=0.8, seed=3)
    assert (again.twin == ds.twin).all()
    assert set(ds.hq_indices()) <= set(train)  # the teacher sees only kept, training twins
    only_lq = PairedDataset(lq, None, Pipeline("coco", 4))
    assert not only_lq.paired.any() and only_lq[0]["x_hq"].numel() == 0


def test_pairing_rejects_mismatches(make_pack, tmp_path):
    hq = make_pack("penn_action", n=6, num_classes=3, name="hq.skpack")
    other = make_pack("coco", n=6, num_classes=2, name="lq2.skpack")
    with pytest.raises(SkelkdError, match="class lists differ"):
        PairedDataset(other, hq, Pipeline("coco", 4), Pipeline("penn_action", 4))
    from skelkd.io import open_pack
    from skelkd.io.pack import write_pack

    from .conftest import make_samples

    samples = make_samples("coco", 6, 3)
    samples[2].label = (samples[2].label + 1) % 3
    write_pack(tmp_path / "bad.skpack", samples, "coco", [f"class{k}" for k in range(3)])
    with pytest.raises(SkelkdError, match="instance 'inst002'"):
        PairedDataset(open_pack(tmp_path / "bad.skpack"), hq, Pipeline("coco", 4),
                      Pipeline("penn_action", 4))


def test_skeleton_dataset_training_randomness_by_epoch(make_pack):
    pack = make_pack("coco", n=4)
    ds = SkeletonDataset(pack, Pipeline("coco", 8, train=True, rotate_deg=20), seed=0)
    a = ds[0]["x"]
    assert torch.equal(a, ds[0]["x"])  # same epoch: same sample whatever the worker
    ds.set_epoch(1)
    assert not torch.equal(a, ds[0]["x"])
    with pytest.raises(SkelkdError, match="differs"):
        SkeletonDataset(pack, Pipeline("ntu", 8))
    assert np.array_equal(ds.labels, pack.labels)


def test_datasets_give_the_same_items_one_by_one_and_in_batches(make_pack):
    """DataLoader reads batches through __getitems__; each item must be what
    dataset[i] gives, whatever else is in the batch."""
    hq = make_pack("kinect_v1", n=10, c=3, name="hq.skpack")
    lq = make_pack("coco", n=12, name="lq.skpack", seed=3)
    ds = PairedDataset(lq, hq, Pipeline("coco", 8, train=True, rotate_deg=10, occlusion=0.5),
                       Pipeline("kinect_v1", 8, align_view=True), seed=2)
    ds.set_epoch(1)
    items = ds.__getitems__([11, 0, 5, 9])
    for i, got in zip([11, 0, 5, 9], items, strict=True):
        want = ds[i]
        assert got.keys() == want.keys()
        for key in want:
            if isinstance(want[key], torch.Tensor):
                torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)
            else:
                assert got[key] == want[key]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=12)))
    torch.testing.assert_close(batch["x_lq"][5], ds[5]["x_lq"], rtol=0, atol=0)
    torch.testing.assert_close(batch["x_hq"][5], ds[5]["x_hq"], rtol=0, atol=0)
