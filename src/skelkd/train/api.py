"""Training from Python: the teacher, the part matrix, the students, their evaluation.

Lightning runs the loops (devices, precision, checkpoints, logs, progress bars); these
functions build the data, the module and the trainer from an experiment's configuration
(:class:`~skelkd.config.ExperimentConfig`): each reads the section that owns a setting,
``cfg.input`` what the models see, ``cfg.train`` batches, schedule and hardware,
``cfg.model`` the architecture and ``cfg.distill`` the student's distillation.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import signal
import threading
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.utils.data import DataLoader

from ..config import ExperimentConfig
from ..data.dataset import PairedDataset, SkeletonDataset, WithOutliers
from ..data.transforms import Pipeline, scores_vary
from ..distill.part_matrix import (
    PartMatrix,
    occlusion_error_rates,
    occlusion_probability_drops,
)
from ..errors import RunInterrupted, SkelkdError
from ..evaluate.metrics import evaluate
from ..io.files import write_text_atomic
from ..io.pack import DEFAULT_FPS, Pack
from ..layouts import PARTS
from .allocator import keep_freed_memory
from .checkpoint import SafeCheckpointIO, read_checkpoint
from .modules import RecognizerModule, StudentModule
from .sampler import ClassAwareBatchSampler


def pipeline(pack: Pack, cfg: ExperimentConfig, *, train: bool, occlusion: float = 0.0,
             **model_input) -> Pipeline:
    """What a model sees of ``pack`` (``cfg.input``). ``occlusion`` / ``occlusion_mode``
    degrade the data as the paper's OP does (fixed per instance by ``occlusion_seed``,
    the same for every model). ``model_input`` (``with_score``, ``align_view``,
    ``normalization``) overrides ``cfg.input`` with what a trained model was trained on
    (:func:`model_pipeline` takes it from a model)."""
    inp, kwargs = cfg.input, {}
    if train:
        kwargs = {"rotate_deg": inp.rotate_deg, "rotate_axes": inp.rotate_axes,
                  "scale_range": tuple(inp.scale_range), "flip_prob": inp.flip_prob,
                  "crop_range": tuple(inp.crop_range), "rest_prob": inp.rest_prob,
                  "rest_share": inp.rest_share, "occlusion_draw": inp.occlusion_draw}
    kwargs |= {"align_view": inp.align_view, "normalization": inp.normalization, **model_input}
    return Pipeline(pack.layout, inp.num_frames, inp.num_persons, train=train, short=inp.short,
                    occlusion=occlusion, occlusion_mode=inp.occlusion_mode,
                    occlusion_seed=inp.occlusion_seed, **kwargs)


def model_pipeline(model: torch.nn.Module, pack: Pack, cfg: ExperimentConfig, *,
                   train: bool = False, occlusion: float = 0.0) -> Pipeline:
    """The pipeline matching a trained model's input: its channels, and the view
    alignment and normalisation it was trained with (a teacher's, when it feeds a
    student's run)."""
    return pipeline(pack, cfg, train=train, occlusion=occlusion,
                    **model.spec.pipeline_options(pack.coord_dims))


class _EpochCallback(L.Callback):
    """Tells the dataset and the batch sampler the epoch, so augmentation and batch order
    change from epoch to epoch, reproducibly (Lightning sets the epoch of a loader's
    sampler, not of a custom batch sampler)."""

    def __init__(self, loader: DataLoader):
        self.loader = loader

    def on_train_epoch_start(self, trainer, module) -> None:
        self.loader.dataset.set_epoch(trainer.current_epoch)
        if hasattr(self.loader.batch_sampler, "set_epoch"):
            self.loader.batch_sampler.set_epoch(trainer.current_epoch)


class ValCurve(L.Callback):
    """The validation accuracy after every validated epoch, ``[[epoch, top-1 %], ...]``
    (epochs counted from 1). Kept in the checkpoints, so a resumed run has its whole
    curve; the fitted module carries it as ``val_curve``."""

    def __init__(self):
        self.curve: list[list[float]] = []

    def on_validation_epoch_end(self, trainer, module) -> None:
        acc = trainer.callback_metrics.get("val/acc")
        if trainer.sanity_checking or acc is None:
            return
        epoch = trainer.current_epoch + 1
        self.curve = [c for c in self.curve if c[0] != epoch] + [[epoch, 100 * float(acc)]]

    def on_fit_end(self, trainer, module) -> None:
        module.val_curve = [list(c) for c in self.curve]

    def state_dict(self) -> dict:
        return {"curve": self.curve}

    def load_state_dict(self, state: dict) -> None:
        self.curve = [list(c) for c in state.get("curve", [])]


class FitClock(L.Callback):
    """Seconds spent in fitting, summed over the processes that ran it: kept in the
    checkpoints, so a run stopped and resumed reports its whole training time, up to each
    earlier process's last checkpoint. The fitted module carries the earlier processes'
    share as ``earlier_seconds`` (this process's own time its caller measures)."""

    def __init__(self):
        self.earlier, self._now = 0.0, time.time

    def on_fit_start(self, trainer, module) -> None:
        self._start = self._now()

    def on_fit_end(self, trainer, module) -> None:
        module.earlier_seconds = self.earlier

    def state_dict(self) -> dict:
        return {"seconds": self.earlier + self._now() - getattr(self, "_start", self._now())}

    def load_state_dict(self, state: dict) -> None:
        self.earlier = float(state.get("seconds", 0.0))


class EpochLines(L.Callback):
    """One line per epoch when progress bars are off (``train.progress: false``): the
    epoch's mean training loss, the validation top-1 when it ran, the epoch's seconds.
    Printed by the first process only."""

    def __init__(self, echo=print):
        self.echo, self._validated = echo, 0

    def on_train_epoch_start(self, trainer, module) -> None:
        self._loss, self._steps, self._start = 0.0, 0, time.time()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:
            self._loss, self._steps = self._loss + float(loss), self._steps + 1

    def on_train_epoch_end(self, trainer, module) -> None:
        if not trainer.is_global_zero:
            return
        line = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: "
        line += f"loss {self._loss / max(self._steps, 1):.4f}"
        acc = trainer.callback_metrics.get("val/acc")
        if acc is not None and self._validated == trainer.current_epoch + 1:
            line += f", val top-1 {100 * float(acc):.2f}%"
        self.echo(f"{line} ({time.time() - self._start:.1f} s)", flush=True)

    def on_validation_epoch_end(self, trainer, module) -> None:
        if not trainer.sanity_checking:
            self._validated = trainer.current_epoch + 1


def _csv_logger(out: Path):
    """Lightning's CSV logger (``out/logs/metrics.csv``), except that a resumed run keeps
    the rows of the epochs its checkpoint holds: Lightning deletes the file when a run
    folder is reused, which erased every earlier epoch's row."""


    last = out / "checkpoints" / "last.ckpt"
    keep = read_checkpoint(last).get("epoch") if last.exists() else None

    class Writer(ExperimentWriter):
        def __init__(self, log_dir: str):
            path = Path(log_dir) / self.NAME_METRICS_FILE
            rows = []
            if keep is not None and path.is_file():
                with path.open(newline="") as fh:
                    rows = [r for r in csv.DictReader(fh)
                            if r.get("epoch") and int(float(r["epoch"])) <= keep]
            super().__init__(log_dir)  # Lightning's: deletes metrics.csv
            if rows:
                self.metrics_keys = sorted(set().union(*rows))
                with path.open("w", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=self.metrics_keys)
                    writer.writeheader()
                    writer.writerows(rows)

    class Logger(CSVLogger):
        @property
        @rank_zero_experiment
        def experiment(self):
            if self._experiment is None:
                self._fs.makedirs(self.root_dir, exist_ok=True)
                self._experiment = Writer(log_dir=self.log_dir)
            return self._experiment

    return Logger(out, name="", version="logs")


def _loader(dataset, labels: np.ndarray, cfg: ExperimentConfig, train: bool) -> DataLoader:
    tr = cfg.train
    workers = tr.loader_workers()
    common = {"num_workers": workers, "persistent_workers": workers > 0}
    if train and tr.class_aware:
        sampler = ClassAwareBatchSampler(labels, tr.batch_size, tr.per_class, tr.seed)
        return DataLoader(dataset, batch_sampler=sampler, **common)
    gen = torch.Generator().manual_seed(tr.seed)
    return DataLoader(dataset, batch_size=tr.batch_size, shuffle=train, drop_last=train,
                      generator=gen if train else None, **common)


def _quiet_lightning() -> None:
    """Silence Lightning's notices that are expected here (a frozen teacher in eval mode,
    no validation loader, tips about hosted services); warnings that matter still show."""

    for message in (".*no `val_dataloader`.*", ".*module\\(s\\) in eval mode.*",
                    ".*LeafSpec.*", ".*smaller than the logging interval.*",
                    ".*does not have many workers.*"):
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)


