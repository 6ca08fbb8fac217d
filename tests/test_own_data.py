"""docs/own_data.md, step by step, on a small synthetic dataset: arrays and a manifest in,
a pack with the manifest's classes, splits and subjects out, then simulation, a
configuration extending a shipped one, a teacher, a student and the report. Plus the
manifest's mistakes, each one clear error naming the manifest, the sample and the field."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from skelkd.cli import main
from skelkd.io import open_pack


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _arrays(folder, n_subjects=4, per_class=3):
    """Two classes of COCO-layout clips (arms up or down), subjects 1..n_subjects."""
    rng = np.random.default_rng(0)
    rows = []
    (folder / "clips").mkdir(parents=True)
    for s in range(1, n_subjects + 1):
        for c, cls in enumerate(("wave", "squat")):
            for k in range(per_class):
                kp = rng.normal(0, 5, (20, 17, 2)).astype(np.float32)
                kp[..., 1] += np.arange(17)[None, :] * 10  # a body's height
                kp[:, 9:11, 1] -= 60 * np.sin(np.linspace(0, 3, 20))[:, None] * (c == 0)
                kp[:, 11:, 1] += 20 * np.sin(np.linspace(0, 3, 20))[:, None] * (c == 1)
                name = f"clips/{cls}_s{s}_{k}.npy"
                np.save(folder / name, kp + 100)
                rows.append((name, cls, s))
    return rows


def test_a_new_dataset_end_to_end(tmp_path):
    data = tmp_path / "my_data"
    rows = _arrays(data)
    lines = ["file,label,subject,split:xsub"]
    lines += [f"{f},{c},{s},{'train' if s <= 3 else 'test'}" for f, c, s in rows]
    (data / "manifest.csv").write_text("\n".join(lines) + "\n")
    r = run("data", "import", "numpy", data, tmp_path / "mine.skpack", "--layout", "coco")
    assert r.exit_code == 0, r.output
    pack = open_pack(tmp_path / "mine.skpack")
    assert pack.class_names == ["wave", "squat"]  # the manifest's order
    assert set(pack.splits) == {"xsub", "xsub-val"}
    assert len(pack.splits["xsub"]["test"]) == 6 and len(pack.splits["xsub"]["train"]) == 18
    assert pack[0].meta["subject"] in ("1", 1)
    r = run("simulate", tmp_path / "mine.skpack", tmp_path / "mine_lq.skpack", "--preset",
            "fast", "--layout", "coco")
    assert r.exit_code == 0, r.output
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(f"extends: penn_small\nname: mine\n"
                   f"data: {{hq: {tmp_path / 'mine.skpack'}, lq: {tmp_path / 'mine_lq.skpack'}, "
                   "split: xsub-val}\n"
                   "model: {backbone: stgcn-tiny}\n"
                   "input: {num_frames: 16}\n"
                   "train: {epochs: 1, batch_size: 4, per_class: 2, progress: false}\n"
                   "eval: {ops: [0.0, 0.3]}\n")
    runs = tmp_path / "runs"
    assert run("config", "show", cfg).exit_code == 0
    r = run("train", "teacher", cfg, "--runs", runs)
    assert r.exit_code == 0, r.output
    r = run("train", "student", cfg, "--runs", runs, "--distill", "pmsc", "--op", "0.3")
    assert r.exit_code == 0, r.output
    r = run("report", runs)
    assert r.exit_code == 0 and "| teacher |" in r.output and "| student | pmsc" in r.output


def test_a_json_manifest_fixes_the_class_order_and_makes_cross_subject_splits(tmp_path):
    data = tmp_path / "d"
    rows = _arrays(data, n_subjects=3, per_class=1)
    doc = {"classes": ["squat", "wave"],
           "samples": [{"file": f, "label": c, "subject": s} for f, c, s in rows],
           "cross_subject": {"xsub": [1, 2]}}
    (data / "protocol.json").write_text(json.dumps(doc))
    r = run("data", "import", "numpy", data, tmp_path / "p.skpack", "--layout", "coco",
            "--manifest", data / "protocol.json")
    assert r.exit_code == 0, r.output
    pack = open_pack(tmp_path / "p.skpack")
    assert pack.class_names == ["squat", "wave"]
    test = pack.splits["xsub"]["test"]
    assert len(test) == 2 and all(pack[int(i)].meta["subject"] == 3 for i in test)


@pytest.mark.parametrize("row, field", [
    ("clips/missing.npy,wave,1,train", "field 'file'"),
    ("clips/wave_s1_0.npy,,1,train", "field 'file, label'"),
    ("clips/wave_s1_0.npy,wave,1,training", "field 'splits'"),
])
def test_manifest_mistakes_are_one_clear_error(tmp_path, row, field):
    data = tmp_path / "d"
    _arrays(data, n_subjects=1, per_class=1)
    (data / "manifest.csv").write_text(f"file,label,subject,split\n{row}\n")
    r = run("data", "import", "numpy", data, tmp_path / "x.skpack", "--layout", "coco")
    assert r.exit_code == 2 and "manifest.csv (sample 1)" in r.output, r.output
    assert field in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.skpack").exists()  # nothing half-written
