"""End-to-end training on tiny synthetic packs: teacher, part matrix, every student mode."""

import csv
import dataclasses
import os

import numpy as np
import pytest
import torch

from skelkd.config import ExperimentConfig, InputConfig, ModelConfig, TrainConfig, load_config
from skelkd.data.transforms import scores_vary
from skelkd.distill import PartMatrix
from skelkd.errors import SkelkdError
from skelkd.experiment import train_teacher_run
from skelkd.io.pack import Sample, write_pack
from skelkd.train import (
    DISTILL_MODES,
    ClassAwareBatchSampler,
    DistillConfig,
    compute_part_matrix,
    evaluate_at,
    load_module,
    train_recognizer,
    train_student,
)
from skelkd.train.modules import StudentModule

TINY = {"channels": (8, 16), "strides": (1, 2)}
TINY_MODEL = ModelConfig(overrides=TINY)


def _class_motion_pack(path, layout, v, c, n=24, classes=3, seed=0, const_score=False):
    """Each class moves a different joint: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        y = i % classes
        kp = rng.normal(size=(1, 12, v, c)).astype(np.float32) * 0.05 + np.linspace(0, 1, v)[
            None, None, :, None]
        kp[0, :, 1 + y, 0] += np.sin(np.linspace(0, 6, 12)) * 2
        if c == 3:
            kp[..., 2] += 3
        sc = np.ones((1, 12, v), np.float32) if const_score else rng.uniform(
            0.5, 1, (1, 12, v)).astype(np.float32)
        samples.append(Sample(kp, sc, y, f"i{i:03d}", layout))
    train = [i for i in range(n) if i % 4]
    write_pack(path, samples, layout, [f"c{k}" for k in range(classes)],
               {"official": {"train": train, "test": [i for i in range(n) if i % 4 == 0]}})
    from skelkd.io import open_pack

    return open_pack(path)


@pytest.fixture(scope="module")
def packs(tmp_path_factory):
    d = tmp_path_factory.mktemp("packs")
    hq = _class_motion_pack(d / "hq.skpack", "kinect_v1", 20, 3)
    lq = _class_motion_pack(d / "lq.skpack", "coco", 17, 2, seed=1)
    return hq, lq


def _run(model: ModelConfig = TINY_MODEL, distill: DistillConfig | None = None,
         **kw) -> ExperimentConfig:
    """A configuration for the tiny packs: ``kw`` are keys of its input or train section."""
    kw = {"num_frames": 8, "batch_size": 8, "per_class": 2, "epochs": 2, "progress": False,
          "val_every": 1, "rotate_deg": 0.0, **kw}
    given = {k: v for k, v in kw.items() if k in InputConfig.__dataclass_fields__}
    return ExperimentConfig(model=model, distill=distill or DistillConfig(mode="none"),
                            input=InputConfig(**given),
                            train=TrainConfig(**{k: v for k, v in kw.items() if k not in given}))


def test_class_aware_sampler_batches():
    labels = np.repeat(np.arange(6), 10)
    sampler = ClassAwareBatchSampler(labels, 8, per_class=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 7
    for b in batches:
        counts = np.bincount(labels[b])
        assert counts.max() <= 8 and (counts[counts > 0] >= 1).all()
        assert len(set(labels[b])) <= 3  # per_class samples of a few classes
    assert sum(len(b) for b in batches) == 56 and len(set(sum(batches, []))) == 56
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_teacher_part_matrix_and_every_student_mode(packs, tmp_path):
    hq, lq = packs
    train, test = hq.split_indices("official", "train"), hq.split_indices("official", "test")
    run = _run()
    teacher = train_recognizer(hq, train, run, tmp_path / "teacher", val_indices=test)
    assert teacher.model.spec.in_channels == 3  # 3D: coordinates only
    assert (tmp_path / "teacher" / "logs" / "metrics.csv").exists()
    assert (tmp_path / "teacher" / "tensorboard").is_dir()
    pm = compute_part_matrix(teacher.model, hq, train, run)
    assert pm.rates.shape == (3, 5) and np.allclose(pm.matrix.sum(1), 1)
    pm.save(tmp_path / "pm.json")
    assert PartMatrix.load(tmp_path / "pm.json").class_names == hq.class_names
    # the graded rates beside the paper's, kept through a save; chosen by source
    loaded = PartMatrix.load(tmp_path / "pm.json")
    assert loaded.drops.shape == (3, 5) and (loaded.drops >= 0).all()
    np.testing.assert_allclose(loaded.from_source("drop").rates, pm.drops)
    assert loaded.from_source("error") is loaded
    with pytest.raises(ValueError, match="no probability drops"):
        PartMatrix(pm.class_names, pm.rates).from_source("drop")
    pm.plot(tmp_path / "pm.png")
    before = {k: v.clone() for k, v in teacher.model.state_dict().items()}
    for mode in DISTILL_MODES:
        cfg = DistillConfig(mode=mode, part_matrix=pm.matrix.tolist(), temperature=0.5)
        student = train_student(lq, hq, train, _run(occlusion=0.3, distill=cfg),
                                tmp_path / mode, teacher, hq_fraction=0.75)
        assert student.model.spec.in_channels == 3  # 2D: x, y, score
        report = evaluate_at(student.model, lq, test, _run(), 0.3)
        assert 0 <= report["top1"] <= 100 and len(report["confusion"]) == 3
        if mode != "none":  # the teacher inside the student stayed frozen
            for k, v in student.teacher.state_dict().items():
                assert torch.equal(v, before[k]), k
            assert not student.teacher.training
    reloaded = load_module(tmp_path / mode / "checkpoints" / "last.ckpt")  # the last mode's
    x = torch.randn(2, 1, 8, 17, 3)
    torch.testing.assert_close(reloaded.model(x), student.model(x))


def test_students_need_what_they_distill_from(packs, tmp_path):
    hq, lq = packs
    with pytest.raises(SkelkdError, match="needs a teacher"):
        train_student(lq, hq, lq.split_indices("official", "train"),
                      _run(distill=DistillConfig(mode="pmsc")), tmp_path / "s", None)


def test_constant_scores_are_not_fed(tmp_path):
    pack = _class_motion_pack(tmp_path / "c.skpack", "coco", 17, 2, const_score=True)
    assert not scores_vary(pack)
    run = _run(epochs=1)
    model = train_recognizer(pack, pack.split_indices("official", "train"), run, tmp_path / "t")
    assert model.model.spec.in_channels == 2


def test_the_model_section_reaches_the_model(tmp_path):
    """Every field of the configuration's model section is in the trained model's spec
    (model.person_pool was once accepted and dropped)."""
    pack = _class_motion_pack(tmp_path / "c.skpack", "coco", 17, 2)
    section = ModelConfig(backbone="stgcn-tiny", overrides=TINY, person_pool="all")
    model = train_recognizer(pack, pack.split_indices("official", "train"),
                             _run(epochs=1, model=section), tmp_path / "t")
    spec = model.model.spec
    assert (spec.backbone, spec.overrides, spec.person_pool) == ("stgcn-tiny", TINY, "all")
    assert load_module(tmp_path / "t").model.spec.person_pool == "all"


def test_learns_a_learnable_task(packs, tmp_path):
    hq, _ = packs
    run = _run(batch_size=6, epochs=12, val_every=100, scale_range=(1.0, 1.0))
    model = train_recognizer(hq, np.arange(len(hq)), run, tmp_path / "t")
    assert evaluate_at(model.model, hq, np.arange(len(hq)), run, 0.0)["top1"] > 80


def test_class_aware_sampler_shards_across_processes(monkeypatch):
    labels = np.repeat(np.arange(4), 12)
    single = list(ClassAwareBatchSampler(labels, 8, per_class=2, seed=3))
    shards = []
    for rank in range(2):
        monkeypatch.setattr(ClassAwareBatchSampler, "_shard", staticmethod(lambda r=rank: (2, r)))
        s = ClassAwareBatchSampler(labels, 8, per_class=2, seed=3)
        shards.append(list(s))
        assert len(s) == len(single) // 2
    assert shards[0] == single[0::2][: len(shards[0])] and shards[1] == single[1::2][
        : len(shards[1])]
    assert not set(sum(shards[0], [])) & set(sum(shards[1], []))


@pytest.mark.parametrize("mode", ["pmsc", "skd"])
def test_teacher_cache_gives_the_same_training(packs, tmp_path, mode):
    hq, lq = packs
    train = hq.split_indices("official", "train")
    teacher = train_recognizer(hq, train, _run(epochs=1), tmp_path / "t")
    pm = compute_part_matrix(teacher.model, hq, train, _run())
    cfg = DistillConfig(mode=mode, part_matrix=pm.matrix.tolist(), teacher_precision="32")
    a = train_student(lq, hq, train, _run(cache_teacher=True, distill=cfg), tmp_path / "a",
                      teacher, hq_fraction=0.75)
    b = train_student(lq, hq, train, _run(cache_teacher=False, distill=cfg), tmp_path / "b",
                      teacher, hq_fraction=0.75)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values(),
                           strict=True):
        torch.testing.assert_close(va, vb, atol=1e-5, rtol=1e-4, msg=k)
    # without the cache, the teacher may run in BF16: its outputs stay close to FP32's
    student = StudentModule(b.model.spec_dict(), teacher.model.spec_dict(),
                            distill=dataclasses.asdict(cfg))
    student.load_teacher(teacher.model.state_dict())
    x = torch.randn(6, 1, 8, hq.layout.num_joints, 3)
    batch = {"x_hq": x, "paired": torch.ones(6, dtype=torch.bool)}
    ref = student.teacher_outputs(batch, batch["paired"])
    student.distill.teacher_precision = "bf16"
    low = student.teacher_outputs(batch, batch["paired"])
    for r, lo in zip(ref, low, strict=True):
        assert lo.dtype == torch.float32
        torch.testing.assert_close(lo, r, atol=0.05, rtol=0.05)


def test_loader_workers_auto_is_zero_on_cpu_and_scales_with_cores_per_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert TrainConfig().workers == "auto" and TrainConfig().loader_workers() == 0
    assert TrainConfig(workers=3).loader_workers() == 3
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    for gpus, expected in ((1, 8), (4, 4), (32, 1)):
        monkeypatch.setattr(torch.cuda, "device_count", lambda g=gpus: g)
        assert TrainConfig().loader_workers() == expected
    assert TrainConfig(accelerator="cpu").loader_workers() == 0  # asked for the CPU
    # from YAML: 'auto', a number, or a clear error naming the field
    assert load_config("demo", ["train.workers=2"]).train.workers == 2
    for bad in ("-1", "many", "true"):
        with pytest.raises(SkelkdError, match="train.workers: expected 'auto' or a whole"):
            load_config("demo", [f"train.workers={bad}"])


def test_teacher_run_tracks_test_accuracy_without_selecting_on_it(tmp_path, make_pack):
    hq = make_pack("penn_action", n=24, num_classes=3, name="hq.skpack")
    cfg = load_config(None, [f"data.hq={hq.path}", "model.overrides.channels=[8,16]",
                             "model.overrides.strides=[1,2]", "input.num_frames=8",
                             "train.epochs=3", "train.batch_size=8", "train.per_class=2",
                             "train.progress=false", "train.val_every=1"])
    report = train_teacher_run(cfg, tmp_path / "run", track_test=True)
    with (tmp_path / "run" / "teacher" / "logs" / "metrics.csv").open() as f:
        tracked = [(int(r["epoch"]), float(r["val/acc"])) for r in csv.DictReader(f)
                   if r.get("val/acc")]
    assert [e for e, _ in tracked] == [0, 1, 2]  # the test split after every epoch
    assert report["top1"] == pytest.approx(100 * tracked[-1][1], abs=1e-3)  # the last one


def test_a_model_is_fed_as_it_was_trained(packs, tmp_path):
    """A teacher trained with CTR-GCN's per-axis scaling and without view alignment is
    fed that way when it distils into a run configured otherwise (and so is
    ``skelkd predict``, which reads the same fields of the model's spec)."""
    from skelkd.models import ModelSpec, Recognizer
    from skelkd.train.api import model_pipeline

    hq, _ = packs
    teacher = Recognizer(ModelSpec("kinect_v1", 3, 3, backbone="stgcn-small", overrides=TINY,
                                   align_view=False, normalization="minmax"))
    pipe = model_pipeline(teacher, hq, _run(align_view=True, normalization="torso"))
    assert pipe.normalization == "minmax" and not pipe.align_view
    run = _run(epochs=1, align_view=True, normalization="minmax", rotate_axes="xy",
               rotate_deg=60.0)
    trained = train_recognizer(hq, hq.split_indices("official", "train"), run, tmp_path)
    assert trained.model.spec.normalization == "minmax" and trained.model.spec.align_view


def test_validation_curve_every_epoch_and_across_a_resume(packs, tmp_path):
    hq, _ = packs
    train, val = hq.split_indices("official-val", "train"), hq.split_indices("official-val", "val")
    assert len(val) and not set(train) & set(val)
    first = train_recognizer(hq, train, _run(epochs=2, val_every=1), tmp_path,
                             val_indices=val)
    assert [e for e, _ in first.val_curve] == [1, 2]
    assert all(0 <= a <= 100 for _, a in first.val_curve)
    # the same folder, a longer schedule: resumes at epoch 3 with the first two kept
    more = train_recognizer(hq, train, _run(epochs=3, val_every=1), tmp_path,
                            val_indices=val)
    assert [e for e, _ in more.val_curve] == [1, 2, 3]
    assert more.val_curve[:2] == first.val_curve


def test_a_teacher_trained_with_occlusion_is_validated_and_read_clean(tmp_path, make_pack,
                                                                      monkeypatch):
    """distill.teacher_occlusion: the teacher's training reads draw a fresh occlusion at
    that OP; its validation, test and E stay on clean data."""
    import skelkd.experiment as experiment

    hq = make_pack("penn_action", n=24, num_classes=3, name="hq.skpack")
    cfg = load_config(None, [f"data.hq={hq.path}", "model.overrides.channels=[8,16]",
                             "model.overrides.strides=[1,2]", "input.num_frames=8",
                             "train.epochs=1", "train.batch_size=8", "train.per_class=2",
                             "train.progress=false", "distill.teacher_occlusion=0.4"])
    seen, real = {}, experiment.train_recognizer

    def spy(pack, indices, run_cfg, out, val_indices=None, val_occlusion=None):
        seen.update(input=run_cfg.input, val_occlusion=val_occlusion)
        return real(pack, indices, run_cfg, out, val_indices, val_occlusion)

    monkeypatch.setattr(experiment, "train_recognizer", spy)
    evaluated = []
    monkeypatch.setattr(experiment, "evaluate_at", lambda *a: evaluated.append(a[-1]) or
                        {"top1": 0.0})
    train_teacher_run(cfg, tmp_path / "run")
    assert seen["input"].occlusion == 0.4 and seen["input"].occlusion_draw == "fresh"
    assert seen["val_occlusion"] == 0.0 and evaluated == [0.0]
    saved = load_config(tmp_path / "run" / "teacher" / "config.yaml")
    assert saved.distill.teacher_occlusion == 0.4 and saved.input.occlusion == 0.0
    with pytest.raises(SkelkdError, match="distill.teacher_occlusion"):
        load_config(None, ["distill.teacher_occlusion=1.5"])


def test_a_teacher_ensemble_distils_the_mean_of_its_members_losses(packs, tmp_path):
    """distill.extra_teachers: L_kd is the mean over the teachers of each one's loss (its
    own features, the shared E), the same whether their outputs are cached or not; a
    configuration that names teachers without a mode to use them is an error."""
    hq, lq = packs
    train = hq.split_indices("official", "train")
    teachers = [train_recognizer(hq, train, _run(epochs=1, seed=s), tmp_path / f"t{s}")
                for s in (0, 1)]
    pm = compute_part_matrix(teachers[0].model, hq, train, _run())
    cfg = DistillConfig(part_matrix=pm.matrix.tolist(), teacher_precision="32")
    student = train_recognizer(lq, train, _run(epochs=1), tmp_path / "s").model
    torch.manual_seed(0)
    x_lq = torch.randn(6, 1, 8, lq.layout.num_joints, 3)
    batch = {"x_lq": x_lq, "x_hq": torch.randn(6, 1, 8, hq.layout.num_joints, 3),
             "label": torch.tensor([0, 1, 2, 0, 1, 2]), "hq_index": torch.arange(6),
             "paired": torch.tensor([1, 1, 0, 1, 1, 1], dtype=torch.bool)}

    def loss(module: StudentModule) -> float:
        with torch.no_grad():
            return float(module.distill_loss(batch, *module.model.features(x_lq)))

    single = [loss(_distilling(student, t.model, cfg)) for t in teachers]
    assert single[0] != pytest.approx(single[1], abs=1e-4)
    both = dataclasses.replace(cfg, extra_teachers=["t1"])
    module = StudentModule(student.spec_dict(), teachers[0].model.spec_dict(),
                           distill=dataclasses.asdict(both))
    module.model.load_state_dict(student.state_dict())
    module.load_teacher(*(t.model.state_dict() for t in teachers))
    module.eval()
    assert loss(module) == pytest.approx(sum(single) / 2, abs=1e-5)
    loader = [{"x": batch["x_hq"], "index": torch.arange(6)}]
    module.cache_teacher(loader)
    assert len(module.cached) == 2 and loss(module) == pytest.approx(sum(single) / 2, abs=1e-5)
    with pytest.raises(ValueError, match="2 teacher"):
        module.load_teacher(teachers[0].model.state_dict())
    with pytest.raises(SkelkdError, match="distill.extra_teachers: distill.mode 'none'"):
        load_config(None, ["distill.mode=none", "distill.extra_teachers=[runs/b/teacher]"])
    with pytest.raises(SkelkdError, match="distill.extra_teachers: expected a list"):
        load_config(None, ["distill.extra_teachers=runs/b/teacher"])


def test_inner_blocks_are_matched_like_the_last(packs, tmp_path):
    """distill.inner_blocks: the part features of earlier blocks (student's and teacher's
    of the same index) are matched with the same L_pmsc as the last block's, and L_kd is
    the mean over the depths; cached teacher outputs give the same loss; a block the
    stack lacks, blocks of different widths, a family without a block stack and a mode
    without parts are each one clear error."""
    from skelkd.distill import pmsc_loss
    from skelkd.models import Backbone

    hq, lq = packs
    train = hq.split_indices("official", "train")
    teacher = train_recognizer(hq, train, _run(epochs=1), tmp_path / "t").model
    student = train_recognizer(lq, train, _run(epochs=1, seed=1), tmp_path / "s").model
    pm = compute_part_matrix(teacher, hq, train, _run())
    torch.manual_seed(0)
    x_lq = torch.randn(6, 1, 8, lq.layout.num_joints, 3)
    batch = {"x_lq": x_lq, "x_hq": torch.randn(6, 1, 8, hq.layout.num_joints, 3),
             "label": torch.tensor([0, 1, 2, 0, 1, 2]), "hq_index": torch.arange(6),
             "paired": torch.tensor([1, 1, 0, 1, 1, 1], dtype=torch.bool)}
    # the backbone's block outputs: the stack run by hand; the last is forward's
    backbone = student.backbone
    y = backbone.normalize_input(x_lq).reshape(6, 8, -1, 3).permute(0, 3, 1, 2)
    by_hand = []
    for block in backbone.blocks:
        y = block(y)
        by_hand.append(y)
    with torch.no_grad():
        outs = backbone.block_outputs(x_lq, (-2,))
        torch.testing.assert_close(outs[0].flatten(0, 1), by_hand[0])
        torch.testing.assert_close(outs[1], backbone(x_lq))
    cfg = DistillConfig(part_matrix=pm.matrix.tolist(), teacher_precision="32",
                        inner_blocks=[-2])
    module = _distilling(student, teacher, cfg)
    with torch.no_grad():
        feats = module.model.features(x_lq, None, module.blocks)
        assert len(feats) == 4 and feats[3].shape == (6, 5, 8)
        got = float(module.distill_loss(batch, *feats))
        t = teacher.features(batch["x_hq"][batch["paired"]], None, (0,))
        y_lq, y_hq, twin = batch["label"], batch["label"][batch["paired"]], torch.tensor(
            [0, 1, -1, 2, 3, 4])
        want = (pmsc_loss(feats[2], t[2], y_lq, y_hq, twin, module.part_matrix, cfg.w,
                          cfg.temperature) +
                pmsc_loss(feats[3], t[3], y_lq, y_hq, twin, module.part_matrix, cfg.w,
                          cfg.temperature)) / 2
        last = float(_distilling(student, teacher, dataclasses.replace(
            cfg, inner_blocks=[])).distill_loss(batch, *feats[:3]))
    assert got == pytest.approx(float(want), abs=1e-5) and got != pytest.approx(last, abs=1e-4)
    module.cache_teacher([{"x": batch["x_hq"], "index": torch.arange(6)}])
    with torch.no_grad():
        assert float(module.distill_loss(batch, *feats)) == pytest.approx(got, abs=1e-5)
    with pytest.raises(SkelkdError, match=r"the backbone has 2 blocks \(indices -2 to 1\)"):
        backbone.block_outputs(x_lq, (2,))
    wide = dataclasses.replace(cfg, inner_blocks=[0])
    with pytest.raises(SkelkdError, match="block 0 is 8 channels wide in the student, 16"):
        module = _distilling(student, train_recognizer(
            hq, train, _run(ModelConfig(overrides={"channels": (16, 16), "strides": (1, 2)}),
                            epochs=1), tmp_path / "w").model, wide)
        module.distill_loss(batch, *module.model.features(x_lq, None, module.blocks))
    with pytest.raises(SkelkdError, match="'efficientgcn' has no block stack"):
        Backbone("coco", 3, 1, "efficientgcn-tiny").block_outputs(x_lq, (0,))
    with pytest.raises(SkelkdError, match="distill.inner_blocks: applies to the modes pmsc"):
        load_config(None, ["distill.mode=kl", "distill.inner_blocks=[-2]"])


def test_a_compiled_backbone_trains_as_the_plain_one(packs, tmp_path):
    """train.compile: the backbone is compiled in place (here with torch.compile's
    'eager' backend: the same operations, so the same numbers), its parameter names and
    checkpoints unchanged; a name that is no backend is one clear error."""
    hq, lq = packs
    train = hq.split_indices("official", "train")
    plain = train_student(lq, hq, train, _run(epochs=1), tmp_path / "plain")
    compiled = train_student(lq, hq, train, _run(epochs=1, compile="eager"), tmp_path / "c")
    assert compiled.model.backbone._compiled_call_impl is not None
    assert plain.model.backbone._compiled_call_impl is None
    a, b = plain.model.state_dict(), compiled.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=k)
    reloaded = load_module(tmp_path / "c" / "checkpoints" / "last.ckpt")
    x = torch.randn(2, 1, 8, lq.layout.num_joints, 3)
    torch.testing.assert_close(reloaded.model.eval()(x), compiled.model.eval()(x))
    with pytest.raises(SkelkdError, match="train.compile: expected '' or a torch.compile"):
        load_config(None, ["train.compile=fastest"])