def make_trainer(cfg: ExperimentConfig, out: Path, callbacks=()) -> L.Trainer:
    """Lightning's trainer for ``cfg.train`` (devices, precision, schedule length),
    logging and checkpointing into ``out``."""
    _quiet_lightning()
    tr = cfg.train

    out.mkdir(parents=True, exist_ok=True)
    loggers = [_csv_logger(out),
               TensorBoardLogger(out, name="", version="tensorboard", default_hp_metric=False)]
    # a checkpoint at the end of every epoch, whether or not validation runs that epoch
    # (the latest as epoch=E-step=S.ckpt, copied to last.ckpt, which resuming reads;
    # Lightning writes last.ckpt only when it has saved another checkpoint that step)
    # one name, always the newest: without the version counter Lightning would write
    # last-v1.ckpt beside a last.ckpt whose recorded path differs (a moved tr folder),
    # and every reader of last.ckpt would get the old weights
    ckpt = ModelCheckpoint(dirpath=out / "checkpoints", save_last=True, save_top_k=1,
                           every_n_epochs=1, save_on_train_epoch_end=True,
                           enable_version_counter=False)
    return L.Trainer(max_epochs=tr.epochs, accelerator=tr.accelerator, devices=tr.devices,
                     num_nodes=tr.num_nodes, strategy=tr.strategy, precision=tr.precision,
                     gradient_clip_val=tr.gradient_clip, logger=loggers,
                     plugins=[SafeCheckpointIO()],  # atomic, stamped, verified checkpoints
                     callbacks=[ckpt, *callbacks],
                     check_val_every_n_epoch=max(tr.val_every, 1), log_every_n_steps=10,
                     num_sanity_val_steps=0, enable_model_summary=False,
                     use_distributed_sampler=False,  # our batch sampler shards itself
                     enable_progress_bar=tr.progress, deterministic=False)


