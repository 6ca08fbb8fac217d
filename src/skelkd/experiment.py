"""Experiments from configuration: the run folder, the data, the teacher, the part matrix,
the students and their evaluation, as the CLI and the demo run them.

A run folder (``runs/NAME/``) holds::

    config.yaml                  the resolved configuration of the last command
    data/                        simulated low-quality packs made for this run
    teacher/                     checkpoints/last.ckpt, logs/, tensorboard/, config.yaml,
                                 metrics.json, part_matrix.json, part_matrix.png
    student-MODE-opOP/           the same for each student, and eval.json (every OP)

Every command writes ``metrics.json`` atomically; ``skelkd report`` reads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import lightning
import numpy as np
import torch

from . import __version__
from .config import DistillConfig, ExperimentConfig, load_config
from .data.dataset import keep_fraction
from .data.simulate import classes_containing, get_preset, rested_twin, simulate_pack
from .distill.part_matrix import PartMatrix
from .errors import SkelkdError
from .io import open_data_pack, open_pack
from .io.pack import Pack, Sample
from .train.api import (
    RecognizerModule,
    TeacherProbe,
    compute_part_matrix,
    evaluate_at,
    load_module,
    teacher_probe,
    train_recognizer,
    train_student,
    write_json,
)


def load_data(cfg: ExperimentConfig, run_dir: Path) -> tuple[Pack, Pack, np.ndarray, np.ndarray]:
    """The high- and low-quality packs and the training and test indices (of the
    low-quality pack, which shares the high-quality pack's instance ids and splits when
    simulated from it)."""

    hq = open_data_pack(cfg.data.hq)
    lq = open_data_pack(cfg.data.lq) if cfg.data.lq else _simulated(cfg, hq, run_dir, "lq")
    split = cfg.data.split
    train = lq.split_indices(split, cfg.data.train_subset)
    test = lq.split_indices(split, cfg.data.test_subset)
    return hq, lq, train, test


def _simulated(cfg: ExperimentConfig, hq: Pack, run_dir: Path, prefix: str) -> Pack:
    """``hq`` as ``data.simulate`` degrades it, written once to
    ``RUN/data/PREFIX_PRESET_LAYOUT_seedS.skpack`` and read from there afterwards."""
    sim = dict(cfg.data.simulate)
    preset = sim.pop("preset", "fast")
    seed = int(sim.pop("seed", 0))
    layout = sim.pop("layout", "coco")
    path = run_dir / "data" / f"{prefix}_{preset}_{layout}_seed{seed}.skpack"
    if not path.exists():
        simulate_pack(hq, path, get_preset(preset, target_layout=layout, **sim), seed=seed,
                      preset=preset, progress=cfg.train.progress)
    return open_pack(path)


def load_outliers(cfg: ExperimentConfig, run_dir: Path, lq: Pack
                  ) -> tuple[Pack, np.ndarray] | None:
    """The student's outlier samples (``data.outliers``: a high-quality pack of actions
    outside the classes) simulated like the low-quality data by ``data.simulate`` (written
    once to the run folder's ``data/``), and the indices of those not in a class named by
    ``data.outlier_exclude``; None without ``data.outliers``."""
    if not cfg.data.outliers:
        return None
    source = open_data_pack(cfg.data.outliers)
    pack = _simulated(cfg, source, run_dir, f"outliers_{Path(str(source.path)).stem}")
    if pack.layout.name != lq.layout.name:
        raise SkelkdError(f"data.outliers: simulated into layout '{pack.layout.name}' "
                          f"(data.simulate.layout), but the low-quality data {lq.path} is in "
                          f"'{lq.layout.name}'")
    excluded = classes_containing(list(pack.class_names), cfg.data.outlier_exclude)
    keep = np.flatnonzero(~np.isin(pack.labels, excluded))
    if not len(keep):
        raise SkelkdError(f"data.outlier_exclude: leaves no sample of {source.path}")
    return pack, keep


def val_indices(cfg: ExperimentConfig, pack: Pack) -> np.ndarray | None:
    """The validation subset (``data.val_subset``) of the configured split, or None when
    the split has none (the official splits; their ``-val`` twins have one)."""
    if cfg.data.val_subset not in pack.splits.get(cfg.data.split, {}):
        return None
    return pack.split_indices(cfg.data.split, cfg.data.val_subset)


def rested_val_clips(cfg: ExperimentConfig, hq: Pack, lq: Pack, draw: int,
                     tempo: float = 1.0, seconds: float = 0.0) -> Iterator[Sample]:
    """Each validation clip of the run (``data.val_subset`` of its split, in ``lq``'s
    order) as its high-quality twin given a still rest before and after the action and
    degraded by the run's simulator (:func:`skelkd.data.simulate.rested_twin`: draw
    ``draw``, keyed by the clip's index in ``lq``): a trimmed clip made to look like an
    untrimmed real one; ``tempo`` != 1 plays each action that many times as long first;
    ``seconds`` > 0 plays the rested clip over and over to at least that long (at the
    clip's frame rate, :data:`~skelkd.io.pack.DEFAULT_FPS` when it has none)."""
    sim = cfg.data.simulate
    params = get_preset(sim["preset"], target_layout=sim["layout"])
    pos = {iid: k for k, iid in enumerate(hq.instance_ids)}
    for i in lq.split_indices(cfg.data.split, cfg.data.val_subset):
        twin = hq[pos[lq.instance_ids[int(i)]]]
        frames = int(seconds * twin.fps)
        yield rested_twin(twin, hq.layout, params, draw, int(i), tempo, frames)


def hq_indices(hq: Pack, lq: Pack, lq_indices: np.ndarray) -> np.ndarray:
    """High-quality pack indices of the instances among ``lq_indices`` that it holds."""
    pos = {iid: k for k, iid in enumerate(hq.instance_ids)}
    return np.array(sorted(pos[lq.instance_ids[i]] for i in lq_indices
                           if lq.instance_ids[i] in pos), dtype=np.int64)


def paired_instances(cfg: ExperimentConfig, hq: Pack, lq: Pack, train: np.ndarray) -> set[str]:
    """Instance ids of the training split whose high-quality twin is kept: those in the
    high-quality pack, ``data.hq_fraction`` of them chosen by ``data.pairing_seed`` (the
    same choice as :class:`~skelkd.data.PairedDataset` makes)."""

    in_hq = set(hq.instance_ids)
    return keep_fraction([lq.instance_ids[i] for i in train if lq.instance_ids[i] in in_hq],
                         cfg.data.hq_fraction, cfg.data.pairing_seed)


def _environment() -> dict:

    return {"skelkd": __version__, "torch": torch.__version__,
            "lightning": lightning.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "git_commit": _git_commit()}


def _git_commit() -> str | None:
    """The commit of the skelkd source tree when it is a git checkout (editable
    installs), with ``+dirty`` when it has uncommitted changes; None otherwise."""

    root = Path(__file__).resolve().parent.parent.parent
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=True).stdout
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "src"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return head.strip() + ("+dirty" if dirty.strip() else "")


# what may change between a run and its resumption: the hardware, the display, the
# evaluation, the name, and the part matrix that training itself fills in
RESUMABLE = ("name", "train.progress", "train.workers", "train.accelerator", "train.devices",
             "train.num_nodes", "train.strategy", "train.keep_freed_memory", "train.threads",
             "eval.", "distill.part_matrix")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and k != "simulate" and k != "overrides":
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def changed_settings(saved: ExperimentConfig, cfg: ExperimentConfig) -> list[str]:
    """The keys that define a run and differ between two configurations."""
    a, b = _flat(saved.to_dict()), _flat(cfg.to_dict())
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)
                  and not any(k == r or (r.endswith(".") and k.startswith(r))
                              for r in RESUMABLE))