def _distilling(student, teacher, cfg: DistillConfig, **kw) -> StudentModule:
    """A student module (in eval mode) with ``student``'s weights, distilled from
    ``teacher`` as ``cfg`` says."""
    module = StudentModule(student.spec_dict(), teacher.spec_dict(),
                           distill=dataclasses.asdict(cfg), **kw)
    module.model.load_state_dict(student.state_dict())
    module.load_teacher(teacher.state_dict())
    return module.eval()


def test_absent_parts_and_kl_reach_the_students_loss(packs, tmp_path):
    """distill.absent_parts: drop: the student's L_pmsc leaves out of each sample's phi
    the parts whose joints are all zero in its low-quality input (models.part_presence),
    and is the paper's where every part is there; distill.kl_weight adds that weight
    times logit distillation."""
    from skelkd.distill import kd_kl_loss, pmsc_loss
    from skelkd.models import part_presence

    hq, lq = packs
    train = hq.split_indices("official", "train")
    teacher = train_recognizer(hq, train, _run(epochs=1), tmp_path / "t")
    pm = compute_part_matrix(teacher.model, hq, train, _run())
    student = train_student(lq, hq, train, _run(epochs=1, distill=DistillConfig(
        part_matrix=pm.matrix.tolist())), tmp_path / "s", teacher).model
    losses = {}
    torch.manual_seed(0)
    x_lq = torch.randn(6, 1, 8, lq.layout.num_joints, 3)
    x_hq = torch.randn(6, 1, 8, hq.layout.num_joints, 3)
    gone = list(lq.layout.part_indices[3])
    for absent in (False, True):
        x = x_lq.clone()
        if absent:
            x[:3, :, :, gone] = 0
        for choice in ("keep", "drop"):
            cfg = DistillConfig(part_matrix=pm.matrix.tolist(), absent_parts=choice,
                                teacher_precision="32")
            module = _distilling(student, teacher.model, cfg)
            batch = {"x_lq": x, "x_hq": x_hq, "label": torch.tensor([0, 1, 2, 0, 1, 2]),
                     "paired": torch.ones(6, dtype=torch.bool)}
            with torch.no_grad():
                logits, g, parts = module.model.features(x)
                losses[absent, choice] = float(module.distill_loss(batch, logits, g, parts))
                if absent and choice == "drop":
                    present = part_presence(x, module.model.part_pool)
                    assert present[:3, 3].eq(False).all() and present[3:].all()
                    t_parts = module.teacher_outputs(batch, batch["paired"])[2]
                    want = pmsc_loss(parts, t_parts, batch["label"], batch["label"],
                                     torch.arange(6), module.part_matrix, cfg.w,
                                     cfg.temperature, present)
                    assert losses[absent, choice] == pytest.approx(float(want), abs=1e-6)
    assert losses[False, "keep"] == pytest.approx(losses[False, "drop"], abs=1e-6)
    assert losses[True, "keep"] != pytest.approx(losses[True, "drop"], abs=1e-6)
    # distill.kl_weight: the contrastive loss plus that weight times logit distillation
    cfg = DistillConfig(part_matrix=pm.matrix.tolist(), kl_weight=0.5, teacher_precision="32")
    module = _distilling(student, teacher.model, cfg)
    with torch.no_grad():
        logits, g, parts = module.model.features(x_lq)
        t_logits = module.teacher_outputs(batch | {"x_lq": x_lq}, batch["paired"])[0]
        got = float(module.distill_loss(batch | {"x_lq": x_lq}, logits, g, parts))
    want = losses[False, "keep"] + 0.5 * float(kd_kl_loss(logits, t_logits, cfg.kd_temperature))
    assert got == pytest.approx(want, abs=1e-5)
    # distill.global_weight: the part-level loss plus that weight times global MSC
    from skelkd.distill import global_msc_loss

    cfg = DistillConfig(part_matrix=pm.matrix.tolist(), global_weight=0.3,
                        teacher_precision="32")
    module = _distilling(student, teacher.model, cfg)
    with torch.no_grad():
        logits, g, parts = module.model.features(x_lq)
        t_g = module.teacher_outputs(batch | {"x_lq": x_lq}, batch["paired"])[1]
        got = float(module.distill_loss(batch | {"x_lq": x_lq}, logits, g, parts))
        glob = float(global_msc_loss(g, t_g, batch["label"], batch["label"], torch.arange(6),
                                     cfg.w, cfg.temperature))
    assert glob > 0 and got == pytest.approx(losses[False, "keep"] + 0.3 * glob, abs=1e-5)


