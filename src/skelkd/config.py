"""Experiment configuration: one YAML file per experiment, command-line overrides, and
the resolved configuration saved with every run.

A configuration has five sections (every key optional; defaults below)::

    name: penn_small                  # the run folder's name
    data:
      hq: embedded:penn_action        # a pack path, or embedded:NAME
      lq: null                        # a pack path; null: simulate from hq
      simulate: {preset: fast, layout: coco, seed: 0}
      split: official                 # the pack split and its subsets
      train_subset: train
      test_subset: test
      val_subset: val                 # validated when the split has it (official-val)
      hq_fraction: 1.0                # Table 5: keep HQ twins for this share only
      student_data: all               # Table 5: 'all' LQ training data or only 'paired'
      pairing_seed: 0                 # Table 5: which instances keep their HQ twin
    model: {backbone: stgcn-small, overrides: {}, person_pool: present}
    input: {num_frames: 32, num_persons: 1, occlusion: 0.0, ...}   # see InputConfig
    train: {epochs: 30, batch_size: 32, ...}                       # see TrainConfig
    distill: {mode: pmsc, alpha: 1.0, w: 0.5, temperature: 1.0, ...}
    eval: {ops: [0.0, 0.3, 0.6]}

``extends: other.yaml`` starts from another file (relative to this one). Overrides
are ``section.key=value`` strings (``train.epochs=5``); values are read as YAML.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import SkelkdError
from .models.spec import BackboneConfig, backbone_config


@dataclass
class DataConfig:
    hq: str = "embedded:penn_action"
    lq: str | None = None
    simulate: dict = field(default_factory=lambda: {"preset": "fast", "layout": "coco",
                                                    "seed": 0})
    split: str = "official"
    train_subset: str = "train"
    test_subset: str = "test"
    # validated every train.val_every epochs when the split has this subset (the
    # ``NAME-val`` splits do: skelkd/io/splits.py); its accuracy curve goes to metrics.json
    val_subset: str = "val"
    hq_fraction: float = 1.0
    student_data: str = "all"  # 'paired': the student trains on the instances with HQ only
    # which instances keep their HQ twin when hq_fraction < 1: a data seed of its own, not
    # train.seed, so that a teacher trained on the paired instances serves students of
    # every training seed with exactly those instances paired (the paper's Table 5)
    pairing_seed: int = 0
    # actions outside the classes, for the student's outlier exposure (train.outlier_weight):
    # a high-quality pack (a path or an embedded name) simulated like the low-quality data
    # into its layout; classes whose name contains one of outlier_exclude (close to a known
    # action) are left out (docs/design.md, item 67)
    outliers: str | None = None
    outlier_exclude: list = field(default_factory=list)

    def __post_init__(self) -> None:
        check_choices(self, CHOICES["data"], "data.")


@dataclass
class ModelConfig:
    backbone: str = "stgcn-small"
    overrides: dict = field(default_factory=dict)
    person_pool: str = "present"

    def __post_init__(self) -> None:  # a bad name or override fails here, before any data

        check_choices(self, CHOICES["model"], "model.")
        unknown = sorted(set(self.overrides) - set(BackboneConfig.__dataclass_fields__))
        if unknown:
            raise SkelkdError(f"model.overrides: unknown key(s) {unknown}; expected some of "
                              f"{', '.join(BackboneConfig.__dataclass_fields__)}")
        try:
            backbone_config(self.backbone, **self.overrides)
        except SkelkdError as exc:
            raise SkelkdError(f"model.backbone: {exc}") from None


@dataclass
class InputConfig:
    """What the models see: T, M, the paper's occlusion (OP) and training augmentation."""

    num_frames: int = 32
    num_persons: int = 1
    short: str = "repeat"
    occlusion: float = 0.0
    occlusion_mode: str = "sequence"
    occlusion_seed: int = 0
    # "instance": the paper's OP, one fixed occlusion per instance (every model sees the
    # same occluded data); "fresh": in training, drawn afresh at every read (augmentation)
    occlusion_draw: str = "instance"
    # 3D only: rotate each sequence to the body's own axes, removing the camera's view
    # (cross-view protocols such as NW-UCLA's test on a camera never seen in training)
    align_view: bool = True
    # "torso": centred on the torso, unit torso length; "minmax": then, after the
    # augmentation, each sequence scaled per axis to [-1, 1] (CTR-GCN's NW-UCLA recipe)
    normalization: str = "torso"
    rotate_deg: float = 10.0
    rotate_axes: str = "y"  # 3D: "xy" also tilts about the horizontal axis (CTR-GCN's)
    scale_range: tuple[float, float] = (0.9, 1.1)
    flip_prob: float = 0.0
    # training: a random stretch of this share of each clip, then sampled to num_frames
    # (data.transforms.Pipeline.crop_range); (1, 1) = the whole clip
    crop_range: tuple[float, float] = (1.0, 1.0)
    # training: the share of clips given a still rest before and after the action, each
    # up to rest_share times the clip's length (data.transforms.hold_rest); 0 = none
    rest_prob: float = 0.0
    rest_share: float = 1.0

    def __post_init__(self) -> None:
        from .data.transforms import CHOICES as PIPELINE_CHOICES

        check_choices(self, PIPELINE_CHOICES, "input.")
        lo, hi = self.crop_range
        if not 0 < lo <= hi <= 1:
            raise SkelkdError(f"input.crop_range: expected 0 < low <= high <= 1, got "
                              f"{list(self.crop_range)}")


