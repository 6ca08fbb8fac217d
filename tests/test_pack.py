import json
import zipfile

import numpy as np
import pytest

from skelkd.errors import FormatError, SkelkdError
from skelkd.io import embedded_pack, open_pack
from skelkd.io.pack import PackWriter, Sample, write_pack

from .conftest import make_samples


def _assert_same(a: Sample, b: Sample):
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert (a.label, a.instance_id) == (b.label, b.instance_id)


@pytest.mark.parametrize("archive", [False, True])
def test_round_trip_multi_person_variable_length(tmp_path, archive):
    samples = make_samples("ntu", 7, 4, c=3, persons=(1, 3), frames=(1, 40))
    path = tmp_path / ("p.skpack.zip" if archive else "p.skpack")
    write_pack(path, samples, "ntu", list("abcd"), {"xsub": {"train": [0, 2], "test": [1]}},
               archive=archive, description="test pack")
    pack = open_pack(path)
    assert len(pack) == 7 and pack.coord_dims == 3 and pack.layout.name == "ntu"
    assert pack.class_names == list("abcd")
    for s, t in zip(samples, pack, strict=True):
        _assert_same(s, t)
        assert t.meta["subject"] == s.meta["subject"] and t.layout == "ntu"
    assert pack.split_indices("xsub", "train").tolist() == [0, 2]
    if not archive:
        assert isinstance(pack.keypoints, np.memmap)  # read lazily, never loaded whole


def test_meta_fields_are_documented_json(tmp_path, make_pack):
    pack = make_pack()
    meta = json.loads((pack.path / "meta.json").read_text())
    assert meta["format"] == "skelkd-pack" and meta["version"] == 1
    assert meta["layout"]["name"] == "coco" and meta["coord_dims"] == 2


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "bad.skpack"
    samples = make_samples("coco", 3, 2)
    with pytest.raises(RuntimeError):
        with PackWriter(path, "coco", ["a", "b"]) as w:
            w.add(samples[0])
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mutate, field", [
    (lambda s: setattr(s, "keypoints", s.keypoints[..., :5, :]), "keypoints"),
    (lambda s: setattr(s, "scores", s.scores[:, :-1]), "scores"),
    (lambda s: setattr(s, "label", 7), "label"),
    (lambda s: setattr(s, "label", True), "label"),
    (lambda s: setattr(s, "instance_id", ""), "instance_id"),
    (lambda s: setattr(s, "keypoints", s.keypoints[:, :0]), "keypoints"),
])
def test_bad_samples_rejected_with_field(tmp_path, mutate, field):
    s = make_samples("coco", 1, 2)[0]
    mutate(s)
    with pytest.raises(FormatError, match=f"field '{field}'"):
        with PackWriter(tmp_path / "x.skpack", "coco", ["a", "b"]) as w:
            w.add(s, where="sample-7")
    assert not (tmp_path / "x.skpack").exists()


def test_duplicate_instance_ids_rejected(tmp_path):
    a, b = make_samples("coco", 2, 2)
    b.instance_id = a.instance_id
    with pytest.raises(FormatError, match="duplicate"):
        write_pack(tmp_path / "x.skpack", [a, b], "coco", ["a", "b"])


def test_non_finite_values_become_missing_joints(tmp_path):
    s = make_samples("coco", 1, 2)[0]
    s.keypoints[0, 0, 3, 1] = np.nan
    s.keypoints[0, 1, 4, 0] = np.inf
    s.scores[0, 2, 5] = np.nan
    s.scores[0, 3, 6] = 0.0
    write_pack(tmp_path / "x.skpack", [s], "coco", ["a", "b"])
    t = open_pack(tmp_path / "x.skpack")[0]
    for (ti, v) in ((0, 3), (1, 4), (2, 5), (3, 6)):
        assert t.scores[0, ti, v] == 0 and (t.keypoints[0, ti, v] == 0).all()
    assert np.isfinite(t.keypoints).all()


def test_corrupt_packs_named_errors(tmp_path, make_pack):
    pack = make_pack()
    meta = json.loads((pack.path / "meta.json").read_text())
    meta["version"] = 99
    (pack.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="meta.json: field 'version'"):
        open_pack(pack.path)
    meta["version"] = 1
    (pack.path / "meta.json").write_text(json.dumps(meta))
    raw = (pack.path / "keypoints.npy").read_bytes()
    (pack.path / "keypoints.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FormatError, match="keypoints.npy"):
        open_pack(pack.path)


def test_pickled_arrays_refused(tmp_path, make_pack):
    pack = make_pack()
    np.save(pack.path / "index.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FormatError, match="index.npy.*pickled"):
        open_pack(pack.path)


def test_not_a_pack(tmp_path):
    f = tmp_path / "junk.zip"
    f.write_text("hello")
    with pytest.raises(FormatError, match="junk.zip"):
        open_pack(f)
    with pytest.raises(SkelkdError, match="no such pack"):
        open_pack(tmp_path / "absent")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("other.txt", "x")
    with pytest.raises(FormatError, match="meta.json"):
        open_pack(tmp_path / "empty.zip")


def test_overwrite_protection(tmp_path, make_pack):
    pack = make_pack()
    with pytest.raises(SkelkdError, match="already exists"):
        write_pack(pack.path, make_samples("coco", 2, 2), "coco", ["a", "b"])
    write_pack(pack.path, make_samples("coco", 2, 2), "coco", ["a", "b"], overwrite=True)
    assert len(open_pack(pack.path)) == 2


def test_user_layout_travels_with_pack(tmp_path):
    from skelkd.layouts import Layout

    spec = {"name": "travelling5", "joints": ["head", "left_h", "right_h", "left_f", "right_f"],
            "bones": [[0, 1], [0, 2], [0, 3], [0, 4]], "center": 0,
            "parts": {"head": [0], "left_arm": [1], "right_arm": [2], "left_leg": [3],
                      "right_leg": [4]}}
    lay = Layout.from_dict(spec)
    s = Sample(np.ones((1, 3, 5, 2), np.float32), np.ones((1, 3, 5), np.float32), 0, "a",
               "travelling5")
    write_pack(tmp_path / "u.skpack", [s], lay, ["x"])
    assert open_pack(tmp_path / "u.skpack").layout.joints == lay.joints


def test_embedded_penn_action_pack():
    pack = embedded_pack()
    assert len(pack) == 2326 and len(pack.class_names) == 15
    assert len(pack.split_indices("official", "train")) == 1258
    assert len(pack.split_indices("official", "test")) == 1068
    assert pack.layout.name == "penn_action" and pack.simulated is None