def test_learned_temperature_and_projection_head(packs, tmp_path):
    """distill.learn_temperature: tau starts at distill.temperature (the loss is the
    fixed-tau loss), is trained with the student, stays within [0.01, 1] and out of
    weight decay; distill.projection: a per-part head, the identity at the start, trained
    with the student; neither is part of the exported model."""
    from skelkd.train.modules import _optimizers

    hq, lq = packs
    train = hq.split_indices("official", "train")
    teacher = train_recognizer(hq, train, _run(epochs=1), tmp_path / "t")
    pm = compute_part_matrix(teacher.model, hq, train, _run())
    plain = DistillConfig(part_matrix=pm.matrix.tolist(), temperature=0.2,
                          teacher_precision="32")
    student = train_student(lq, hq, train, _run(epochs=1, distill=plain), tmp_path / "s",
                            teacher).model
    torch.manual_seed(0)
    batch = {"x_lq": torch.randn(6, 1, 8, lq.layout.num_joints, 3),
             "x_hq": torch.randn(6, 1, 8, hq.layout.num_joints, 3),
             "label": torch.tensor([0, 1, 2, 0, 1, 2]), "paired": torch.ones(6, dtype=bool)}
    losses = {}
    for name, extra in (("plain", {}), ("tau", {"learn_temperature": True}),
                        ("head", {"projection": True})):
        module = _distilling(student, teacher.model, dataclasses.replace(plain, **extra))
        logits, g, parts = module.model.features(batch["x_lq"])
        losses[name] = module.distill_loss(batch, logits, g, parts)
        if name != "plain":
            losses[name].backward()
            learned = module.log_temperature if name == "tau" else module.projection
            assert learned.grad is not None and learned.grad.abs().sum() > 0
    assert float(losses["tau"]) == pytest.approx(float(losses["plain"]), abs=1e-6)
    assert float(losses["head"]) == pytest.approx(float(losses["plain"]), abs=1e-6)
    module.log_temperature = torch.nn.Parameter(torch.tensor(5.0))  # clamped to tau = 1
    assert float(module.temperature()) == pytest.approx(1.0)
    cfg = dataclasses.replace(plain, learn_temperature=True, projection=True)
    trained = train_student(lq, hq, train, _run(epochs=2, distill=cfg), tmp_path / "both",
                            teacher)
    assert 0.01 <= float(trained.temperature()) <= 1
    assert float(trained.temperature()) != pytest.approx(0.2, abs=1e-7)
    assert not torch.equal(trained.projection.detach(), torch.eye(len(trained.projection[0]))
                           .repeat(5, 1, 1))
    groups = _optimizers(trained, trained.optim)["optimizer"].param_groups
    assert [g["weight_decay"] for g in groups][1] == 0.0
    assert groups[1]["params"] == [trained.log_temperature]
    assert not any("temperature" in k or "projection" in k
                   for k in trained.model.state_dict())
    reloaded = load_module(tmp_path / "both" / "checkpoints" / "last.ckpt")
    assert float(reloaded.temperature()) == pytest.approx(float(trained.temperature()))
    for key in ("learn_temperature", "projection"):  # a mode that would ignore it
        with pytest.raises(SkelkdError, match=f"distill.{key}: .*not to distill.mode 'kl'"):
            DistillConfig(mode="kl", **{key: True})


