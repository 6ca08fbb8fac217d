"""A test per reader: a tiny synthetic file in the real format, a malformed one (the
error names the file and the field, and no pack is left), and, where the real dataset
is present under ../shared/data, the real counts."""

import json
import pickle

import numpy as np
import pytest
import scipy.io

from skelkd.errors import FormatError, SkelkdError
from skelkd.io import import_dataset, open_pack
from skelkd.layouts import get_layout

from .conftest import needs_shared


def _penn(path, action="squat", train=1, t=6, **override):
    rng = np.random.default_rng(0)
    fields = {"action": np.array([action]), "pose": np.array(["front"]),
              "x": rng.uniform(0, 480, (t, 13)), "y": rng.uniform(0, 360, (t, 13)),
              "visibility": (rng.random((t, 13)) > 0.2).astype(np.uint8),
              "train": np.array([[train]]), "dimensions": np.array([[360, 480, t]]),
              "nframes": np.array([[t]])}
    fields.update(override)
    scipy.io.savemat(path, fields)


def _check_bad(fmt, src, out, field, **kw):
    with pytest.raises(FormatError) as info:
        import_dataset(fmt, src, out, progress=False, **kw)
    msg = str(info.value)
    assert field in msg, msg
    assert not out.exists()
    return msg


def test_penn_action(tmp_path):
    d = tmp_path / "labels"
    d.mkdir()
    _penn(d / "0001.mat", "squat", 1)
    _penn(d / "0002.mat", "bowl", -1, t=9)
    pack = import_dataset("penn_action", d, tmp_path / "p.skpack", progress=False)
    assert len(pack) == 2 and pack.class_names[pack.labels[0]] == "squat"
    assert pack.splits["official"] == {"train": [0], "test": [1]}
    s = pack[1]
    assert s.keypoints.shape == (1, 9, 13, 2) and set(np.unique(s.scores)) <= {0.5, 1.0}
    assert s.instance_id == "0002" and s.meta["view"] == "front"
    _penn(d / "0003.mat", "squat", 1, visibility=np.ones((5, 13)))
    msg = _check_bad("penn_action", d, tmp_path / "q.skpack", "field 'visibility'")
    assert "0003.mat" in msg
    (d / "0003.mat").write_bytes(b"not a mat file")
    _check_bad("penn_action", d, tmp_path / "q.skpack", "0003.mat")
    _penn(d / "0003.mat", "dancing", 1)
    _check_bad("penn_action", d, tmp_path / "q.skpack", "field 'action'")


def test_utd_mhad(tmp_path):
    d = tmp_path / "Skeleton"
    d.mkdir()
    rng = np.random.default_rng(1)
    for a, s in ((1, 1), (27, 2)):
        scipy.io.savemat(d / f"a{a}_s{s}_t1_skeleton.mat", {"d_skel": rng.normal(size=(20, 3, 7))})
    pack = import_dataset("utd_mhad", d, tmp_path / "u.skpack", progress=False)
    assert len(pack) == 2 and len(pack.class_names) == 27 and pack.coord_dims == 3
    assert pack.splits["official"] == {"train": [0], "test": [1]}
    assert pack.labels.tolist() == [0, 26] and pack[0].keypoints.shape == (1, 7, 20, 3)
    scipy.io.savemat(d / "a2_s3_t1_skeleton.mat", {"d_skel": rng.normal(size=(25, 3, 7))})
    _check_bad("utd_mhad", d, tmp_path / "v.skpack", "field 'd_skel'")


