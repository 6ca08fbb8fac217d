import json
import os
import re
import shutil

import numpy as np
import pytest
import scipy.io
from click.testing import CliRunner

from skelkd.cli import main
from skelkd.config import load_config


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def _penn_dir(tmp_path, bad=False):
    d = tmp_path / "labels"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (action, train) in enumerate([("squat", 1), ("bowl", -1), ("squat", -1)]):
        t = 5
        scipy.io.savemat(d / f"{i + 1:04d}.mat", {
            "action": np.array([action]), "pose": np.array(["front"]),
            "x": rng.uniform(0, 100, (t, 13)), "y": rng.uniform(0, 100, (t, 13)),
            "visibility": np.ones((t, 13)), "train": np.array([[train]]),
            "dimensions": np.array([[100, 100, t]]), "nframes": np.array([[t]])})
    if bad:
        (d / "0009.mat").write_bytes(b"garbage")
    return d


def test_help_lists_commands():
    out = run("--help").output
    for cmd in ("demo", "data", "simulate", "layouts"):
        assert cmd in out
    assert "import" in run("data", "--help").output
    assert "Examples" in run("data", "import", "--help").output


def test_import_info_show_simulate(tmp_path):
    src = _penn_dir(tmp_path)
    pack = tmp_path / "p.skpack"
    r = run("data", "import", "penn_action", str(src), str(pack))
    assert r.exit_code == 0 and "3 samples" in r.output and "train 1" in r.output
    info = json.loads(run("data", "info", str(pack), "--json").output)
    assert info["samples"] == 3 and info["splits"]["official"]["test"]["samples"] == 2
    png = tmp_path / "s.png"
    r = run("data", "show", str(pack), "--index", "1", "--simulate", "fast", "--occlusion", "0.6",
            "--frames", "0,2,4", "--out", str(png))
    assert r.exit_code == 0 and png.stat().st_size > 1000
    lq = tmp_path / "lq.skpack"
    r = run("simulate", str(pack), str(lq), "--preset", "poor", "--set", "swap_rate=0.2",
            "--layout", "openpose")
    assert r.exit_code == 0 and "SIMULATED" in r.output
    info = json.loads(run("data", "info", str(lq), "--json").output)
    assert info["layout"] == "openpose" and info["simulated"]


def test_user_errors_are_one_line_without_traceback(tmp_path):
    src = _penn_dir(tmp_path, bad=True)
    out = tmp_path / "p.skpack"
    r = run("data", "import", "penn_action", str(src), str(out))
    assert r.exit_code == 2 and "0009.mat" in r.output and "Traceback" not in r.output
    assert not out.exists() and not any(p.name.startswith(".p.skpack") for p in tmp_path.iterdir())
    for args, text in [
        (("data", "import", "nosuch", str(src), str(out)), "unknown format"),
        (("data", "import", "penn_action", str(src), str(out), "--coords", "3d"), "does not take"),
        (("data", "info", str(tmp_path / "missing")), "no such pack"),
        (("simulate", str(tmp_path / "missing"), str(out)), "no such pack"),
        (("layouts", "nolayout"), "unknown layout"),
        (("data", "show", "--frames", "a,b"), "--frames"),
    ]:
        r = run(*args)
        assert r.exit_code == 2 and text in r.output and "Traceback" not in r.output, r.output


def test_layouts_command(tmp_path):
    assert "blazepose" in run("layouts").output
    out = run("layouts", "coco").output
    assert "left_wrist" in out and "left_arm" in out


def test_import_with_a_user_layout_file(tmp_path):
    layout = tmp_path / "five.yaml"
    layout.write_text("name: five_points\njoints: [head, left_hand, right_hand, left_foot, "
                      "right_foot]\nbones: [[0, 1], [0, 2], [0, 3], [0, 4]]\ncenter: 0\n"
                      "parts: {head: [0], left_arm: [1], right_arm: [2], left_leg: [3], "
                      "right_leg: [4]}\n")
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    np.save(arrays / "clip.npy", np.ones((4, 5, 2), np.float32))
    r = run("data", "import", "numpy", str(arrays), str(tmp_path / "u.skpack"), "--layout",
            str(layout))
    assert r.exit_code == 0 and "layout five_points" in r.output
    layout.write_text("name: broken\njoints: [a]\n")
    r = run("data", "import", "numpy", str(arrays), str(tmp_path / "v.skpack"), "--layout",
            str(layout))
    assert r.exit_code == 2 and "five.yaml" in r.output and "missing field" in r.output