def test_outlier_exposure_loss_is_its_definition():
    """Hendrycks et al.'s outlier exposure, written as a loop: the mean over outlier
    samples of -(1/C) sum_c log softmax(z)_c."""
    from skelkd.train.modules import outlier_exposure_loss

    z = torch.randn(5, 4, dtype=torch.float64)
    want = 0.0
    for i in range(5):
        norm = sum(np.exp(float(z[i, c])) for c in range(4))
        want += -sum(np.log(np.exp(float(z[i, c])) / norm) for c in range(4)) / 4
    assert float(outlier_exposure_loss(z)) == pytest.approx(want / 5, rel=1e-6)
    # uniform outputs are its minimum, log C
    assert float(outlier_exposure_loss(torch.zeros(3, 4))) == pytest.approx(np.log(4))
    assert float(outlier_exposure_loss(torch.zeros(0, 4))) == 0.0


def test_outliers_join_the_students_data_and_leave_its_other_terms(packs, tmp_path):
    """data.outliers: the student's training data gains the outlier samples (label -1,
    never paired, through the low-quality pipeline); in its loss they leave L_c and L_kd
    (the known samples' terms are what they are without them) and add
    train.outlier_weight times the outlier exposure loss. Class-aware batches refuse them."""
    from skelkd.data.dataset import OUTLIER, WithOutliers
    from skelkd.train.modules import outlier_exposure_loss

    hq, lq = packs
    train = hq.split_indices("official", "train")
    other = _class_motion_pack(tmp_path / "other.skpack", "coco", 17, 2, n=8, seed=2,
                               classes=2)
    teacher = train_recognizer(hq, train, _run(epochs=1), tmp_path / "t")
    pm = compute_part_matrix(teacher.model, hq, train, _run())
    cfg = DistillConfig(part_matrix=pm.matrix.tolist(), teacher_precision="32")
    with pytest.raises(SkelkdError, match="data.outliers: outlier exposure takes uniformly"):
        train_student(lq, hq, train, _run(epochs=1, distill=cfg), tmp_path / "ca", teacher,
                      outliers=(other, np.arange(8)))
    student = train_student(lq, hq, train, _run(epochs=1, class_aware=False, distill=cfg),
                            tmp_path / "s", teacher, outliers=(other, np.arange(1, 8)))
    module = _distilling(student.model, teacher.model, cfg, outlier_weight=0.5)
    module.log_dict = lambda *a, **k: None
    module._trainer = type("T", (), {"max_epochs": 1, "current_epoch": 0})()

    from skelkd.data.dataset import PairedDataset
    from skelkd.train.api import model_pipeline

    paired = PairedDataset(lq, hq, model_pipeline(module.model, lq, _run(), train=True),
                           model_pipeline(teacher.model, hq, _run()), train)
    data = WithOutliers(paired, other, np.arange(1, 8))
    assert len(data) == len(train) + 7
    assert (data.labels == OUTLIER).sum() == 7 and (data.labels[:len(train)] >= 0).all()
    items = data.__getitems__([0, len(train), 1, len(train) + 6])
    assert [d["label"] for d in items][1::2] == [OUTLIER, OUTLIER]
    assert not items[1]["paired"] and items[1]["hq_index"] == -1
    assert items[1]["x_lq"].shape == items[0]["x_lq"].shape
    collate = torch.utils.data.default_collate
    mixed = collate(items)
    known = collate([items[0], items[2]])
    with torch.no_grad():
        got = float(module.training_step(mixed, 0))
        base = float(module.training_step(known, 0))
        out = module.model(mixed["x_lq"][mixed["label"] < 0])
    assert got == pytest.approx(base + 0.5 * float(outlier_exposure_loss(out)), abs=1e-5)
    # a batch of outliers alone (possible with shuffled batches): their term, finite
    alone = collate(items[1::2])
    with torch.no_grad():
        got = float(module.training_step(alone, 0))
    assert got == pytest.approx(0.5 * float(outlier_exposure_loss(out)), abs=1e-5)


def test_load_outliers_simulates_the_pack_and_leaves_out_excluded_classes(packs, tmp_path):
    from skelkd.config import DataConfig
    from skelkd.experiment import load_outliers

    hq, lq = packs
    cfg = ExperimentConfig(data=DataConfig(outliers=str(hq.path), outlier_exclude=["c1"]))
    cfg.train.progress = False
    assert load_outliers(ExperimentConfig(), tmp_path, lq) is None
    pack, keep = load_outliers(cfg, tmp_path, lq)
    assert pack.layout.name == lq.layout.name and pack.coord_dims == 2
    assert pack.path.parent == tmp_path / "data" and pack.meta.get("simulated")
    assert len(keep) == 16 and set(pack.labels[keep]) == {0, 2}
    cfg.data.outlier_exclude = ["c"]
    with pytest.raises(SkelkdError, match="data.outlier_exclude: leaves no sample"):
        load_outliers(cfg, tmp_path, lq)
    cfg.data.outlier_exclude = []
    cfg.data.simulate = {**cfg.data.simulate, "layout": "h36m"}
    with pytest.raises(SkelkdError, match="data.outliers: simulated into layout 'h36m'"):
        load_outliers(cfg, tmp_path, lq)