@dataclass
class OptimConfig:
    """SGD with momentum and step decay: the paper's schedule is lr 0.1, divided by 10 at
    epochs 30, 40, 50 of 60 (``milestones`` as fractions of ``epochs``: 0.5, 0.667, 0.833)."""

    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = False
    milestones: tuple[float, ...] = (0.5, 2 / 3, 5 / 6)
    gamma: float = 0.1
    warmup_epochs: int = 0


@dataclass
class TrainConfig:
    """Batches, schedule and hardware (Lightning's accelerator, devices, precision...)."""

    epochs: int = 30
    batch_size: int = 32
    per_class: int = 4
    class_aware: bool = True
    seed: int = 0
    # data-loader processes per training process: "auto" is 0 on a CPU (there, worker
    # processes take cores from training and, on 2 cores, slowed the batched pipeline
    # down: docs/performance.md) and min(8, CPU cores per local GPU) on a GPU, which one
    # process's pipeline cannot feed; or a number (docs/design.md, item 36)
    workers: Any = "auto"
    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    gradient_clip: float | None = None
    val_every: int = 10
    progress: bool = True
    # keep memory that PyTorch frees in the process for the next step, instead of glibc
    # handing large blocks back to the kernel and faulting them in again every step:
    # faster CPU steps for a higher peak resident memory (train/allocator.py; the
    # measured speed-up: docs/cpu_allocator.md, docs/design.md item 39)
    keep_freed_memory: bool = True
    # torch's CPU threads in the training process (0: torch's default, one per core).
    # Several trainings started as separate commands on one machine each take every core
    # by default and then run far slower together than with the cores shared out
    # (benchmarks/side_by_side.py, docs/side_by_side.md): give each cores / N.
    # `skelkd reproduce --workers N` shares them out for its own workers.
    threads: int = 0
    # a distilled student: the frozen teacher's outputs computed once per high-quality
    # twin before training (its input is fixed: no augmentation, no occlusion) instead of
    # a teacher forward every step; results equal within float tolerance (tests/test_train.py)
    cache_teacher: bool = True
    # outlier exposure (Hendrycks et al., ICLR 2019) when data.outliers is set: the
    # student's loss adds this weight times the cross-entropy of its outputs on the
    # outlier samples against the uniform distribution over the classes; 0.5 is theirs
    outlier_weight: float = 0.5
    # torch.compile the backbone with this backend ("inductor", torch's default; "" =
    # eager PyTorch): measured on this CPU, one thread, by benchmarks/grouped_training.py
    # (docs/grouped_training.md): 1.25x for efficientgcn-tiny's training step, 0.85x for
    # stgcn-tiny's, after a first compile that takes minutes on a cold cache; the
    # weights and checkpoints are unchanged
    compile: str = ""
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        if self.compile:
            import torch

            if self.compile not in torch._dynamo.list_backends(exclude_tags=()):
                raise SkelkdError(f"train.compile: expected '' or a torch.compile backend "
                                  f"({', '.join(torch._dynamo.list_backends())}), got "
                                  f"{self.compile!r}")
        w = self.workers
        if w != "auto" and (isinstance(w, bool) or not isinstance(w, int) or w < 0):
            raise SkelkdError(f"train.workers: expected 'auto' or a whole number >= 0, "
                              f"got {w!r}")

    def loader_workers(self) -> int:
        """``workers`` as a number: 'auto' resolved for the accelerator training runs on."""
        if self.workers != "auto":
            return self.workers

        import torch

        acc = self.accelerator
        cuda = acc in ("gpu", "cuda", "auto") and torch.cuda.is_available()
        mps = acc in ("gpu", "mps", "auto") and torch.backends.mps.is_available()
        if not (cuda or mps):
            return 0
        gpus = torch.cuda.device_count() if cuda else 1
        return max(1, min(8, (os.cpu_count() or 1) // gpus))


DISTILL_MODES = ("none", "kl", "global-msc", "pmsc-uniform", "pmsc", "skd")
"""The distillation modes (``skelkd.train.modules`` says what each one computes); the one
list the command line and the checks use (the reproduction's Table 4 compares the
paper's five, :data:`TABLE4_MODES`)."""

TABLE4_MODES = DISTILL_MODES[:5]
"""The modes of the paper's Table 4 (no distillation, KL, global MSC, parts without E,
parts with E); ``skd`` is a peer of its Table 3."""

CHOICES = {"data": {"student_data": ("all", "paired")},
           "model": {"person_pool": ("present", "all")},
           "distill": {"mode": DISTILL_MODES, "teacher_precision": ("32", "bf16"),
                       "part_matrix_source": ("error", "drop"),
                       "part_matrix_subset": ("train", "val", "crossfit"),
                       "absent_parts": ("keep", "drop"),
                       "alpha_schedule": ("constant", "warmup", "decay")}}
"""Per section, the allowed values of every key that takes one of a few names (the input
section's are the pipeline's, :data:`skelkd.data.transforms.CHOICES`), checked when a
section is built."""


def check_choices(options, choices: dict[str, tuple], prefix: str = "") -> None:
    """Raise a :class:`SkelkdError` naming the field when one of ``options``' named
    options (``choices``: name -> allowed values) has another value; ``prefix`` goes
    before the name (``"distill."``)."""
    for name, allowed in choices.items():
        value = getattr(options, name)
        if value not in allowed:
            raise SkelkdError(f"{prefix}{name}: expected one of "
                              f"{', '.join(map(repr, allowed))}, got {value!r}")


@dataclass
class DistillConfig:
    """The student's distillation (:data:`DISTILL_MODES`)."""

    mode: str = "pmsc"
    alpha: float = 1.0
    w: float = 0.5
    # 0.1, not the paper's 1: with tau = 1 every similarity of Eq. 6 lies in [1, e] and
    # the loss barely moves; measured on Penn Action (docs/design.md, item 11)
    temperature: float = 0.1
    kd_temperature: float = 4.0
    part_matrix_temperature: float = 1.0
    # what E's rates are: "error", the paper's share of samples misclassified with the
    # part occluded (Eq. 12); "drop", the mean fall of the true class's probability,
    # which leaves no row flat where the teacher never errs on its training samples
    # (docs/part_matrix_source.md; a study lever, not the paper's)
    part_matrix_source: str = "error"
    # which of the teacher's high-quality samples E is read on: "train", its training
    # samples (the paper's, where a teacher near 100% can leave rows flat), or "val", the
    # run's validation subset, data the teacher did not fit (computed once and kept
    # beside the teacher as part_matrix_VALSUBSET.json); or "crossfit": the training
    # samples each read by one of part_matrix_folds teachers trained without them
    # (experiment.part_matrix_crossfit, kept as part_matrix_crossfitK.json, the fold
    # teachers under teacher/crossfit/); a study lever, not the paper's
    part_matrix_subset: str = "train"
    part_matrix_folds: int = 3
    # a part whose joints are all missing in a low-quality sample: "keep" it in phi
    # (Eq. 7 as the paper writes it) or "drop" it there and rescale the sample's other
    # parts (distill.losses.present_part_weights; a study lever, not the paper's)
    absent_parts: str = "keep"
    # the weight of L_kd over training (Eq. 4's alpha): "constant" (the paper's), "warmup"
    # (rising linearly from 0 over the first quarter of the epochs) or "decay" (falling
    # linearly to 0 by the last epoch): distill.losses.alpha_at; a study lever
    alpha_schedule: str = "constant"
    # a logit-distillation term (KL, at kd_temperature) added to a contrastive mode's
    # L_kd with this weight; 0: the contrastive loss alone (the paper's); a study lever
    kl_weight: float = 0.0
    # global MSC (Eq. 6-11 on the global features, the paper's Table 4 baseline) added to
    # the part-level loss with this weight; 0: the part-level loss alone (the paper's); a
    # study lever ("combining signals", issue 25)
    global_weight: float = 0.0
    # the teacher trained with occlusion at this OP drawn afresh at every read (an
    # augmentation: input.occlusion_draw "fresh"), still validated, tested and read for E
    # on clean high-quality data; 0: the paper's teacher, clean; a study lever ("teacher
    # strength", issue 25)
    teacher_occlusion: float = 0.0
    # further trained teachers (their folders, e.g. RUNS/NAME/teacher of other seeds), read
    # with the run's teacher as an ensemble: L_kd is the mean over the teachers of the
    # mode's loss against each one's features, with E the mean of their part matrices
    # (each a distribution over the parts, so the mean is one too). The paper has one
    # teacher and says nothing of ensembles; each teacher's features are matched in its
    # own space rather than averaged, since independently trained networks' feature
    # spaces are not aligned. Every one must have the run teacher's specification.
    # []: the paper's single teacher; a study lever ("teacher strength", issue 25)
    extra_teachers: list = field(default_factory=list)
    # where features are matched (a study lever, "where features are matched", issue 25):
    # besides the last block's five part features (the paper's), those of these blocks
    # of the backbone's stack (indices, negative from the end: -3 is the third block from
    # the end), each matched like the last block's (student's block against the
    # teacher's block of the same index, so the two must have the same width there) with
    # the same E, w and tau; L_kd is the mean over the depths. distill.projection applies
    # to the last block's only. []: the last block only, the paper's
    inner_blocks: list = field(default_factory=list)
    # tau learned with the student (log-parametrised, from ``temperature``, kept within
    # [0.01, 1] and out of weight decay, as CLIP's logit scale, Radford et al. 2021)
    # instead of fixed; a study lever
    learn_temperature: bool = False
    # a per-part linear head on the student's part features (initialised to the
    # identity, used by the distillation loss only, not exported) before they are
    # matched with the teacher's, as in CRD (Tian et al., ICLR 2020); a study lever
    projection: bool = False
    # the frozen teacher's forward when its outputs are not cached (train.cache_teacher
    # off, or augmented teacher input): "bf16" autocast (fast on AMX CPUs and GPUs) or "32"
    teacher_precision: str = "bf16"
    part_matrix: list = field(default_factory=list)  # (num_classes, 5): E, filled in by training

    def __post_init__(self) -> None:
        check_choices(self, CHOICES["distill"], "distill.")
        # a lever that the mode would silently ignore is a mistake in the configuration
        for key, modes in (("learn_temperature", ("pmsc", "pmsc-uniform", "global-msc")),
                           ("projection", ("pmsc", "pmsc-uniform"))):
            if getattr(self, key) and self.mode not in ("none", *modes):
                raise SkelkdError(f"distill.{key}: applies to the modes {', '.join(modes)}, "
                                  f"not to distill.mode '{self.mode}'")
        if not isinstance(self.extra_teachers, list | tuple) or not all(
                isinstance(t, str) and t for t in self.extra_teachers):
            raise SkelkdError("distill.extra_teachers: expected a list of teacher folders, got "
                              f"{self.extra_teachers!r}")
        if not isinstance(self.inner_blocks, list | tuple) or not all(
                isinstance(b, int) and not isinstance(b, bool) for b in self.inner_blocks):
            raise SkelkdError("distill.inner_blocks: expected a list of block indices, got "
                              f"{self.inner_blocks!r}")
        if self.inner_blocks and self.mode not in ("none", "pmsc", "pmsc-uniform"):
            raise SkelkdError("distill.inner_blocks: applies to the modes pmsc, pmsc-uniform, "
                              f"not to distill.mode '{self.mode}'")
        if self.extra_teachers and self.mode == "none":
            raise SkelkdError("distill.extra_teachers: distill.mode 'none' has no teacher")


@dataclass
class EvalConfig:
    ops: tuple[float, ...] = (0.0, 0.3, 0.6)
    batch_size: int = 64


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    input: InputConfig = field(default_factory=InputConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, values: dict, where: str = "configuration") -> ExperimentConfig:
        """The configuration :meth:`to_dict` gave (e.g. one stored in a shipped model's
        file), every key and range checked as when a file loads."""
        try:
            cfg = _build(cls, values, "")
            check_ranges(cfg)
        except SkelkdError as exc:
            raise SkelkdError(f"{where}: {exc}") from None
        return cfg

    def save(self, path: str | Path) -> Path:
        """Write the resolved configuration as YAML (temporary file, then rename)."""
        from .io.files import write_text_atomic

        return write_text_atomic(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _build(cls, values: dict, where: str):
    """A dataclass from a dict, recursively; unknown keys and wrong types are errors."""
    if not isinstance(values, dict):
        raise SkelkdError(f"{where or 'top level'}: expected a mapping, got "
                          f"{type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise SkelkdError(f"{where or 'top level'}: unknown key(s) {unknown}; known: "
                          f"{sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value or {}, key)
        elif fields[name].type == "Any":  # several types allowed: the class checks them
            kwargs[name] = value
        else:
            kwargs[name] = _coerce(value, default, key)
    return cls(**kwargs)


def _coerce(value, default, key: str):
    if default is None:
        return value
    if value is None:
        raise SkelkdError(f"{key}: expected a value, got nothing")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SkelkdError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SkelkdError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise SkelkdError(f"{key}: expected a finite number, got {value!r}")
        if isinstance(default, int) and not float(value).is_integer():
            raise SkelkdError(f"{key}: expected a whole number, got {value!r}")
        return type(default)(value) if isinstance(default, float) or float(value).is_integer() \
            else value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise SkelkdError(f"{key}: expected a list, got {value!r}")

        def number(x) -> bool:
            return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)

        if default and all(map(number, default)) and not all(map(number, value)):
            raise SkelkdError(f"{key}: expected a list of finite numbers, got {value!r}")
        if key.endswith("_range") and len(value) != 2:
            raise SkelkdError(f"{key}: expected two numbers [low, high], got {value!r}")
        return tuple(value)
    if isinstance(default, str) and not isinstance(value, str):
        raise SkelkdError(f"{key}: expected a string, got {value!r}")
    if isinstance(default, dict) and not isinstance(value, dict):
        raise SkelkdError(f"{key}: expected a mapping, got {value!r}")
    return value


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_yaml(path: Path, seen: tuple = ()) -> dict:
    path = Path(path)
    if path.resolve() in seen:
        raise SkelkdError(f"{path}: 'extends' loops back to itself")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise SkelkdError(f"{path}: cannot read the configuration: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SkelkdError(f"{path}: not valid YAML: {_yaml_problem(exc)}") from exc
    if not isinstance(doc, dict):
        raise SkelkdError(f"{path}: a configuration must be a mapping of sections")
    parent = doc.pop("extends", None)
    if parent:
        doc = _merge(read_yaml(_parent_path(path, parent), (*seen, path.resolve())), doc)
    return doc


def _parent_path(path: Path, parent) -> Path:
    """What ``extends: parent`` in ``path`` names: a file beside ``path`` (or an absolute
    path), else a shipped configuration's name (``extends: reproduce``), as on the
    command line."""
    local = path.parent / str(parent)
    if local.is_file():
        return local
    shipped = PACKAGED / f"{Path(str(parent)).stem}.yaml"
    if not Path(str(parent)).parent.parts and shipped.is_file():
        return shipped
    raise SkelkdError(f"{path}: extends: {parent!r} is neither a file beside it nor a shipped "
                      f"configuration ({', '.join(shipped_configs())})")


def shipped_configs() -> list[str]:
    """The names of the configurations shipped in ``skelkd/configs``."""
    return sorted(p.stem for p in PACKAGED.glob("*.yaml"))


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise SkelkdError(f"override '{text}': expected section.key=value")
    key, value = text.split("=", 1)
    try:
        return key.strip().split("."), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise SkelkdError(f"override {text!r}: cannot read the value: {_yaml_problem(exc)}"
                          ) from exc


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where (PyYAML's own spans lines)."""
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


PACKAGED = Path(__file__).resolve().parent / "configs"


def config_path(name: str | Path) -> Path:
    """A configuration file: a path, or the name of one shipped in ``skelkd/configs``
    (``penn_small``, ``demo``, ``paper_schedule``)."""
    path = Path(name)
    if path.is_file():
        return path
    shipped = PACKAGED / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    raise SkelkdError(f"{name}: no such configuration file (shipped configurations: "
                      f"{', '.join(shipped_configs())})")


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                values: dict[str, Any] | None = None) -> ExperimentConfig:
    """A configuration from a YAML file or a shipped configuration's name (or the
    defaults) with ``section.key=value`` overrides (text, read as YAML) and then
    ``values`` (``{"input.occlusion": 0.6}``: Python values, set as they are) applied;
    every key is checked."""
    doc = read_yaml(config_path(path)) if path else {}
    where = str(path) if path else "config"
    given = [(*parse_override(text), text) for text in overrides]
    given += [(key.split("."), value, f"{key}={value!r}") for key, value in
              (values or {}).items()]
    for keys, value, text in given:
        node = doc
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise SkelkdError(f"override '{text}': '{k}' is not a section")
        node[keys[-1]] = value
    return ExperimentConfig.from_dict(doc, where)


INF = float("inf")
RANGES: dict[str, tuple[float, float, bool]] = {
    # key: (low, high, low included); high is always included
    "train.epochs": (1, INF, True), "train.batch_size": (1, INF, True),
    "train.per_class": (1, INF, True), "train.val_every": (1, INF, True),
    "train.threads": (0, INF, True),
    "train.num_nodes": (1, INF, True), "train.optim.lr": (0, INF, False),
    "train.optim.momentum": (0, 1, True), "train.optim.weight_decay": (0, INF, True),
    "train.optim.gamma": (0, 1, False), "train.optim.warmup_epochs": (0, INF, True),
    "input.num_frames": (1, INF, True), "input.num_persons": (1, INF, True),
    "input.occlusion": (0, 1, True), "input.rotate_deg": (0, 180, True),
    "input.flip_prob": (0, 1, True), "data.hq_fraction": (0, 1, False),
    "distill.alpha": (0, INF, True), "distill.w": (0, INF, True),
    "distill.kl_weight": (0, INF, True), "distill.global_weight": (0, INF, True),
    "distill.teacher_occlusion": (0, 1, True), "distill.part_matrix_folds": (2, INF, True),
    "train.outlier_weight": (0, INF, True),
    "distill.temperature": (0, INF, False), "distill.kd_temperature": (0, INF, False),
    "distill.part_matrix_temperature": (0, INF, False), "eval.batch_size": (1, INF, True),
    "eval.ops": (0, 1, True), "train.optim.milestones": (0, 1, True),
    "input.scale_range": (0, INF, False), "input.rest_prob": (0, 1, True),
    "input.rest_share": (0, INF, False),
}
"""The allowed range of every numeric key (lists: of each element), checked when a
configuration loads, before any data is read."""


def check_ranges(cfg: ExperimentConfig) -> None:
    """One line naming the key, the value and the allowed range for a value out of
    :data:`RANGES`, and for a run name that is empty or would leave the runs folder."""
    for key, (lo, hi, closed) in RANGES.items():
        node: Any = cfg
        for part in key.split("."):
            node = getattr(node, part)
        for v in node if isinstance(node, tuple | list) else (node,):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SkelkdError(f"{key}: expected finite numbers, got {v!r}")
            if not (lo <= v if closed else lo < v) or v > hi:
                bound = f"{'[' if closed else '('}{lo:g}, {hi:g}]".replace("inf]", "inf)")
                raise SkelkdError(f"{key}: {v!r} is out of range; expected a value in {bound}")
    name = cfg.name
    parts = name.split("/") if isinstance(name, str) else [""]
    if not name or "\\" in name or any(p.strip() in ("", ".", "..") for p in parts):
        raise SkelkdError(f"name: {name!r} cannot name a run folder inside the runs folder; "
                          "expected a folder name, or names joined by '/', none of them "
                          "empty, '.' or '..'")