def test_train_teacher_student_report(tmp_path, make_pack):
    hq = make_pack("penn_action", n=24, num_classes=3, name="hq.skpack")
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(
        f"name: tiny\ndata: {{hq: {hq.path}}}\n"
        "model: {overrides: {channels: [8, 16], strides: [1, 2]}}\n"
        "input: {num_frames: 8}\n"
        "train: {epochs: 1, batch_size: 8, per_class: 2, progress: false}\n"
        "eval: {ops: [0.0, 0.6]}\n")
    runs = tmp_path / "runs"
    r = run("train", "teacher", str(cfg), "--runs", str(runs))
    assert r.exit_code == 0, r.output
    assert "top-1" in r.output and (runs / "tiny" / "teacher" / "part_matrix.png").exists()
    assert re.search(r"epoch 1/1: loss \d+\.\d{4} \(", r.output)  # no bars: a line an epoch
    r = run("train", "student", str(cfg), "--runs", str(runs), "--distill", "pmsc", "--op",
            "0.6", "--set", "distill.temperature=0.2")
    assert r.exit_code == 0, r.output
    metrics = json.loads((runs / "tiny" / "student-pmsc-op0.6" / "metrics.json").read_text())
    assert set(metrics["by_op"]) == {"0", "0.6"} and metrics["environment"]["torch"]
    teacher = json.loads((runs / "tiny" / "teacher" / "metrics.json").read_text())
    assert metrics["teacher_top1"] == teacher["top1"]  # which training it distilled from
    saved = (runs / "tiny" / "student-pmsc-op0.6" / "config.yaml").read_text()
    assert "temperature: 0.2" in saved and "mode: pmsc" in saved
    r = run("report", str(runs / "tiny"))
    assert r.exit_code == 0 and "| teacher |" in r.output
    assert "| student | pmsc tau=0.2 | 0.6 |" in r.output
    # a student of a teacher elsewhere (--teacher), reported from the folder of runs: the
    # teacher is in the table, once
    other = tmp_path / "other"
    r = run("train", "student", str(cfg), "--runs", str(other), "--distill", "kl", "--op",
            "0", "--teacher", str(runs / "tiny" / "teacher"))
    assert r.exit_code == 0, r.output
    r = run("report", str(other))
    assert r.exit_code == 0 and r.output.count("| teacher |") == 1, r.output
    assert "| student | kl T=4 | 0.0 | 0 |" in r.output
    r = run("report", str(runs), str(other))
    assert r.exit_code == 0 and "| teacher | - | - | 0 |" in r.output
    assert r.output.splitlines()[2].endswith("| 1 |")  # the same teacher counted once
    r = run("part-matrix", str(runs / "tiny" / "teacher"))
    assert r.exit_code == 0 and "left_arm" in r.output and "flat rows" in r.output
    # E again, on samples the teacher did not fit (here the test subset: the tiny run's
    # split has no validation part); a subset the split lacks is one clear error
    saved = json.loads((runs / "tiny" / "teacher" / "part_matrix.json").read_text())
    r = run("part-matrix", str(runs / "tiny" / "teacher"), "--subset", "test")
    assert r.exit_code == 0 and re.search(r"flat rows .*: \d of 3", r.output), r.output
    assert re.search(r"flat rows with E from the probability drops .*: \d of 3", r.output)
    again = json.loads((runs / "tiny" / "teacher" / "part_matrix.json").read_text())
    assert again["class_names"] == saved["class_names"]
    r = run("part-matrix", str(runs / "tiny" / "teacher"), "--subset", "nope")
    assert r.exit_code == 2 and "has no subset 'nope'" in r.output
    # E from the graded rates: a student of them says so; a teacher's file without
    # them is one clear error naming it and the way to compute them
    assert len(again["probability_drops"]) == 3
    drop = tmp_path / "drop"
    r = run("train", "student", str(cfg), "--runs", str(drop), "--op", "0", "--teacher",
            str(runs / "tiny" / "teacher"), "--set", "distill.part_matrix_source=drop")
    assert r.exit_code == 0, r.output
    label = json.loads((drop / "tiny" / "student-pmsc-op0" / "metrics.json").read_text())
    assert label["distill"].endswith("E from drop")
    old = tmp_path / "old-teacher"
    shutil.copytree(runs / "tiny" / "teacher", old)
    del again["probability_drops"]
    (old / "part_matrix.json").write_text(json.dumps(again))
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "drop2"), "--op", "0",
            "--teacher", str(old), "--set", "distill.part_matrix_source=drop")
    assert r.exit_code != 0 and "part_matrix.json: no probability drops" in r.output
    assert "--subset train" in r.output and "Traceback" not in r.output
    # E on samples the teacher did not fit (distill.part_matrix_subset=val): computed once
    # on the run's validation subset, kept beside the teacher; a split without one is
    # one clear error
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "val"), "--op", "0",
            "--teacher", str(runs / "tiny" / "teacher"),
            "--set", "distill.part_matrix_subset=val")
    assert r.exit_code == 2 and "has no subset 'val'" in r.output, r.output
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "val"), "--op", "0",
            "--teacher", str(runs / "tiny" / "teacher"),
            "--set", "distill.part_matrix_subset=val", "--set", "data.val_subset=test")
    assert r.exit_code == 0, r.output
    on_test = json.loads((runs / "tiny" / "teacher" / "part_matrix_test.json").read_text())
    from skelkd.experiment import part_matrix_on

    np.testing.assert_allclose(on_test["error_rates"],
                               part_matrix_on(runs / "tiny" / "teacher", "test").rates)
    label = json.loads((tmp_path / "val" / "tiny" / "student-pmsc-op0" / "metrics.json"
                        ).read_text())
    assert label["distill"].endswith("E on val")
    # E cross-fitted: each training sample read by a fold teacher trained without it
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "cf"), "--op", "0",
            "--teacher", str(runs / "tiny" / "teacher"),
            "--set", "distill.part_matrix_subset=crossfit", "--set", "distill.part_matrix_folds=2")
    assert r.exit_code == 0, r.output
    label = json.loads((tmp_path / "cf" / "tiny" / "student-pmsc-op0" / "metrics.json"
                        ).read_text())
    assert label["distill"].endswith("E cross-fitted (2 folds)")
    crossfit = json.loads((runs / "tiny" / "teacher" / "part_matrix_crossfit2.json").read_text())
    from skelkd.experiment import (
        crossfit_folds,
        load_data,
        teacher_config,
        teacher_train_indices,
    )
    from skelkd.train import load_module
    from skelkd.train.api import teacher_probe

    saved_cfg = load_config(runs / "tiny" / "teacher" / "config.yaml")
    hq_pack, lq_pack, train_idx, _ = load_data(saved_cfg, runs / "tiny")
    hq_train = teacher_train_indices(saved_cfg, hq_pack, lq_pack, train_idx)
    fold = crossfit_folds(hq_pack.labels[hq_train], 2, saved_cfg.train.seed)
    for y in range(3):  # every fold holds its share of every class
        assert np.ptp(np.bincount(fold[hq_pack.labels[hq_train] == y], minlength=2)) <= 1
    wrong, counts = np.zeros((3, 5)), np.zeros(3)
    for k in range(2):  # fold k read by the teacher trained on the other fold
        fitted = load_module(runs / "tiny" / "teacher" / "crossfit" / f"fold{k}").model
        probe = teacher_probe(fitted, hq_pack, hq_train[fold == k], teacher_config(saved_cfg))
        for y, occluded in zip(probe.labels, probe.occluded.argmax(2), strict=True):
            counts[y] += 1
            wrong[y] += occluded != y
    np.testing.assert_allclose(crossfit["error_rates"], wrong / counts[:, None])
    # a teacher ensemble: --teacher given twice; E the mean of the two teachers'
    r = run("train", "teacher", str(cfg), "--runs", str(tmp_path / "seed1"), "--set",
            "train.seed=1")
    assert r.exit_code == 0, r.output
    teachers = [runs / "tiny" / "teacher", tmp_path / "seed1" / "tiny" / "teacher"]
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "ens"), "--op", "0",
            "--teacher", str(teachers[0]), "--teacher", str(teachers[1]))
    assert r.exit_code == 0, r.output
    out = tmp_path / "ens" / "tiny" / "student-pmsc-op0"
    assert json.loads((out / "metrics.json").read_text())["distill"].endswith("2 teachers")
    ens = load_config(out / "config.yaml").distill
    assert ens.extra_teachers == [str(teachers[1])]
    from skelkd.train import load_module

    student = load_module(out)
    assert len(student.teachers()) == 2
    matrices = [json.loads((t / "part_matrix.json").read_text())["matrix"] for t in teachers]
    np.testing.assert_allclose(student.part_matrix.numpy(), np.mean(matrices, 0), rtol=1e-6)
    r = run("train", "student", str(cfg), "--runs", str(tmp_path / "ens2"), "--op", "0",
            "--teacher", str(teachers[0]), "--teacher", str(tmp_path / "nowhere"))
    assert r.exit_code != 0 and "nowhere: no trained teacher" in r.output
    assert "Traceback" not in r.output
    student = str(runs / "tiny" / "student-pmsc-op0.6")
    r = run("evaluate", student, "--ops", "0,0.3")
    assert r.exit_code == 0 and "| 0.3 |" in r.output and "hq.skpack" not in r.output
    # the teacher is told by its checkpoint, not its folder's name: a copy elsewhere too
    shutil.copytree(runs / "tiny" / "teacher", runs / "tiny" / "my-teacher")
    r = run("evaluate", str(runs / "tiny" / "my-teacher"), "--ops", "0")
    assert r.exit_code == 0 and f"on {hq.path}" in r.output, r.output
    assert set(json.loads((runs / "tiny" / "student-pmsc-op0.6" / "eval.json").read_text())[
        "by_op"]) == {"0", "0.3"}
    r = run("predict", str(runs / "tiny" / "teacher"), str(hq.path), "--json", "--top", "2")
    preds = json.loads(r.output)
    assert r.exit_code == 0 and len(preds) == 24 and len(preds[0]["top"]) == 2
    assert preds[0]["top"][0]["class"] in hq.class_names
    r = run("predict", student, str(hq.path))  # Penn Action joints mapped to the COCO student
    assert r.exit_code == 0 and "1. class" in r.output
    for fmt, name in (("torchscript", "s.pt"), ("onnx", "s.onnx")):
        r = run("export", student, str(tmp_path / name), "--format", fmt)
        assert r.exit_code == 0 and "same top-1: True" in r.output, r.output
    before = (tmp_path / "s.onnx").read_bytes()  # like import and simulate: not replaced
    r = run("export", student, str(tmp_path / "s.onnx"))
    assert r.exit_code == 2 and "--overwrite" in r.output
    assert (tmp_path / "s.onnx").read_bytes() == before
    assert run("export", student, str(tmp_path / "s.onnx"), "--overwrite").exit_code == 0