@contextlib.contextmanager
def claim_run_folder(out: Path, cfg: ExperimentConfig):
    """Own a run folder for the run's life: an exclusive lock (``out/.lock``, released on
    any exit, a crash included, since the system drops it with the process), a refusal
    when the folder holds a checkpoint of a run with other settings (resuming would mix
    them), then the configuration saved as ``config.yaml``."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".lock", "a+")  # noqa: SIM115 (held until the with-block ends)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            who = lock.read().strip() or "another process"
            raise SkelkdError(f"{out}: another skelkd run is training into this folder "
                              f"({who}); wait for it to end, or give this run another name "
                              "(--set name=...)") from None
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        lock.flush()
        saved = out / "config.yaml"
        if saved.exists() and (out / "checkpoints" / "last.ckpt").exists():

            diff = changed_settings(load_config(saved), cfg)
            if diff:
                raise SkelkdError(f"{out}: holds a run trained with other settings "
                                  f"({', '.join(diff)}); resuming it would mix them. Give "
                                  "this run another name (--set name=...), or delete the "
                                  "folder to start over")
        cfg.save(saved)
        yield out
    finally:
        lock.close()


def _finish(out: Path, cfg: ExperimentConfig, report: dict, start: float,
            environment: dict, earlier: float = 0.0) -> dict:
    """metrics.json: the report, its seconds, its seed and ``environment`` (read when the
    run started: the source commit is the one the run's code came from, not the one
    checked out when it ended)."""

    # this process's whole time, plus the fitting time of earlier processes that this
    # run resumed from (FitClock, kept in the checkpoints)
    report["seconds"] = time.time() - start + earlier
    report["seed"] = cfg.train.seed
    report["environment"] = environment
    write_json(out / "metrics.json", report)
    return report


def train_teacher_run(cfg: ExperimentConfig, run_dir: Path, track_test: bool = False) -> dict:
    """:func:`_teacher_run` in its run folder, claimed (:func:`claim_run_folder`)."""
    with claim_run_folder(run_dir / "teacher", cfg):
        return _teacher_run(cfg, run_dir, track_test)


def _teacher_run(cfg: ExperimentConfig, run_dir: Path, track_test: bool) -> dict:
    """Train the teacher on the high-quality training split (the paired part when
    ``data.hq_fraction`` < 1), evaluate it on the high-quality test split, and compute
    the part matrix E. Resumes from ``teacher/checkpoints/last.ckpt`` if present.

    When the split has a validation subset (``data.val_subset``), its accuracy is logged
    every ``train.val_every`` epochs and written to metrics.json (``val_curve``);
    ``track_test`` logs the test split's instead (a learning curve for studies of a
    split without validation). The reported top-1 stays the last epoch's: picking the
    best epoch by the test set would select on it."""

    start, env = time.time(), _environment()
    out = run_dir / "teacher"
    hq, lq, train, test = load_data(cfg, run_dir)
    hq_train = teacher_train_indices(cfg, hq, lq, train)
    hq_test = hq_indices(hq, lq, test)
    clean = teacher_config(cfg)
    val = val_indices(cfg, lq)
    hq_val = hq_test if track_test else None if val is None else hq_indices(hq, lq, val)
    teacher = train_recognizer(hq, hq_train, taught_config(cfg), out, val_indices=hq_val,
                               val_occlusion=0.0)
    report = evaluate_at(teacher.model, hq, hq_test, clean, 0.0)
    report["train_samples"] = int(len(hq_train))
    report["val_curve"] = teacher.val_curve if val is not None and not track_test else []
    pm = compute_part_matrix(teacher.model, hq, hq_train, clean)
    pm.save(out / "part_matrix.json")
    pm.plot(out / "part_matrix.png", f"Part matrix E: {cfg.name} teacher")
    return _finish(out, cfg, report, start, env, getattr(teacher, "earlier_seconds", 0.0))


def teacher_train_indices(cfg: ExperimentConfig, hq: Pack, lq: Pack,
                          train: np.ndarray) -> np.ndarray:
    """The high-quality samples the teacher trains on: the twins of the training split's
    instances it is given (:func:`paired_instances`)."""
    kept = paired_instances(cfg, hq, lq, train)
    hq_train = hq_indices(hq, lq, [i for i in train if lq.instance_ids[i] in kept])
    if len(hq_train) == 0:
        raise SkelkdError(f"{cfg.data.hq}: no high-quality sample matches the training split")
    return hq_train


def taught_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` as the teacher is trained with it: :func:`teacher_config`, with
    ``distill.teacher_occlusion`` drawn afresh at every read when it is set."""
    clean = teacher_config(cfg)
    if cfg.distill.teacher_occlusion == 0:
        return clean
    return dataclasses.replace(clean, input=dataclasses.replace(
        clean.input, occlusion=cfg.distill.teacher_occlusion, occlusion_draw="fresh"))


