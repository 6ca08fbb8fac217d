"""The superseded short-schedule reproduction (skelkd.reproduce.short_schedule), kept for
the studies that measured it: what it runs, where it keeps it, how it judged, and a tiny
run end to end on synthetic packs."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from skelkd.reproduce.short_schedule import (
    DATASETS,
    PROFILES,
    TABLE4_MODES,
    Job,
    Profile,
    Stat,
    gain,
    plan,
    run_jobs,
    verdict,
    write_report,
)


@pytest.mark.parametrize("shared", [True, False])
def test_full_plan_has_every_setting_of_the_issue(shared):
    prof = replace(PROFILES["full"], shared_teacher=shared)
    jobs = plan(prof)
    # the teacher seed of seed s's students: 0 when shared (None = the student's own)
    ts = {s: (0 if shared and s else None) for s in (0, 1, 2)}
    teacher_seeds = (0,) if shared else (0, 1, 2)

    def teachers(key, fraction):
        return {j.seed for j in jobs if j.kind == "teacher" and j.dataset == key
                and j.fraction == fraction}

    assert len(jobs) == len(set(jobs))
    for key, spec in DATASETS.items():
        settings = ("hetero", "homo") if spec.homogeneous else ("hetero",)
        assert teachers(key, 1.0) == set(teacher_seeds)
        for seed in (0, 1, 2):
            for setting in settings:
                for op in (0.0, 0.3, 0.6):
                    for mode in ("none", "pmsc"):
                        assert Job(key, seed, setting=setting, op=op, mode=mode,
                                   teacher_seed=ts[seed]) in jobs
    key, op = prof.ablation
    for mode in TABLE4_MODES:
        assert sum(j == Job(key, s, op=op, mode=mode, teacher_seed=ts[s])
                   for j in jobs for s in (0, 1, 2)) == 3
    key, op, fractions = prof.partial
    assert set(fractions) == {0.8, 0.7}
    for f in fractions:
        assert teachers(key, f) == set(teacher_seeds)
        for s in (0, 1, 2):
            t = ts[s]
            assert Job(key, s, op=op, mode="none", fraction=f, student_data="paired",
                       teacher_seed=t) in jobs
            assert Job(key, s, op=op, mode="pmsc", fraction=f, student_data="paired",
                       teacher_seed=t) in jobs
            assert Job(key, s, op=op, mode="pmsc", fraction=f, teacher_seed=t) in jobs
    # whole seeds first: every job of seed 0 before any of seed 1
    seeds = [j.seed for j in jobs]
    assert seeds == sorted(seeds)
    students = Counter(j.seed for j in jobs if j.kind == "student")
    assert students == {0: students[0], 1: students[0], 2: students[0]}
    assert len(jobs) == 3 * students[0] + 5 * len(teacher_seeds)  # 3 datasets + 2 fractions


@pytest.mark.parametrize("shared", [True, False])
def test_every_run_has_its_own_folder_and_students_find_their_teacher(tmp_path, shared):
    jobs = plan(replace(PROFILES["full"], shared_teacher=shared))
    dirs = [j.out_dir(tmp_path) for j in jobs]
    assert len(set(dirs)) == len(dirs)
    teachers = {j.out_dir(tmp_path) for j in jobs if j.kind == "teacher"}
    for j in jobs:
        if j.kind == "student":
            assert j.teacher_dir(tmp_path) in teachers
            assert (j.teacher_dir(tmp_path).parent.name == "seed0") == (shared or j.seed == 0)
    homo = Job("ucla", 1, setting="homo", op=0.3, mode="pmsc")
    assert homo.teacher_dir(tmp_path) == Job("ucla", 1, "teacher").out_dir(tmp_path)
    part = Job("penn", 0, op=0.6, mode="pmsc", fraction=0.8, student_data="paired")
    assert part.teacher_dir(tmp_path) == Job("penn", 0, "teacher", fraction=0.8).out_dir(tmp_path)


def test_gain_and_verdict():
    a = Stat([50.0, 52.0, 54.0], [90.0] * 3)
    b = Stat([60.0, 61.0, 62.0], [95.0] * 3)
    d, se = gain(a, b)
    assert d == pytest.approx(9.0)
    assert se == pytest.approx(np.hypot(2 / np.sqrt(3), 1 / np.sqrt(3)))
    assert verdict(d, se) == "held"
    assert verdict(-d, se) == "reversed"
    assert verdict(0.5, se).startswith("not shown")
    one = Stat([90.0], [99.0], test_samples=1000)  # one seed: the binomial error
    assert one.se() == pytest.approx(100 * np.sqrt(0.9 * 0.1 / 1000))
    assert Stat([], []).fmt() == "not run"
    assert a.fmt() == "52.00 ± 2.00"


def test_reproduce_end_to_end_on_synthetic_packs(tmp_path, make_pack):
    hq = make_pack("penn_action", n=32, num_classes=3, name="hq.skpack", seed=1)
    lq = make_pack("coco", n=32, num_classes=3, name="lq.skpack", seed=2)
    packs = {"penn": {"hq": hq.path, "coco": lq.path}}
    prof = Profile("test", (0,), (0.6,), {"penn": 1}, ablation=("penn", 0.6),
                   partial=("penn", 0.6, (0.75,)),
                   overrides=("train.batch_size=12", "train.per_class=4"))
    jobs = plan(prof, ("penn",))
    runs = tmp_path / "runs"
    lines = []
    assert run_jobs(jobs, prof, packs, runs, echo=lines.append) == len(jobs)
    assert run_jobs(jobs, prof, packs, runs, echo=lines.append) == 0  # finished runs kept
    paired = json.loads((Job("penn", 0, op=0.6, mode="pmsc", fraction=0.75,
                             student_data="paired").out_dir(runs) / "metrics.json").read_text())
    every = json.loads((Job("penn", 0, op=0.6, mode="pmsc", fraction=0.75).out_dir(runs)
                        / "metrics.json").read_text())
    assert paired["train_samples"] == round(0.75 * every["train_samples"])
    doc = write_report(prof, runs, packs, tmp_path / "doc" / "RESULTS.md", ("penn",), "test")
    text = doc.read_text()
    assert "## The paper's claims, as they came out here" in text
    assert "Table 4 analogue" in text and "Table 5 analogue" in text
    assert "(1 seed)" in text and "not run" not in text
    assert "SIMULATED" in text and "80.52" in text  # the paper's figure, labelled
    assert "batch 12" in text  # the configuration as run
    figs = {p.name for p in (tmp_path / "doc" / "results").iterdir()}
    assert {"accuracy_vs_op.png", "part_matrix_penn.png"} <= figs
    assert "## Gains at longer training" not in text
    # kd_schedule.py's longer students (here: copies with other accuracies) get a table
    for mode, top1 in (("none", 61.0), ("pmsc", 64.5)):
        job = Job("penn", 0, op=0.6, mode=mode)
        m = json.loads((job.out_dir(runs) / "metrics.json").read_text())
        m["by_op"]["0.6"]["top1"] = top1
        out = job.out_dir(runs / "schedule-0.8-x3")
        out.mkdir(parents=True)
        (out / "metrics.json").write_text(json.dumps(m))
    text = write_report(prof, runs, packs, tmp_path / "doc" / "RESULTS.md", ("penn",),
                        "test").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| Penn Action | hetero"))
    assert row.endswith("| 3 | 61.00 | 64.50 | +3.50 |")


def test_wall_time_is_the_union_of_the_runs_intervals(tmp_path):
    import os

    from skelkd.reproduce.short_schedule import _busy_seconds

    runs = []
    for k, (end, sec) in enumerate([(100, 50), (120, 40), (300, 10), (305, 2)]):
        f = tmp_path / f"m{k}.json"
        f.write_text("{}")
        os.utime(f, (end, end))
        runs.append((f, sec))
    # [50, 100] and [80, 120] overlap -> 70 s; [290, 300] and [303, 305] -> 12 s
    assert _busy_seconds(runs) == pytest.approx(82)
    assert _busy_seconds([]) == 0