def _spec(pack: Pack, indices: np.ndarray, cfg: ExperimentConfig) -> dict:
    """The :class:`~skelkd.models.ModelSpec` fields of a model of ``pack``'s samples
    ``indices``: its architecture from the ``model`` section alone, what it reads from
    the data and the ``input`` section."""
    model, inp = cfg.model, cfg.input
    with_score = pack.coord_dims == 2 and scores_vary(pack, indices)
    return {"layout": pack.layout.name, "in_channels": pack.coord_dims + int(with_score),
            "num_classes": len(pack.class_names), "num_persons": inp.num_persons,
            "backbone": model.backbone, "overrides": dict(model.overrides),
            "person_pool": model.person_pool,
            "class_names": list(pack.class_names), "coord_dims": pack.coord_dims,
            "align_view": bool(inp.align_view and pack.coord_dims == 3),
            "normalization": inp.normalization,
            "clip_seconds": clip_seconds(pack, indices), "num_frames": inp.num_frames}


def clip_seconds(pack: Pack, indices: np.ndarray) -> float:
    """The median duration of ``pack``'s samples ``indices`` in seconds: frames over each
    sample's ``fps`` column, :data:`~skelkd.io.pack.DEFAULT_FPS` where it has none."""
    if len(indices) == 0:
        return 0.0
    fps = pack.columns.get("fps") or [None] * len(pack)
    rates = np.array([float(fps[i] or DEFAULT_FPS) for i in indices])
    return float(np.median(pack.num_frames[indices] / rates))