def crossfit_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The fold (0 to ``folds`` - 1) of each sample: each class's samples, in an order
    shuffled by ``seed``, dealt in turn, so every fold holds its share of every class."""
    order = np.random.default_rng(seed).permutation(len(labels))
    order = order[np.argsort(np.asarray(labels)[order], kind="stable")]
    fold = np.empty(len(labels), dtype=np.int64)
    fold[order] = np.arange(len(order)) % folds
    return fold


def part_matrix_crossfit(teacher_dir: Path, folds: int) -> PartMatrix:
    """E (Eq. 12-13) cross-fitted (a study lever, issue 25, not the paper's): the
    teacher's training samples dealt into ``folds`` folds (per class, in a shuffled
    order seeded by the run's ``train.seed``, so every fold has each class's share);
    for each fold a teacher of the run's configuration trained on the other folds
    (``teacher_dir/crossfit/foldK``, resumable) reads it whole and with each part
    occluded, and Eq. 12 runs on the pooled readings: every training sample read by a
    teacher that did not fit it, where the run's teacher, near 100% on them, leaves rows
    of E flat. Costs ``folds`` teacher trainings on (folds - 1) / folds of its data."""
    cfg = load_config(teacher_dir / "config.yaml")
    hq, lq, train, _ = load_data(cfg, teacher_dir.parent)
    hq_train = teacher_train_indices(cfg, hq, lq, train)
    fold = crossfit_folds(hq.labels[hq_train], folds, cfg.train.seed)
    clean = teacher_config(cfg)
    probes = []
    for k in range(folds):
        out = teacher_dir / "crossfit" / f"fold{k}"
        with claim_run_folder(out, cfg):
            model = train_recognizer(hq, hq_train[fold != k], taught_config(cfg), out).model
        probes.append(teacher_probe(model, hq, hq_train[fold == k], clean))
    probe = TeacherProbe(*(np.concatenate([getattr(p, f) for p in probes])
                           for f in ("labels", "full", "occluded")))
    n = len(hq.class_names)
    return PartMatrix(list(hq.class_names), probe.error_rates(n),
                      cfg.distill.part_matrix_temperature, probe.probability_drops(n))


def teacher_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """``cfg`` as the teacher is read with it, and trained unless
    ``distill.teacher_occlusion``: on clean high-quality data (no occlusion)."""
    return dataclasses.replace(cfg, input=dataclasses.replace(cfg.input, occlusion=0.0))


def part_matrix_on(teacher_dir: Path, subset: str) -> PartMatrix:
    """E (Eq. 12-13) of a trained teacher computed again, on its run's high-quality
    samples of ``subset`` of the run's split (``val``: data the teacher did not fit,
    where the training samples it nearly always gets right can leave rows of E flat),
    at the run's ``distill.part_matrix_temperature``."""
    cfg = load_config(teacher_dir / "config.yaml")
    hq, lq, _, _ = load_data(cfg, teacher_dir.parent)
    idx = hq_indices(hq, lq, lq.split_indices(cfg.data.split, subset))
    if len(idx) == 0:
        raise SkelkdError(f"{teacher_dir}: no high-quality sample in subset '{subset}' of "
                          f"split '{cfg.data.split}'")
    return compute_part_matrix(load_module(teacher_dir).model, hq, idx, teacher_config(cfg))


