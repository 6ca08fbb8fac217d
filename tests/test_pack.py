import hashlib
import json
import zipfile

import numpy as np
import pytest

from skelkd.errors import FormatError, SkelkdError
from skelkd.io import embedded_pack, open_pack
from skelkd.io.pack import PackWriter, Sample, meta_digest, write_pack

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


def test_a_samples_frame_rate_is_its_meta_fps_else_the_default():
    from skelkd.io.pack import DEFAULT_FPS

    kp, sc = np.zeros((1, 4, 2, 2), np.float32), np.ones((1, 4, 2), np.float32)
    assert Sample(kp, sc, 0, "a", "coco", {"fps": 25}).fps == 25.0
    assert Sample(kp, sc, 0, "a", "coco", {"fps": None}).fps == DEFAULT_FPS == 30.0
    assert Sample(kp, sc, 0, "a", "coco").fps == DEFAULT_FPS


def test_meta_fields_are_documented_json(tmp_path, make_pack):
    pack = make_pack()
    meta = json.loads((pack.path / "meta.json").read_text())
    assert meta["format"] == "skelkd-pack" and meta["version"] == 3
    assert set(meta["checksums"]) == {"keypoints.npy", "scores.npy", "index.npy",
                                      "samples.json", "splits.json"}
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


def test_corrupted_data_is_detected_when_first_read(tmp_path, make_pack):
    pack = make_pack(n=6)
    path = pack.path / "keypoints.npy"
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x5A  # one flipped byte in the last sample's data; sizes unchanged
    path.write_bytes(bytes(raw))
    damaged = open_pack(pack.path)  # opening stays cheap: the big arrays are not hashed
    with pytest.raises(FormatError, match=r"keypoints.npy: field 'block 0.*corrupted"):
        damaged[5]
    with pytest.raises(FormatError, match="corrupted"):
        open_pack(pack.path).verify()


@pytest.mark.parametrize("member", ["samples.json", "splits.json", "index.npy"])
def test_edited_members_are_detected_on_open(tmp_path, make_pack, member):
    pack = make_pack(n=6)
    path = pack.path / member
    if member == "index.npy":
        index = np.load(path)
        index[0, 3] = 1 - index[0, 3]  # another valid label
        np.save(path, index)
    else:
        doc = json.loads(path.read_text())
        text = json.dumps(doc).replace("inst000", "instXYZ") if member == "samples.json" else (
            json.dumps({"official": {"train": [0], "test": [1]}}))
        path.write_text(text)
    with pytest.raises(FormatError, match=f"{member}: field '\\(checksum\\)'"):
        open_pack(pack.path)


def test_corrupted_archive_is_detected(tmp_path, make_pack):
    pack = make_pack(n=6, archive=True, name="a.skpack.zip")
    raw = bytearray(pack.path.read_bytes())
    start = raw.find(b"keypoints.npy") + 200
    raw[start] ^= 0xFF
    pack.path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="a.skpack.zip"):
        open_pack(pack.path)


def test_version_1_packs_without_checksums_still_open(tmp_path, make_pack):
    pack = make_pack(n=4)
    meta = json.loads((pack.path / "meta.json").read_text())
    meta["version"] = 1
    del meta["checksums"]
    (pack.path / "meta.json").write_text(json.dumps(meta))
    old = open_pack(pack.path)
    assert len(old) == 4 and old[3].num_frames > 0
    old.verify()  # nothing to check


def test_pickled_arrays_refused(tmp_path, make_pack):
    pack = make_pack()
    np.save(pack.path / "index.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    # a crafted pack would carry a matching checksum: the pickle must be refused anyway
    meta = json.loads((pack.path / "meta.json").read_text())
    meta["checksums"]["index.npy"] = hashlib.sha256(
        (pack.path / "index.npy").read_bytes()).hexdigest()
    meta["meta_sha256"] = meta_digest(meta)
    (pack.path / "meta.json").write_text(json.dumps(meta))
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


@pytest.mark.parametrize("kind", ["folder", "file", "input", "inside an input"])
def test_overwrite_replaces_only_a_pack_that_is_not_an_input(tmp_path, make_pack, kind):
    """--overwrite never destroys what is not skelkd's own output, nor what the same
    command reads: a user's folder, a user's file, the pack being simulated from."""
    pack = make_pack()
    protect = []
    if kind == "folder":
        out = tmp_path / "thesis"
        out.mkdir()
        (out / "thesis.tex").write_text("years of work")
    elif kind == "file":
        out = tmp_path / "notes.txt"
        out.write_text("keep me")
    elif kind == "input":
        out, protect = pack.path, [pack.path]
    else:
        out, protect = pack.path, [pack.path / "meta.json"]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SkelkdError, match="nothing was changed"):
        write_pack(out, make_samples("coco", 2, 2), "coco", ["a", "b"], overwrite=True,
                   protect=protect)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_simulate_refuses_to_overwrite_its_own_input(tmp_path, make_pack):
    from skelkd.data.simulate import get_preset, simulate_pack

    hq = make_pack("penn_action", n=4, num_classes=2, name="hq.skpack")
    with pytest.raises(SkelkdError, match="is an input of this command"):
        simulate_pack(hq, hq.path, get_preset("fast"), overwrite=True, progress=False)
    assert open_pack(hq.path).layout.name == "penn_action"


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


def test_a_dead_writers_temporary_is_cleaned_and_packs_honour_the_umask(tmp_path):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".out.skpack.{dead}-abc"
    stale.mkdir()
    (stale / "keypoints.npy").write_bytes(b"x" * 100)
    mine = tmp_path / f".out.skpack.{os.getpid()}-live"  # a live writer's: kept
    mine.mkdir()
    old = os.umask(0o022)
    try:
        write_pack(tmp_path / "out.skpack", make_samples("coco", 2, 2), "coco", ["a", "b"])
    finally:
        os.umask(old)
    assert not stale.exists() and mine.exists()
    assert (tmp_path / "out.skpack").stat().st_mode & 0o777 == 0o755


def test_an_edited_meta_json_is_caught_and_version_2_packs_still_open(tmp_path, make_pack):
    """Swapping two class names (or any edit of meta.json) passed every check before
    version 3; now meta.json's own digest catches it. Version 2 packs have no digest."""
    pack = make_pack(num_classes=3)
    path = pack.path / "meta.json"
    meta = json.loads(path.read_text())
    names = meta["class_names"]
    meta["class_names"] = [names[1], names[0], *names[2:]]
    path.write_text(json.dumps(meta, indent=1))
    with pytest.raises(FormatError, match="meta_sha256"):
        open_pack(pack.path)
    meta["version"] = 2  # a version 2 pack: no digest to check
    del meta["meta_sha256"]
    path.write_text(json.dumps(meta, indent=1))
    assert open_pack(pack.path).class_names[0] == names[1]