def test_nw_ucla(tmp_path):
    d = tmp_path / "all_sqe"
    d.mkdir()
    rng = np.random.default_rng(2)
    for name, label in (("a01_s01_e00_v01", 1), ("a12_s02_e01_v03", 10)):
        (d / f"{name}.json").write_text(json.dumps(
            {"file_name": name, "skeletons": rng.normal(size=(5, 20, 3)).tolist(),
             "label": label}))
    pack = import_dataset("nw_ucla", d, tmp_path / "n.skpack", progress=False)
    assert pack.labels.tolist() == [0, 9] and pack.class_names[9] == "carry"
    assert pack.splits["official"] == {"train": [0], "test": [1]}
    (d / "a02_s01_e00_v01.json").write_text(json.dumps({"skeletons": [[1, 2]], "label": 2}))
    _check_bad("nw_ucla", d, tmp_path / "m.skpack", "field 'skeletons'")
    (d / "a02_s01_e00_v01.json").write_text('{"skeletons": [], "label": 5}')
    _check_bad("nw_ucla", d, tmp_path / "m.skpack", "field 'label'")


def _ntu_text(frames):
    """frames: list of list of (body_id, states[25])."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, states in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.1 0.2 2")
            lines.append("25")
            for j in range(25):
                lines.append(f"{0.1 * j} {0.2} {3.0} 1 2 {100 + j} 200 1 0 0 0 {states[j]}")
    return "\n".join(lines) + "\n"


def test_ntu_skeleton(tmp_path):
    d = tmp_path / "ntu"
    d.mkdir()
    st = [2] * 25
    st[7] = 1
    st[8] = 0
    frames = [[("111", st)], [("111", st), ("222", [2] * 25)], []]
    (d / "S001C002P003R001A050.skeleton").write_text(_ntu_text(frames))
    (d / "S001C001P002R002A001.skeleton").write_text(_ntu_text([[], []]))  # no body: skipped
    pack = import_dataset("ntu", d, tmp_path / "n.skpack", progress=False)
    assert len(pack) == 1 and pack.skipped and "no body" in pack.skipped[0]
    s = pack[0]
    assert s.keypoints.shape == (2, 3, 25, 3) and s.label == 49
    assert s.scores[0, 0, 7] == 0.5 and s.scores[0, 0, 8] == 0 and s.scores[0, 0, 0] == 1
    assert s.scores[1, 0].max() == 0 and s.scores[1, 1].min() == 1  # body 2 only in frame 2
    assert (s.scores[:, 2] == 0).all()
    assert pack.splits["xsub"] == {"test": [0]} and pack.splits["xview"] == {"train": [0]}
    color = import_dataset("ntu", d, tmp_path / "c.skpack", progress=False, coords="color")
    assert color.coord_dims == 2 and color[0].keypoints[0, 0, 3, 0] == 103
    bad = _ntu_text(frames).replace("\n25\n", "\n24\n", 1)
    (d / "S001C002P003R001A050.skeleton").write_text(bad)
    _check_bad("ntu", d, tmp_path / "b.skpack", "joint count")
    (d / "S001C002P003R001A050.skeleton").write_text("3\n1\n")
    _check_bad("ntu", d, tmp_path / "b.skpack", "body info (line 3)")


def test_pyskl_needs_opt_in(tmp_path):
    rng = np.random.default_rng(3)
    annos = [{"frame_dir": f"v{i}", "label": i % 2, "keypoint": rng.normal(size=(1, 4, 17, 2)),
              "keypoint_score": rng.random((1, 4, 17)), "total_frames": 4} for i in range(3)]
    f = tmp_path / "anno.pkl"
    f.write_bytes(pickle.dumps({"split": {"xsub_train": ["v0", "v1"], "xsub_val": ["v2"],
                                          "xview_train": ["v2", "v0"], "xview_val": ["v1"]},
                                "annotations": annos}))
    with pytest.raises(SkelkdError, match="trust-pickle"):
        import_dataset("pyskl", f, tmp_path / "p.skpack", progress=False)
    assert not (tmp_path / "p.skpack").exists()
    pack = import_dataset("pyskl", f, tmp_path / "p.skpack", progress=False, trust_pickle=True)
    assert len(pack) == 3 and pack.layout.name == "coco"
    # every split a sample is in, pyskl's "val" as the test part
    assert pack.splits["xsub"] == {"train": [0, 1], "test": [2]}
    assert pack.splits["xview"] == {"train": [0, 2], "test": [1]}
    assert pack.class_names == ["class_0", "class_1"]
    names = tmp_path / "label_map.txt"
    names.write_text("sit down\nstand up\n")
    named = import_dataset("pyskl", f, tmp_path / "n.skpack", progress=False,
                           trust_pickle=True, label_map=str(names))
    assert named.class_names == ["sit down", "stand up"]
    names.write_text("only one\n")
    _check_bad("pyskl", f, tmp_path / "m.skpack", "at least 2 distinct class names",
               trust_pickle=True, label_map=str(names))
    f.write_bytes(pickle.dumps({"annotations": [{"label": 0}]}))
    _check_bad("pyskl", f, tmp_path / "q.skpack", "annotations[0]", trust_pickle=True)


def _coco_doc(frames=3, tracked=False):
    rng = np.random.default_rng(4)
    images = [{"id": 10 + t, "file_name": f"{t:04d}.jpg", "frame_id": t} for t in range(frames)]
    annos = []
    for t in range(frames):
        for p in range(2):
            k = np.concatenate([rng.uniform(0, 100, (17, 2)), np.full((17, 1), 2.0)], 1)
            k[3, 2] = 0
            k[4, 2] = 1
            a = {"image_id": 10 + t, "keypoints": k.ravel().tolist(), "score": 0.9 - p * 0.1}
            if tracked:
                a["track_id"] = p
            annos.append(a)
    return {"images": images, "annotations": annos, "categories": [{"id": 1}]}


def test_coco_json(tmp_path):
    d = tmp_path / "coco"
    (d / "jump").mkdir(parents=True)
    (d / "wave").mkdir()
    (d / "jump" / "clip1.json").write_text(json.dumps(_coco_doc()))
    (d / "wave" / "clip2.json").write_text(json.dumps(_coco_doc(4, tracked=True)))
    pack = import_dataset("coco", d, tmp_path / "c.skpack", progress=False)
    assert pack.class_names == ["jump", "wave"] and pack.instance_ids == ["clip1", "clip2"]
    s = pack[0]
    assert s.keypoints.shape == (2, 3, 17, 2)
    assert s.scores[0, 0, 3] == 0 and s.scores[0, 0, 4] == 0.5 and s.scores[0, 0, 0] == 1
    assert pack[1].keypoints.shape == (2, 4, 17, 2)
    doc = _coco_doc()
    doc["annotations"][2]["keypoints"] = [1, 2, 3]
    (d / "wave" / "clip2.json").write_text(json.dumps(doc))
    _check_bad("coco", d, tmp_path / "b.skpack", "field 'keypoints'")
    doc["annotations"][2]["keypoints"] = doc["annotations"][0]["keypoints"]
    doc["annotations"][2]["image_id"] = 999
    (d / "wave" / "clip2.json").write_text(json.dumps(doc))
    _check_bad("coco", d, tmp_path / "b.skpack", "field 'image_id'")


def test_pifpaf_json(tmp_path):
    rng = np.random.default_rng(5)

    def pred(score):
        k = np.concatenate([rng.uniform(0, 50, (17, 2)), rng.uniform(0, 1, (17, 1))], 1)
        k[0, 2] = 0
        return {"keypoints": k.ravel().tolist(), "score": score, "category_id": 1}

    f = tmp_path / "video.pifpaf.jsonl"
    f.write_text("\n".join(json.dumps({"frame": t, "predictions": [pred(0.5), pred(0.8)]})
                           for t in range(5)))
    pack = import_dataset("pifpaf", f, tmp_path / "p.skpack", progress=False)
    s = pack[0]
    assert s.keypoints.shape == (2, 5, 17, 2) and (s.scores[:, :, 0] == 0).all()
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(3):
        (frames / f"{t:03d}.predictions.json").write_text(json.dumps([pred(0.7)]))
    assert open_pack(import_dataset("pifpaf", frames, tmp_path / "q.skpack",
                                    progress=False).path)[0].keypoints.shape == (1, 3, 17, 2)
    f.write_text('{"frame": 0, "predictions": [{"keypoints": [1, 2]}]}\n')
    _check_bad("pifpaf", f, tmp_path / "b.skpack", "keypoints")


def test_blazepose_npz(tmp_path):
    d = tmp_path / "clips" / "clipA"
    d.mkdir(parents=True)
    xy = np.random.default_rng(6).uniform(0, 300, (8, 33, 2)).astype(np.float32)
    xy[3] = 0  # a frame where no person was found
    np.savez(d / "blazepose_full.npz", keypoints_xy=xy, visibility=np.full((8, 33), 0.9),
             img_shape=np.array([240, 320]), source=np.array("clipA.avi"))
    pack = import_dataset("blazepose", tmp_path / "clips", tmp_path / "b.skpack", progress=False)
    s = pack[0]
    assert s.instance_id == "blazepose_full" and s.meta["image_width"] == 320
    assert (s.scores[0, 3] == 0).all() and s.scores[0, 0, 0] == pytest.approx(0.9)
    np.savez(d / "blazepose_full.npz", keypoints_xy=xy[:, :17], visibility=np.ones((8, 17)))
    _check_bad("blazepose", tmp_path / "clips", tmp_path / "c.skpack", "field 'keypoints_xy'")
    np.savez(d / "blazepose_full.npz", keypoints_xy=np.array([object()], dtype=object),
             visibility=np.ones(1))
    _check_bad("blazepose", tmp_path / "clips", tmp_path / "c.skpack", "pickled")


def test_jhmdb_and_numpy(tmp_path):
    d = tmp_path / "catch" / "clip7"
    d.mkdir(parents=True)
    scipy.io.savemat(d / "joint_positions.mat", {"pos_img": np.ones((2, 15, 4))})
    pack = import_dataset("jhmdb", tmp_path, tmp_path / "j.skpack", progress=False)
    assert pack[0].keypoints.shape == (1, 4, 15, 2) and pack.instance_ids == ["clip7"]
    assert pack.class_names == ["catch"]
    scipy.io.savemat(d / "joint_positions.mat", {"pos_img": np.ones((3, 15, 4))})
    _check_bad("jhmdb", tmp_path, tmp_path / "k.skpack", "field 'pos_img'")
    a = tmp_path / "arrays"
    a.mkdir()
    np.save(a / "x.npy", np.ones((6, 25, 3)))
    with pytest.raises(SkelkdError, match="--layout"):
        import_dataset("numpy", a, tmp_path / "n.skpack", progress=False)
    assert import_dataset("numpy", a, tmp_path / "n.skpack", progress=False,
                          layout="ntu")[0].keypoints.shape == (1, 6, 25, 3)
    np.save(a / "y.npy", np.ones((6, 17, 3)))
    _check_bad("numpy", a, tmp_path / "m.skpack", "y.npy", layout="ntu")


def test_unknown_format():
    with pytest.raises(SkelkdError, match="unknown format"):
        import_dataset("mocap", ".", "x")


# ----------------------------------------------------------------------------- real data


@pytest.mark.parametrize("fmt, folder, samples, classes, splits", [
    ("penn_action", ("penn_action", "labels"), 2326, 15, {"train": 1258, "test": 1068}),
    ("utd_mhad", ("utd_mhad", "Skeleton"), 861, 27, {"train": 431, "test": 430}),
    ("nw_ucla", ("nw_ucla", "all_sqe"), 1484, 10, {"train": 1020, "test": 464}),
])
def test_real_dataset_counts(tmp_path, fmt, folder, samples, classes, splits):
    src = needs_shared(*folder)
    pack = import_dataset(fmt, src, tmp_path / "real.skpack", progress=False)
    assert len(pack) == samples and len(pack.class_names) == classes
    assert {k: len(v) for k, v in pack.splits["official"].items()} == splits


def test_real_ntu_files(tmp_path):
    pack = import_dataset("ntu", needs_shared("ntu_samples"), tmp_path / "n.skpack",
                          progress=False)
    assert len(pack) == 5
    two = pack[pack.instance_ids.index("S001C003P008R002A058")]
    assert two.num_persons == 2 and pack.class_names[two.label] == "handshaking"


def test_real_utd_right_hand_actions_move_the_right_wrist(tmp_path):
    """Left and right are the subject's own: right-hand actions move right_wrist most."""
    pack = import_dataset("utd_mhad", needs_shared("utd_mhad", "Skeleton"),
                          tmp_path / "u.skpack", progress=False)
    lay = get_layout(pack.layout.name)
    lw, rw = lay.index("left_wrist"), lay.index("right_wrist")
    for action in (0, 2, 7):  # right arm swipe left, right hand wave, right hand draw x
        moves = np.array([[np.linalg.norm(np.diff(pack[i].keypoints[0, :, j], axis=0),
                                          axis=-1).sum() for j in (lw, rw)]
                          for i in np.flatnonzero(pack.labels == action)])
        assert (moves[:, 1] > moves[:, 0]).mean() > 0.9