def test_config_show_resolves_extends_by_shipped_name_and_sets(tmp_path):
    """`extends:` takes a shipped configuration's name as the command line does, and
    `skelkd config show` prints the resolved configuration (YAML that loads back)."""
    import yaml

    from skelkd.config import load_config

    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: penn_video\nname: mine\ntrain: {epochs: 7}\n")
    cfg = load_config(str(mine))
    assert cfg.name == "mine" and cfg.train.epochs == 7
    assert cfg.input.flip_prob == load_config("penn_video").input.flip_prob == 0.5
    r = run("config", "show", str(mine), "--set", "train.optim.lr=0.05")
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(r.output)
    assert shown["name"] == "mine" and shown["train"]["epochs"] == 7
    assert shown["train"]["optim"]["lr"] == 0.05 and shown["input"]["flip_prob"] == 0.5
    back = tmp_path / "back.yaml"
    back.write_text(r.output)
    assert load_config(str(back)).to_dict() == shown
    r = run("config", "list")
    assert r.exit_code == 0 and "penn_video" in r.output and "fair" in r.output
    (tmp_path / "typo.yaml").write_text("extends: penn_vidoe\n")
    r = run("config", "show", str(tmp_path / "typo.yaml"))
    assert r.exit_code == 2 and "typo.yaml" in r.output and "'penn_vidoe'" in r.output
    assert "shipped configuration" in r.output and "Traceback" not in r.output
    r = run("config", "show", "penn_video", "--set", "train.epochs=many")
    assert r.exit_code == 2 and "train.epochs: expected a number" in r.output