def teacher_part_matrix(teacher_dir: Path, subset: str, cfg: ExperimentConfig) -> PartMatrix:
    """The teacher's E read on its training samples (``subset`` "train": part_matrix.json,
    written when it was trained), on the run's validation samples ("val", the split's
    ``data.val_subset``: part_matrix_SUBSET.json, computed by :func:`part_matrix_on` the
    first time and kept beside the teacher), or cross-fitted ("crossfit",
    :func:`part_matrix_crossfit`, kept likewise)."""
    if subset == "train":
        return PartMatrix.load(teacher_dir / "part_matrix.json")
    if subset == "crossfit":
        folds = cfg.distill.part_matrix_folds
        path = teacher_dir / f"part_matrix_crossfit{folds}.json"
        if not path.exists():
            part_matrix_crossfit(teacher_dir, folds).save(path)
        return PartMatrix.load(path)
    path = teacher_dir / f"part_matrix_{cfg.data.val_subset}.json"
    if not path.exists():  # a split without that subset: part_matrix_on's clear error
        part_matrix_on(teacher_dir, cfg.data.val_subset).save(path)
    return PartMatrix.load(path)


def distill_label(cfg: ExperimentConfig) -> str:
    """The distillation in a table: the mode, its temperature, and the other settings
    that differ from the defaults (``pmsc tau=0.1``, ``kl T=4 alpha=2``...)."""

    d, default = cfg.distill, DistillConfig()
    if d.mode == "none":
        return "none"
    parts = [d.mode, f"T={d.kd_temperature:g}" if d.mode == "kl" else f"tau={d.temperature:g}"]
    keys = ("alpha",) if d.mode == "kl" else ("alpha", "w", "part_matrix_temperature")
    parts += [f"{k}={getattr(d, k):g}" for k in keys if getattr(d, k) != getattr(default, k)]
    if d.mode == "pmsc" and d.part_matrix_source != default.part_matrix_source:
        parts.append(f"E from {d.part_matrix_source}")
    if d.mode == "pmsc" and d.part_matrix_subset == "crossfit":
        parts.append(f"E cross-fitted ({d.part_matrix_folds} folds)")
    elif d.mode == "pmsc" and d.part_matrix_subset != default.part_matrix_subset:
        parts.append(f"E on {d.part_matrix_subset}")
    parts += [name for name, on in (("tau learned", d.learn_temperature),
                                     ("projection", d.projection)) if on]
    if d.extra_teachers:
        parts.append(f"{1 + len(d.extra_teachers)} teachers")
    return " ".join(parts)


