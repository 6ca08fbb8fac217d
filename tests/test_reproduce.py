"""The validated reproduction: its plan, its paired statistics (against a literal
transcription of the formulas), a tiny protocol end to end on synthetic packs, records
that resume a reproduction without its runs folder, and a report rebuilt byte for byte
from the records alone."""

from __future__ import annotations

import math
import shutil
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from skelkd.config import load_config
from skelkd.reproduce import PROTOCOLS, Cell, Job, select_cells
from skelkd.reproduce.plan import TABLE4_ARMS
from skelkd.reproduce.report import write_report
from skelkd.reproduce.run import choose_recipe, job_config, run_cell
from skelkd.reproduce.stats import Paired, last_quarter_gain, mean_last, paired

# ----------------------------------------------------------------------------- statistics


def _literal(a, b):
    """The paired t statistics written out loop by loop (mean, sample SD, t, CI)."""
    n = len(a)
    d = [b[i] - a[i] for i in range(n)]
    mean = 0.0
    for x in d:
        mean += x / n
    var = 0.0
    for x in d:
        var += (x - mean) ** 2 / (n - 1)
    se = math.sqrt(var) / math.sqrt(n)
    t = mean / se
    p = 2 * (1 - sps.t.cdf(abs(t), n - 1))
    q = sps.t.ppf(0.975, n - 1)
    return mean, (mean - q * se, mean + q * se), p