def test_option_values_reach_the_configuration_as_they_are():
    """A dedicated option's value (--op, --distill, a job's fields in the reproduction) is
    set as the Python value it is, not printed and read back as YAML: a run named "0.5"
    stays a string, an OP stays the float given; and it is checked like any key."""
    from skelkd.config import load_config
    from skelkd.errors import SkelkdError

    cfg = load_config("penn_small", ["train.epochs=3"], {"name": "0.5", "input.occlusion": 0.6})
    assert cfg.name == "0.5" and cfg.input.occlusion == 0.6 and cfg.train.epochs == 3
    with pytest.raises(SkelkdError, match="input.occlusion"):
        load_config(None, [], {"input.occlusion": 1.5})


def test_config_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {epoch: 3}\n")
    r = run("train", "teacher", str(bad), "--runs", str(tmp_path))
    assert r.exit_code == 2 and "bad.yaml" in r.output and "unknown key(s) ['epoch']" in r.output
    r = run("train", "student", "--set", "train.epochs=many", "--runs", str(tmp_path))
    assert r.exit_code == 2 and "train.epochs: expected a number" in r.output
    r = run("train", "teacher", "--set", "model.backbone=resnet", "--runs", str(tmp_path))
    assert r.exit_code == 2 and "model.backbone: unknown backbone 'resnet'" in r.output
    r = run("train", "teacher", "--set", "model.overrides.width=3", "--runs", str(tmp_path))
    assert r.exit_code == 2 and "model.overrides: unknown key(s) ['width']" in r.output
    # every named choice is checked when the configuration loads, before any data is read
    # (a typo in distill.mode once surfaced as a traceback after the data had loaded)
    for key, value in (("distill.mode", "pmcs"), ("distill.teacher_precision", "fp16"),
                       ("data.student_data", "half"), ("model.person_pool", "some")):
        r = run("train", "student", "--set", f"{key}={value}", "--set", "data.hq=nowhere",
                "--runs", str(tmp_path))
        assert r.exit_code == 2 and f"{key}: expected one of" in r.output, r.output
        assert f"'{value}'" in r.output and "nowhere" not in r.output