def student_dir(run_dir: Path, cfg: ExperimentConfig) -> Path:
    """``student-MODE-opOP``, with ``-paired`` when it trains on the paired part only."""
    paired = "-paired" if cfg.data.student_data == "paired" else ""
    return run_dir / f"student-{cfg.distill.mode}-op{cfg.input.occlusion:g}{paired}"


def student_train_indices(cfg: ExperimentConfig, hq: Pack, lq: Pack,
                          train: np.ndarray) -> tuple[np.ndarray, float]:
    """The student's training indices and the high-quality fraction to pair them with:
    all of ``train`` and ``data.hq_fraction`` (``data.student_data: all``), or only the
    instances the teacher was given (``paired``: the same choice as the teacher's, by
    seed), then all of them paired."""
    mode = cfg.data.student_data
    if mode == "all":
        return train, cfg.data.hq_fraction
    if mode != "paired":
        raise SkelkdError(f"data.student_data must be 'all' or 'paired', not {mode!r}")
    kept = paired_instances(cfg, hq, lq, train)
    return np.array([i for i in train if lq.instance_ids[i] in kept], dtype=np.int64), 1.0


def train_student_run(cfg: ExperimentConfig, run_dir: Path,
                      teacher_dir: Path | None = None) -> dict:
    """:func:`_student_run` in its run folder, claimed (:func:`claim_run_folder`)."""
    with claim_run_folder(student_dir(run_dir, cfg), cfg):
        return _student_run(cfg, run_dir, teacher_dir)