def test_a_crash_of_the_mat_parser_is_an_error_naming_the_file(tmp_path, monkeypatch):
    import signal
    import subprocess
    import sys

    from skelkd.io.readers import matfile

    d = tmp_path / "labels"
    d.mkdir()
    _penn(d / "0001.mat")
    # a helper that dies with SIGSEGV once it has the request, as SciPy does on a damaged
    # file (killing the real helper before the request raced with load_mat noticing the
    # death and starting a fresh one: the test failed now and then on a loaded machine)
    crasher = subprocess.Popen(
        [sys.executable, "-c", "import os, signal, sys; sys.stdin.buffer.read(1); "
         f"os.kill(os.getpid(), {int(signal.SIGSEGV)})"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    monkeypatch.setattr(matfile, "_WORKER", crasher)
    with pytest.raises(FormatError, match="0001.mat.*crashed SciPy's parser"):
        matfile.load_mat(d / "0001.mat")
    assert "x" in matfile.load_mat(d / "0001.mat")  # a fresh helper for the next file


def test_mat_import_from_a_script_without_main_guard(tmp_path):
    import subprocess
    import sys

    d = tmp_path / "labels"
    d.mkdir()
    _penn(d / "0001.mat")
    script = tmp_path / "script.py"
    script.write_text("from skelkd.io import import_dataset\n"
                      f"p = import_dataset('penn_action', {str(d)!r}, {str(tmp_path / 'o')!r},"
                      " progress=False)\nprint('samples', len(p))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "samples 1" in out.stdout


def test_pyskl_export_round_trip(tmp_path):
    """A pack written as a pyskl annotation file and read back: the same joints, scores,
    labels, class names (through the label map written beside it) and splits; the
    validation splits skelkd carves are not written (pyskl never reads them)."""
    from click.testing import CliRunner

    from skelkd.cli import main
    from skelkd.io import embedded_pack

    pack = embedded_pack()
    out = tmp_path / "penn.pkl"
    r = CliRunner().invoke(main, ["data", "export", "pyskl", "embedded:penn_action", str(out)])
    assert r.exit_code == 0, r.output
    doc = pickle.loads(out.read_bytes())
    assert set(doc["split"]) == {"official_train", "official_val"}  # test as pyskl's val
    assert doc["annotations"][0]["keypoint"].shape[-2:] == (13, 2)
    back = import_dataset("pyskl", out, tmp_path / "back.skpack", progress=False,
                          trust_pickle=True, layout="penn_action",
                          label_map=str(out.with_suffix(".txt")))
    assert back.class_names == pack.class_names and len(back) == len(pack)
    for i in (0, len(pack) // 2, len(pack) - 1):
        a, b = pack[i], back[i]
        assert (a.instance_id, a.label) == (b.instance_id, b.label)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.scores, b.scores)
    for subset in ("train", "test"):
        assert list(back.splits["official"][subset]) == list(pack.splits["official"][subset])
    r = CliRunner().invoke(main, ["data", "export", "pyskl", "embedded:penn_action", str(out)])
    assert r.exit_code == 2 and "--overwrite" in r.output