def test_demo_end_to_end_tiny(tmp_path):
    """The demo's whole path on the embedded pack, with a tiny model and one epoch."""
    out = tmp_path / "demo"
    r = run("demo", "--out", str(out), "--set", "train.epochs=1", "--set", "train.progress=false",
            "--set", "input.num_frames=8",
            "--set", "model.overrides={channels: [8, 16], strides: [1, 2]}")
    assert r.exit_code == 0, r.output
    assert "| Student (w/ KD) |" in r.output and "| Teacher |" in r.output
    for name in ("summary.md", "part_matrix.png", "accuracy.png", "sample.png", "config.yaml"):
        assert (out / name).stat().st_size > 100, name
    assert "SIMULATED" in (out / "summary.md").read_text()


def test_reproduce_report_only_from_records_and_a_missing_data_folder(tmp_path):
    """--report-only needs no data, only records (none yet: every cell listed as not
    run); training without the data folder is a one-line error."""
    doc = tmp_path / "RESULTS.md"
    r = run("reproduce", str(tmp_path / "nowhere"), "--results", str(tmp_path / "results"),
            "--doc", str(doc), "--report-only")
    assert r.exit_code == 0, r.output
    text = doc.read_text()
    assert "## Cells not run yet" in text and "Penn Action (heterogeneous), OP 0.6 (Table 1)" \
        in text
    r = run("reproduce", str(tmp_path / "nowhere"), "--results", str(tmp_path / "results"))
    assert r.exit_code != 0 and "nowhere: not a folder" in r.output
    assert "Traceback" not in r.output


@pytest.mark.parametrize("override, key", [
    ("train.epochs=-2", "train.epochs"), ("train.batch_size=0", "train.batch_size"),
    ("train.optim.lr=-1", "train.optim.lr"), ("input.num_frames=0", "input.num_frames"),
    ("eval.ops=[0,2]", "eval.ops"), ("input.occlusion=1.5", "input.occlusion"),
    ("name=", "name"), ("name=../../x", "name")])