def _optim(cfg: ExperimentConfig) -> dict:
    return dataclasses.asdict(cfg.train.optim)


def load_module(path: str | Path) -> RecognizerModule:
    """A trained module from a Lightning checkpoint (or a run folder holding
    ``checkpoints/last.ckpt``), loaded with ``weights_only=True``: no pickled code runs."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
    ckpt = read_checkpoint(path)
    hp = ckpt.get("hyper_parameters", {})
    cls = StudentModule if "distill" in hp else RecognizerModule
    module = cls(**hp)
    module.load_state_dict(ckpt["state_dict"])
    return module.eval()


def train_recognizer(pack: Pack, indices: np.ndarray, cfg: ExperimentConfig, out: Path,
                     val_indices: np.ndarray | None = None,
                     val_occlusion: float | None = None) -> RecognizerModule:
    """Cross-entropy training on one pack (the teacher on high-quality data, Eq. 2) of the
    architecture ``cfg.model``, at the training OP ``cfg.input.occlusion``; ``val_indices``
    are validated every ``cfg.train.val_every`` epochs (the curve: the returned module's
    ``val_curve``), at ``val_occlusion`` (default: the training OP). Resumes from
    ``out/checkpoints/last.ckpt`` when it exists."""
    seed = cfg.train.seed
    L.seed_everything(seed, workers=True, verbose=False)
    module = RecognizerModule(_spec(pack, indices, cfg), _optim(cfg))
    train_ds = SkeletonDataset(pack, model_pipeline(module.model, pack, cfg, train=True,
                                                    occlusion=cfg.input.occlusion), indices, seed)
    val = _val_loader(module.model, pack, val_indices, cfg, val_occlusion)
    _fit(module, train_ds, val, cfg, out)
    return module.eval()


def _val_loader(model, pack: Pack, indices: np.ndarray | None, cfg: ExperimentConfig,
                occlusion: float | None = None):
    if indices is None:
        return None
    occlusion = cfg.input.occlusion if occlusion is None else occlusion
    pipe = model_pipeline(model, pack, cfg, occlusion=occlusion)
    return _loader(SkeletonDataset(pack, pipe, indices), pack.labels[indices], cfg, train=False)


def _fit(module: L.LightningModule, train_ds, val, cfg: ExperimentConfig, out: Path) -> None:
    """Fit with Lightning, resuming from ``out/checkpoints/last.ckpt`` when it exists.
    SIGINT and SIGTERM stop it with :class:`RunInterrupted` (Lightning would turn Ctrl-C
    into a silent exit 1, and SIGTERM would end the process with status 0)."""
    keep_freed_memory(cfg.train.keep_freed_memory)
    if cfg.train.threads:  # process-wide, like the allocator's setting
        torch.set_num_threads(cfg.train.threads)
    if cfg.train.compile:  # in place: parameter names, and so checkpoints, stay the same
        module.model.backbone.compile(backend=cfg.train.compile)
    loader = _loader(train_ds, train_ds.labels, cfg, True)
    lines = [] if cfg.train.progress else [EpochLines()]
    stop = _StopOnSignal()
    trainer = make_trainer(cfg, out, [_EpochCallback(loader), ValCurve(), FitClock(), stop,
                                      *lines])
    with stop.listening():
        trainer.fit(module, loader, val, ckpt_path=_resume(out))
    stop.check()


class _StopOnSignal(L.Callback):
    """SIGINT and SIGTERM stop training with :class:`RunInterrupted` at the next batch's
    end (or when fitting returns), never inside a write: an exception raised from the
    signal handler itself could land while a logger's writer thread or a checkpoint's file
    holds a lock, and the shutdown that follows would wait on it for ever. A second signal
    raises at once. The handlers are installed on the main thread only, and Lightning's
    own SIGTERM handler, which it chains with these, only sets a flag."""

    def __init__(self):
        self.signum: int | None = None

    @contextlib.contextmanager
    def listening(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def note(signum, frame):
            if self.signum is not None:
                raise RunInterrupted(signum)
            self.signum = signum

        old = {s: signal.signal(s, note) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        except SIGTERMException:  # Lightning's own stop, should it check before this one
            raise RunInterrupted(signal.SIGTERM) from None
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def check(self) -> None:
        if self.signum is not None:
            raise RunInterrupted(self.signum)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.check()

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx,
                                dataloader_idx=0):
        self.check()


def _resume(out: Path) -> str | None:
    last = out / "checkpoints" / "last.ckpt"
    return str(last) if last.exists() else None


@dataclasses.dataclass(frozen=True)
class TeacherProbe:
    """What E is computed from: the frozen teacher's class probabilities of every sample,
    whole (``full``, (N, classes)) and with each body part occluded (``occluded``,
    (N, 5, classes)), and the samples' ``labels`` (N,)."""

    labels: np.ndarray
    full: np.ndarray
    occluded: np.ndarray

    def error_rates(self, num_classes: int) -> np.ndarray:
        """Eq. 12 (:func:`~skelkd.distill.occlusion_error_rates`)."""
        return occlusion_error_rates(self.labels, self.occluded.argmax(2), num_classes)

    def probability_drops(self, num_classes: int) -> np.ndarray:
        """:func:`~skelkd.distill.occlusion_probability_drops`."""
        rows = np.arange(len(self.labels))
        return occlusion_probability_drops(self.labels, self.full[rows, self.labels],
                                           self.occluded[rows, :, self.labels], num_classes)