@pytest.mark.parametrize("seed", range(5))
def test_paired_statistics_match_the_formulas(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(80, 2, 5)
    b = a + rng.normal(1.5, 2, 5)
    pr = Paired(tuple(a), tuple(b))
    mean, (lo, hi), p = _literal(a, b)
    assert pr.gain == pytest.approx(mean)
    assert pr.interval() == pytest.approx((lo, hi))
    assert pr.p == pytest.approx(p, abs=1e-12)
    assert pr.p == pytest.approx(sps.ttest_rel(b, a).pvalue)


def test_verdicts():
    base = (80.0, 81.0, 79.0, 80.5, 80.0)
    up = Paired(base, tuple(x + 3 + 0.1 * k for k, x in enumerate(base)))
    assert up.verdict == "held" and up.p < 0.05
    down = Paired(base, tuple(x - 3 - 0.1 * k for k, x in enumerate(base)))
    assert down.verdict == "reversed" and down.interval()[1] < 0
    noisy = Paired(base, (82.0, 79.0, 81.0, 78.0, 83.0))
    assert noisy.verdict == "not shown"
    assert Paired((), ()).verdict == "not run"
    assert Paired((1.0,), (2.0,)).verdict.startswith("not shown")


def test_pairing_is_by_seed():
    pr = paired({0: 70.0, 1: 72.0, 2: 71.0}, {2: 75.0, 0: 74.0, 3: 99.0})
    assert pr.a == (70.0, 71.0) and pr.b == (74.0, 75.0)


def test_convergence_measure():
    flat = [[e, 80.0] for e in range(1, 41)]
    assert last_quarter_gain(flat) == 0
    # still rising by 0.2 a point per epoch: the last eighth (36-40) against 31-35
    rising = [[e, 50 + 0.2 * e] for e in range(1, 41)]
    assert last_quarter_gain(rising) == pytest.approx(0.2 * (38 - 33))
    # a learning-rate step at 3/4 and a plateau after it: converged
    step = [[e, 60.0 if e <= 30 else 80.0] for e in range(1, 41)]
    assert last_quarter_gain(step) == 0
    assert mean_last([[1, 10.0], [2, 20.0], [3, 30.0]], 2) == 25


# ----------------------------------------------------------------------------- the plan


def test_every_arm_gets_the_same_search_and_seeds():
    prot = PROTOCOLS["fair"]
    assert len(prot.seeds) == 5
    for cell in prot.cells:
        tune = prot.cell_jobs(cell, "tune")
        per_arm = {a: sorted((j.batch, j.lr) for j in tune if j.arm == a) for a in cell.arms}
        want = sorted((b, lr) for b in prot.batches for lr in prot.grid_lr)
        assert all(v == want for v in per_arm.values())
        recipes = {a: (prot.grid_lr[0], prot.batches[k % 2]) for k, a in enumerate(cell.arms)}
        final = prot.cell_jobs(cell, "final", recipes)
        assert {(j.arm, j.seed, j.lr, j.batch) for j in final} == {
            (a, s, *recipes[a]) for a in cell.arms for s in prot.seeds}
    # Table 4's none and pmsc arms are Table 1's runs (the same job keys)
    t4 = next(c for c in prot.cells if c.table == "4")
    t1 = next(c for c in prot.cells if c.table == "1" and c.key() == t4.key())
    assert set(t4.arms) == set(TABLE4_ARMS)
    keys1 = {j.key() for j in prot.cell_jobs(t1, "tune")}
    assert {j.key() for j in prot.cell_jobs(t4, "tune") if j.arm in t1.arms} == keys1
    assert [c.dataset for c in select_cells(prot, ("ucla",), ("2",))] == ["ucla"] * 3


def test_job_keys_are_unique_and_students_share_one_teacher_per_fraction():
    prot = PROTOCOLS["fair"]
    jobs = [j for c in prot.cells for j in prot.cell_jobs(c, "tune")]
    for b in prot.batches:
        jobs += [j for c in prot.cells
                 for j in prot.cell_jobs(c, "final", {a: (0.1, b) for a in c.arms})]
    jobs = list(dict.fromkeys(jobs))
    assert len({j.key() for j in jobs}) == len(jobs)
    # class-aware jobs keep the keys they had before batches were searched
    assert Job("utd", op=0.6, lr=0.1).key() == "utd/op0.6/none/lr0.1/seed0"
    assert Job("utd", op=0.6, lr=0.1, batch="uniform").key() == \
        "utd-uniform/op0.6/none/lr0.1/seed0"
    part = Job("penn", op=0.6, arm="pmsc:paired", fraction=0.8, seed=3)
    assert part.teacher() == Job("penn", "teacher", fraction=0.8)
    assert part.student_data == "paired" and part.mode == "pmsc"


def test_choose_recipe_reads_validation_only():
    prot = replace(PROTOCOLS["fair"], select_last=2)

    def rec(lr, batch, val, test):
        return {"job": {"lr": lr, "batch": batch},
                "metrics": {"val_curve": [[1, 0.0]] + [[k + 2, v] for k, v in enumerate(val)],
                            "top1": test}}

    recs = [rec(0.1, "class-aware", [60, 62], 99.0), rec(0.03, "class-aware", [70, 71], 10.0),
            rec(0.01, "class-aware", [71, 70], 50.0), rec(0.1, "uniform", [70, 71], 99.0)]
    # a tie on validation: the first batch construction, then the first learning rate
    assert choose_recipe(prot, recs) == (0.03, "class-aware")
    recs.append(rec(0.03, "uniform", [72, 72], 0.0))
    assert choose_recipe(prot, recs) == (0.03, "uniform")


def test_a_jobs_batch_construction_reaches_its_configuration(tmp_path):
    packs = {"utd": {"hq": "hq.skpack", "coco": "lq.skpack"}}
    prot = PROTOCOLS["fair"]
    on = job_config(Job("utd", op=0.6, batch="class-aware"), prot, packs)
    off = job_config(Job("utd", op=0.6, batch="uniform"), prot, packs)
    assert on.train.class_aware is True and off.train.class_aware is False


def test_table3_trains_each_backbone_with_its_own_teacher():
    """Table 3's cells: on the fair configuration's backbone its none and pmsc arms are
    Table 1's OP 0 runs (the same keys) and the peers are new; on another backbone every
    job, the teacher included, has the backbone in its key and its configuration."""
    from skelkd.reproduce.plan import TABLE3_BACKBONES, TABLE3_PEERS

    prot = PROTOCOLS["fair"]
    t3 = [c for c in prot.cells if c.table == "3"]
    assert [c.backbone for c in t3] == list(TABLE3_BACKBONES)
    first = t3[0]
    t1 = next(c for c in prot.cells if c.table == "1" and c.key() == first.key())
    keys1 = {j.key() for j in prot.cell_jobs(t1, "tune")}
    assert {j.key() for j in prot.cell_jobs(first, "tune") if j.arm in t1.arms} == keys1
    assert set(first.arms) - set(t1.arms) == set(TABLE3_PEERS)
    # a peer model trains its own network, undistilled, with no teacher of its own
    peer = next(j for j in prot.cell_jobs(first, "tune") if j.arm == "prgcn")
    peer_cfg = job_config(peer, prot, {"penn": {"hq": "hq.skpack", "coco": "lq.skpack"}})
    assert peer_cfg.model.backbone == "prgcn-tiny" and peer_cfg.distill.mode == "none"
    assert peer.teacher().key() == "penn/teacher" and peer.key().startswith("penn/op0/prgcn/")
    packs = {"penn": {"hq": "hq.skpack", "coco": "lq.skpack"}}
    default = load_config("fair").model.backbone
    for cell in t3[1:]:
        jobs = prot.cell_jobs(cell, "tune")
        assert all(cell.backbone in j.key() and j.backbone == cell.backbone for j in jobs)
        teacher = jobs[0].teacher()
        assert teacher.key() == f"penn-{cell.backbone}/teacher"
        assert job_config(teacher, prot, packs).model.backbone == cell.backbone
        assert job_config(jobs[0], prot, packs).model.backbone == cell.backbone
    assert job_config(Job("penn"), prot, packs).model.backbone == default
    assert Job("penn", "teacher").key() == "penn/teacher"  # the other tables' keys stay


# ----------------------------------------------------------------------------- end to end


def test_protocol_end_to_end_resumes_from_records_and_rebuilds_the_report(tmp_path,
                                                                           make_pack):
    hq = make_pack("penn_action", n=48, num_classes=3, name="hq.skpack", seed=1)
    lq = make_pack("coco", n=48, num_classes=3, name="lq.skpack", seed=2)
    packs = {"penn": {"hq": hq.path, "coco": lq.path}}
    cell = Cell("penn", "hetero", 0.6)
    prot = replace(PROTOCOLS["quick"], seeds=(0, 1), grid_lr=(0.1, 0.03),
                   epochs={"penn": 2}, teacher_epochs={"penn": 1}, cells=(cell,),
                   overrides=("train.batch_size=12", "train.per_class=4"))
    runs, results = tmp_path / "runs", tmp_path / "results"
    lines = []
    run_cell(cell, prot, packs, runs, results, echo=lines.append)
    records = sorted(p.relative_to(results).as_posix() for p in results.rglob("*.json"))
    assert "penn/teacher.json" in records
    # teacher; 2 arms x 2 lrs x 2 batch constructions; the second seed of each arm
    assert len(records) == 1 + 2 * 2 * 2 + 2
    assert any("chosen on validation: none lr" in x for x in lines)
    assert {"penn/op0.6/pmsc/lr0.1/seed0.json",
            "penn-uniform/op0.6/pmsc/lr0.1/seed0.json"} <= set(records)
    import json

    rec = json.loads((results / "penn/op0.6/pmsc/lr0.1/seed0.json").read_text())
    assert [e for e, _ in rec["metrics"]["val_curve"]] == [1, 2]  # validated every epoch
    assert rec["config"]["data"]["split"] == "official-val"
    assert "confusion" not in json.dumps(rec) and len(json.dumps(rec)) < 20_000
    # a new machine: no runs folder, the records alone -> nothing runs again
    shutil.rmtree(runs)
    lines.clear()
    run_cell(cell, prot, packs, runs, results, echo=lines.append)
    assert not any(x.startswith("[") for x in lines)
    doc = tmp_path / "doc" / "RESULTS.md"
    text = write_report(prot, results, doc, "test").read_text()
    first = {p.name: p.read_bytes() for p in (doc.parent / "results").iterdir()}
    assert "## The paper's claims, as they came out here" in text
    assert "| distillation (L_pmsc) improves the student | Penn Action (heterogeneous), " \
           "OP 0.6 | 2 |" in text
    assert "80.52" in text and "SIMULATED" in text  # the paper's figure, labelled
    assert {"curves_penn_hetero.png", "part_matrix_penn.png"} <= set(first)
    write_report(prot, results, doc, "test")
    assert doc.read_text() == text  # byte-identical from the same records
    assert {p.name: p.read_bytes() for p in (doc.parent / "results").iterdir()} == first


def test_a_teacher_known_only_by_its_record_is_trained_once_before_the_workers_start(
        tmp_path, make_pack, monkeypatch):
    import skelkd.reproduce.run as run_mod

    hq = make_pack("penn_action", n=48, num_classes=3, name="hq.skpack", seed=1)
    lq = make_pack("coco", n=48, num_classes=3, name="lq.skpack", seed=2)
    packs = {"penn": {"hq": hq.path, "coco": lq.path}}
    cell = Cell("penn", "hetero", 0.6)
    prot = replace(PROTOCOLS["quick"], seeds=(0, 1, 2), grid_lr=(0.1,), batches=("class-aware",),
                   epochs={"penn": 1}, teacher_epochs={"penn": 1}, cells=(cell,),
                   overrides=("train.batch_size=12", "train.per_class=4"))
    runs, results = tmp_path / "runs", tmp_path / "results"
    run_cell(cell, prot, packs, runs, results, echo=lambda _: None)
    # a new machine with the records alone; two distilled seeds still to run, two workers
    shutil.rmtree(runs)
    for seed in (1, 2):
        (results / f"penn/op0.6/pmsc/lr0.1/seed{seed}.json").unlink()
    here = []
    real = run_mod.train_teacher_run
    monkeypatch.setattr(run_mod, "train_teacher_run",
                        lambda *a, **k: here.append(1) or real(*a, **k))
    run_cell(cell, prot, packs, runs, results, workers=2, echo=lambda _: None)
    assert here == [1]  # in this process, before the workers; never in them
    assert (results / "penn/op0.6/pmsc/lr0.1/seed2.json").exists()


def test_a_table3_cell_trains_its_own_backbones_teacher_before_the_workers(
        tmp_path, make_pack, monkeypatch):
    """A Table 3 cell on another backbone readies that backbone's teacher in the main
    process, not the first backbone's (which its students never read)."""
    import skelkd.reproduce.run as run_mod

    hq = make_pack("penn_action", n=36, num_classes=3, name="hq.skpack", seed=1)
    lq = make_pack("coco", n=36, num_classes=3, name="lq.skpack", seed=2)
    packs = {"penn": {"hq": hq.path, "coco": lq.path}}
    cell = Cell("penn", "hetero", 0.0, ("pmsc",), table="3", backbone="agcn-tiny")
    prot = replace(PROTOCOLS["quick"], seeds=(0,), grid_lr=(0.1,), batches=("class-aware",),
                   epochs={"penn": 1}, teacher_epochs={"penn": 1}, cells=(cell,),
                   overrides=("train.batch_size=12", "train.per_class=4"))
    trained = []
    real = run_mod.train_teacher_run
    monkeypatch.setattr(run_mod, "train_teacher_run",
                        lambda cfg, *a, **k: trained.append(cfg.name) or real(cfg, *a, **k))
    run_cell(cell, prot, packs, tmp_path / "runs", tmp_path / "results", echo=lambda _: None)
    assert trained == ["penn-agcn-tiny/teacher"]
    assert (tmp_path / "results/penn-agcn-tiny/op0/pmsc/lr0.1/seed0.json").exists()


def test_the_demo_quotes_the_converged_comparison_from_the_records(tmp_path):
    """The demo's line on the gain at convergence is the claims table's Penn Action OP 0.6
    row, computed from the committed records; without records, only where to find it."""
    import re
    from pathlib import Path

    from skelkd.demo import CONVERGED, RECORDS, converged_line

    assert converged_line(tmp_path / "none") == CONVERGED
    results = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"
    row = next(line for line in results.read_text().splitlines()
               if line.startswith("| distillation (L_pmsc) improves the student | Penn Action "
                                  "(heterogeneous), OP 0.6 |"))
    gain, ci, p, verdict = [c.strip() for c in row.split("|")[4:8]]
    line = converged_line(RECORDS)
    assert line.startswith(CONVERGED)
    assert re.search(rf"{re.escape(gain)} points, 95% CI {re.escape(ci)}, p {re.escape(p)}: "
                     rf"{verdict}\.$", line), line