def test_an_out_of_range_value_is_one_line_before_any_data_is_read(tmp_path, override, key):
    r = CliRunner().invoke(main, ["train", "teacher", "penn_small", "--runs", str(tmp_path),
                                  "--set", override])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert key in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("args", [["train", "student", "penn_small", "--op", "1.5"],
                                  ["evaluate", "nowhere", "--ops", "0,5"],
                                  ["predict", "x.npz", "--top", "-3"],
                                  ["predict", "x.mp4", "--reading", "median"],
                                  ["predict", "x.mp4", "--reject-below", "1.5"],
                                  ["predict", "x.mp4", "--window", "0"],
                                  ["predict", "x.mp4", "--stride", "-1"]])
def test_out_of_range_options_are_refused(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and "Traceback" not in r.output
    # refused before any input is read (x.mp4 does not exist), naming the option
    assert args[-2] in r.output and "x.mp4" not in r.output, r.output
    if "--reading" in args:  # refused before the video is read: it names the choices
        assert "--reading: expected one of mean, confident, max" in r.output


def test_report_skips_a_partial_run_folder_with_a_warning(tmp_path):
    done = tmp_path / "done" / "teacher"
    done.mkdir(parents=True)
    (done / "metrics.json").write_text(json.dumps({"top1": 90.0, "top5": 99.0}))
    (tmp_path / "partial" / "teacher").mkdir(parents=True)  # still training: no metrics
    r = CliRunner().invoke(main, ["report", str(tmp_path / "done"),
                                  str(tmp_path / "partial")])
    assert r.exit_code == 0, r.output
    assert "| teacher |" in r.stdout and "90.00" in r.stdout
    assert "partial" in r.stderr and "skipped" in r.stderr
    r = CliRunner().invoke(main, ["report", str(tmp_path / "partial")])
    assert r.exit_code != 0 and "Traceback" not in r.output


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root writes into read-only folders; needs an ordinary user")
def test_a_read_only_folder_is_one_line(tmp_path, make_pack):
    pack = make_pack()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        r = CliRunner().invoke(main, ["simulate", str(pack.path), str(ro / "lq.skpack")])
    finally:
        ro.chmod(0o700)
    assert r.exit_code != 0 and "Traceback" not in r.output and "ro" in r.output


def test_an_os_error_is_one_line(tmp_path, make_pack, monkeypatch):
    """A full disk or a refused permission: one line naming the file, no traceback (the
    machine may run as root, where a read-only folder cannot be simulated)."""
    import errno

    import skelkd.io.pack as pack_mod

    pack = make_pack()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "lq.skpack"))

    monkeypatch.setattr(pack_mod.tempfile, "mkdtemp", full)
    r = CliRunner().invoke(main, ["simulate", str(pack.path), str(tmp_path / "lq.skpack")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "No space left on device" in r.output and "lq.skpack" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_a_full_disk_while_writing_leaves_no_temporary(tmp_path, make_pack, monkeypatch):
    import errno

    import skelkd.io.pack as pack_mod

    pack = make_pack()
    out = tmp_path / "out"
    out.mkdir()

    def full(path, obj):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pack_mod, "_write_json", full)
    r = CliRunner().invoke(main, ["simulate", str(pack.path), str(out / "lq.skpack")])
    assert r.exit_code == 1 and "No space left on device" in r.output
    assert list(out.iterdir()) == []  # neither the pack nor its temporary folder


def test_the_command_line_starts_without_pytorch():
    """`skelkd --help`, `skelkd layouts`, `skelkd config list`, `skelkd config show` and
    `skelkd data info` need no PyTorch: the CLI imports the modules that pull it in
    (seconds to import) inside the commands that need them only, and a configuration's
    backbone is checked against the named configurations without building it."""
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from skelkd.cli import main; "
            "r = [CliRunner().invoke(main, a).exit_code for a in (['--help'], ['layouts'], "
            "['config', 'list'], ['config', 'show', 'demo'], ['data', 'info'])]; "
            "heavy = [m for m in ('torch', 'lightning', 'matplotlib') if m in sys.modules]; "
            "print(r, heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[0, 0, 0, 0, 0] []", r.stdout + r.stderr