def _distill_teacher(teacher_dir: Path, cfg: ExperimentConfig, lq: Pack
                     ) -> tuple[RecognizerModule, np.ndarray]:
    """A trained teacher to distil from and its E (Eq. 13) as ``cfg.distill`` reads it
    (subset, source, temperature), checked against the student's classes."""
    distill = cfg.distill
    ckpt = teacher_dir / "checkpoints" / "last.ckpt"
    if not ckpt.exists():
        raise SkelkdError(f"{teacher_dir}: no trained teacher (run `skelkd train teacher` "
                          "first)")
    teacher = load_module(ckpt)
    pm = teacher_part_matrix(teacher_dir, distill.part_matrix_subset, cfg)
    if pm.class_names != list(lq.class_names):
        raise SkelkdError(f"{teacher_dir}/part_matrix.json: classes differ from {lq.path}")
    if distill.part_matrix_source == "drop" and pm.drops is None:
        raise SkelkdError(f"{teacher_dir}/part_matrix.json: no probability drops for "
                          "distill.part_matrix_source 'drop' (a teacher trained before "
                          f"they were kept); run `skelkd part-matrix {teacher_dir} "
                          f"--subset {cfg.data.train_subset}` to compute them")
    pm = pm.from_source(distill.part_matrix_source)
    return teacher, pm.with_temperature(distill.part_matrix_temperature).matrix


def _student_run(cfg: ExperimentConfig, run_dir: Path, teacher_dir: Path | None) -> dict:
    """Train a student on the low-quality training split at OP ``input.occlusion`` with
    ``distill.mode``, and evaluate it at every OP of ``eval.ops``."""

    start, env = time.time(), _environment()
    out = student_dir(run_dir, cfg)
    hq, lq, train, test = load_data(cfg, run_dir)
    teachers, distill = [], cfg.distill
    if distill.mode != "none":
        teacher_dir = teacher_dir or run_dir / "teacher"
        loaded = [_distill_teacher(Path(d), cfg, lq)
                  for d in (teacher_dir, *distill.extra_teachers)]
        teachers = [t for t, _ in loaded]
        for d, t in zip(distill.extra_teachers, teachers[1:], strict=True):
            if t.model.spec_dict() != teachers[0].model.spec_dict():
                raise SkelkdError(f"distill.extra_teachers: {d} is not of the specification of "
                                  f"the run's teacher {teacher_dir} (an ensemble's teachers "
                                  "must share one)")
        # an ensemble's E: the mean of its teachers' (docs/design.md, item 75)
        distill.part_matrix = np.mean([m for _, m in loaded], axis=0).tolist()
    train, hq_fraction = student_train_indices(cfg, hq, lq, train)
    outliers = load_outliers(cfg, run_dir, lq)
    student = train_student(lq, hq, train, cfg, out, teachers[0] if teachers else None,
                            hq_fraction, val_indices(cfg, lq), cfg.data.pairing_seed, outliers,
                            co_teachers=teachers[1:])
    report = {"train_samples": int(len(train)), "train_occlusion": cfg.input.occlusion,
              "distill": distill_label(cfg), "val_curve": student.val_curve, "by_op": {}}
    if outliers is not None:
        report["outlier_samples"] = int(len(outliers[1]))
    if teachers:  # where its teacher is, relative to the student's folder
        report["teacher"] = os.path.relpath(teacher_dir.resolve(), out.resolve())
        # which training of that teacher: a teacher trained again from its configuration
        # and seed on another machine is the same recipe, not the same weights (float
        # sums follow the thread count), so a record names the one it distilled from
        tm = teacher_dir / "metrics.json"
        if tm.exists():
            report["teacher_top1"] = json.loads(tm.read_text()).get("top1")
    for op in cfg.eval.ops:
        report["by_op"][f"{op:g}"] = evaluate_at(student.model, lq, test, cfg, float(op))
    main = report["by_op"].get(f"{cfg.input.occlusion:g}") or next(iter(report["by_op"].values()))
    report["top1"], report["top5"] = main["top1"], main["top5"]
    return _finish(out, cfg, report, start, env, getattr(student, "earlier_seconds", 0.0))