def teacher_probe(teacher: torch.nn.Module, pack: Pack, indices: np.ndarray,
                  cfg: ExperimentConfig) -> TeacherProbe:
    """The frozen teacher's readings of ``indices`` of ``pack``, as it reads them
    (:func:`model_pipeline`), whole and with each body part hidden by the pipeline
    (``hidden_part``)."""
    teacher.eval()
    device = next(teacher.parameters()).device
    pipe = model_pipeline(teacher, pack, cfg)
    probs, labels = [], None
    for part in (None, *range(len(PARTS))):
        ds = SkeletonDataset(pack, dataclasses.replace(pipe, hidden_part=part), indices)
        loader = DataLoader(ds, batch_size=64, num_workers=cfg.train.loader_workers())
        out, ys = [], []
        with torch.no_grad():
            for b in loader:
                out.append(teacher(b["x"].to(device)).float().softmax(1).cpu().numpy())
                ys.append(np.asarray(b["label"]))
        probs.append(np.concatenate(out))
        labels = np.concatenate(ys)
    return TeacherProbe(labels, probs[0], np.stack(probs[1:], 1))


def compute_part_matrix(teacher: torch.nn.Module, pack: Pack, indices: np.ndarray,
                        cfg: ExperimentConfig) -> PartMatrix:
    """E (Eq. 12-13) from the frozen teacher on high-quality training samples, at the
    temperature ``cfg.distill.part_matrix_temperature``, with the graded rates of
    :func:`~skelkd.distill.occlusion_probability_drops` beside the paper's."""
    probe = teacher_probe(teacher, pack, indices, cfg)
    n = len(pack.class_names)
    return PartMatrix(list(pack.class_names), probe.error_rates(n),
                      cfg.distill.part_matrix_temperature, probe.probability_drops(n))


def train_student(lq: Pack, hq: Pack | None, indices: np.ndarray, cfg: ExperimentConfig,
                  out: Path, teacher: RecognizerModule | None = None, hq_fraction: float = 1.0,
                  val_indices: np.ndarray | None = None,
                  pairing_seed: int | None = None,
                  outliers: tuple[Pack, np.ndarray] | None = None,
                  co_teachers: list[RecognizerModule] | tuple = ()) -> StudentModule:
    """A student of the architecture ``cfg.model`` on low-quality data at the training OP
    ``cfg.input.occlusion``, distilled from a frozen teacher as ``cfg.distill`` says
    (``mode: none``: no teacher). The teacher's high-quality twin is given without
    augmentation and without occlusion; ``hq_fraction`` of the instances keep theirs.
    ``val_indices`` (of ``lq``) are validated every ``cfg.train.val_every`` epochs at the
    training OP (the curve: the returned module's ``val_curve``). ``outliers`` (a pack
    of actions outside the classes in ``lq``'s layout, and the indices to use) join the
    training data for outlier exposure (``train.outlier_weight``). ``co_teachers``: the
    other members of a teacher ensemble, one per ``cfg.distill.extra_teachers``."""
    distill = cfg.distill
    if distill.mode != "none" and (teacher is None or hq is None):
        raise SkelkdError(f"distillation '{distill.mode}' needs a teacher and a high-quality pack")
    seed = cfg.train.seed
    L.seed_everything(seed, workers=True, verbose=False)
    use_teacher = distill.mode != "none"
    teacher_spec = teacher.model.spec_dict() if use_teacher else None
    module = StudentModule(_spec(lq, indices, cfg), teacher_spec, _optim(cfg),
                           dataclasses.asdict(distill),
                           cfg.train.outlier_weight if outliers is not None else 0.0)
    hq_pipe = None
    if use_teacher:
        if len(co_teachers) != len(distill.extra_teachers):
            raise SkelkdError(f"distill.extra_teachers names {len(distill.extra_teachers)} "
                              f"teacher(s); {len(co_teachers)} given")
        module.load_teacher(*(t.model.state_dict() for t in (teacher, *co_teachers)))
        hq_pipe = model_pipeline(teacher.model, hq, cfg)  # no augmentation, no occlusion
    cache = use_teacher and cfg.train.cache_teacher
    train_ds = PairedDataset(lq, hq if use_teacher else None,
                             model_pipeline(module.model, lq, cfg, train=True,
                                            occlusion=cfg.input.occlusion),
                             hq_pipe, indices, hq_fraction, seed, load_hq=not cache,
                             pairing_seed=pairing_seed)
    if cache:
        twins = np.unique(train_ds.twin[train_ds.twin >= 0])
        module.cache_teacher(DataLoader(SkeletonDataset(hq, hq_pipe, twins), batch_size=64,
                                        num_workers=cfg.train.loader_workers()))
    if outliers is not None:
        if cfg.train.class_aware:
            raise SkelkdError("data.outliers: outlier exposure takes uniformly shuffled "
                              "batches (train.class_aware: false); class-aware batches have "
                              "no class to draw the outliers from")
        train_ds = WithOutliers(train_ds, *outliers, seed=seed)
    val = _val_loader(module.model, lq, val_indices, cfg)
    _fit(module, train_ds, val, cfg, out)
    return module.eval()


def evaluate_at(model: torch.nn.Module, pack: Pack, indices: np.ndarray, cfg: ExperimentConfig,
                occlusion: float) -> dict:
    """Top-1/top-5, per-class accuracy and confusion on ``pack[indices]`` at OP
    ``occlusion`` (the same occluded data for every model with the same occlusion seed,
    ``cfg.input.occlusion_seed``)."""
    ds = SkeletonDataset(pack, model_pipeline(model, pack, cfg, occlusion=occlusion), indices)
    report = evaluate(model, ds, pack.class_names)
    report["occlusion"] = occlusion
    return report


def write_json(path: Path, obj: object) -> Path:
    """JSON, written atomically."""

    return write_text_atomic(path, json.dumps(obj, indent=1))
