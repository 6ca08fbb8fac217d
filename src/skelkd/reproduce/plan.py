"""What the reproduction runs: the protocol, its cells and every training run (a job).

The protocol (``docs/RESULTS.md`` states it from here, nothing else):

- every model trains on the ``official-val`` split (the official training split less a
  class-stratified 20%, :mod:`skelkd.io.splits`) and is validated after every epoch;
  the test split is read once per model, after training;
- a cell is a dataset, a setting (heterogeneous or homogeneous), an OP and the arms
  (distillation modes) it compares; every arm of a cell gets the same search: each
  learning rate of ``grid_lr`` with each batch construction of ``batches`` at the tuning
  seed, the same schedule; the trial with the best validation accuracy (mean over the
  last ``select_last`` validated epochs) is the arm's recipe (its learning rate and batch
  construction). The paper does not say how its batches were built: class-aware batches
  (:mod:`skelkd.train.sampler`) give the contrastive losses same-class positives, uniform
  shuffling is the usual recipe of the field, and which one suits a student depends on
  the dataset and the loss (``docs/RESULTS.md``), so each arm chooses, alike;
- the recipe then trains with every seed (the tuning seed's trial is reused: same
  configuration, same seed); a seed fixes the initialisation, the batch order and the
  augmentation, and is shared by the arms compared; the low-quality data and its
  occlusion are the same draw for every run (simulator seed 0, ``input.occlusion_seed``);
- one teacher per dataset (and high-quality fraction, and backbone: a Table 3 cell trains
  teacher and students on its own backbone), trained once on the same split;
  for Table 5 the instances that keep their twin are drawn by ``data.pairing_seed``,
  the same for the teacher and every student seed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..config import TABLE4_MODES
from .short_schedule import DATASETS, published_ucla_schedule
from .stats import CONVERGED_POINTS

ARMS = ("none", "pmsc")
BATCHES = ("class-aware", "uniform")  # train.class_aware true / false
TABLE4_ARMS = TABLE4_MODES  # the paper's Table 4's five losses


PEER_MODELS = {"prgcn": "prgcn-tiny"}
"""Arms that are another network trained without distillation (Table 3's peers built
for low-quality skeletons as models of their own), by their backbone: PR-GCN."""


def arm_mode(arm: str) -> str:
    """The distillation mode of an arm (``pmsc:paired`` -> ``pmsc``; a peer model of
    :data:`PEER_MODELS` -> ``none``)."""
    arm = arm.split(":")[0]
    return "none" if arm in PEER_MODELS else arm


@dataclass(frozen=True)
class Cell:
    """One comparison: a dataset, a setting, an OP, the arms, for Table 5 the
    high-quality fraction (``student_data`` per arm: ``paired`` or ``all``), and for
    Table 3 the backbone of its teacher and students (empty: the ``fair``
    configuration's)."""

    dataset: str
    setting: str = "hetero"
    op: float = 0.0
    arms: tuple[str, ...] = ARMS
    fraction: float = 1.0
    table: str = "1"  # the paper's table this cell answers: 1, 2, 3, 4 or 5
    backbone: str = ""

    def key(self) -> str:
        tag = self.dataset + ("-homo" if self.setting == "homo" else "")
        tag += f"-hq{self.fraction:g}" if self.fraction < 1 else ""
        tag += f"-{self.backbone}" if self.backbone else ""
        return f"{tag}/op{self.op:g}"


@dataclass(frozen=True)
class Job:
    """One training run: a teacher (``kind`` 'teacher') or a student of a cell's arm with
    a learning rate, a seed and a batch construction (one of :data:`BATCHES`). ``arm``
    may carry ``:paired`` (Table 5: the student trains on the paired instances only)."""

    dataset: str
    kind: str = "student"
    setting: str = "hetero"
    op: float = 0.0
    arm: str = "none"
    lr: float = 0.1
    seed: int = 0
    fraction: float = 1.0
    batch: str = BATCHES[0]
    backbone: str = ""  # empty: the fair configuration's

    @property
    def mode(self) -> str:
        return arm_mode(self.arm)

    @property
    def student_data(self) -> str:
        return "paired" if self.arm.endswith(":paired") else "all"

    @property
    def model(self) -> str:
        """The student's backbone (a peer model's own, :data:`PEER_MODELS`), or the
        teacher's; empty: the ``fair`` configuration's."""
        return PEER_MODELS.get(self.arm, self.backbone) if self.kind != "teacher" \
            else self.backbone

    def teacher(self) -> Job:
        return Job(self.dataset, "teacher", fraction=self.fraction, backbone=self.backbone)

    def key(self) -> str:
        """Its place under the results and runs folders."""
        hq = f"-hq{self.fraction:g}" if self.fraction < 1 else ""
        hq += f"-{self.backbone}" if self.backbone else ""
        if self.kind == "teacher":
            return f"{self.dataset}{hq}/teacher"
        tag = self.dataset + ("-homo" if self.setting == "homo" else "") + hq
        tag += "" if self.batch == BATCHES[0] else f"-{self.batch}"
        arm = self.arm.replace(":", "-")
        return f"{tag}/op{self.op:g}/{arm}/lr{self.lr:g}/seed{self.seed}"

    def as_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        title = DATASETS[self.dataset].title
        hq = f", HQ for {self.fraction:.0%}" if self.fraction < 1 else ""
        hq += f", {self.backbone}" if self.backbone else ""
        if self.kind == "teacher":
            return f"{title}{hq}: teacher"
        return (f"{title}{hq} {self.setting} OP {self.op:g}: {self.arm}, lr {self.lr:g}, "
                f"seed {self.seed}, {self.batch} batches")


@dataclass(frozen=True)
class Protocol:
    name: str
    seeds: tuple[int, ...]
    tune_seed: int
    grid_lr: tuple[float, ...]
    epochs: dict  # students, per dataset
    teacher_epochs: dict
    cells: tuple[Cell, ...]
    select_last: int = 3  # validated epochs averaged to pick a trial
    converged_points: float = CONVERGED_POINTS  # the last quarter may add less than this
    overrides: tuple[str, ...] = ()
    teacher_overrides: tuple[str, ...] = published_ucla_schedule()
    batches: tuple[str, ...] = BATCHES  # the batch constructions every arm tries

    def cell_jobs(self, cell: Cell, stage: str,
                  recipes: dict[str, tuple[float, str]] | None = None) -> list[Job]:
        """The tuning trials of every arm (``stage='tune'``: each learning rate with each
        batch construction), or the seeds of every arm at its chosen recipe (``'final'``,
        ``recipes``: arm -> (learning rate, batch construction))."""
        def job(arm: str, lr: float, seed: int, batch: str) -> Job:
            return Job(cell.dataset, setting=cell.setting, op=cell.op, arm=arm, lr=lr,
                       seed=seed, fraction=cell.fraction, batch=batch, backbone=cell.backbone)

        if stage == "tune":
            return [job(a, lr, self.tune_seed, b) for a in cell.arms for b in self.batches
                    for lr in self.grid_lr]
        assert recipes is not None
        return [job(a, recipes[a][0], s, recipes[a][1])
                for a in cell.arms if a in recipes for s in self.seeds]


TABLE3_BACKBONES = ("", "agcn-tiny", "efficientgcn-tiny")
"""Table 3's backbones, CPU-sized stand-ins for the paper's ST-GCN (the ``fair``
configuration's ``stgcn-tiny``), Js-AGCN and EfficientGCN-B4."""
TABLE3_PEERS = ("skd", "prgcn")
"""Table 3's peers built here (in the first backbone's cell, as in the paper): SKD's
joint-level distillation (``distill.mode: skd``) and PR-GCN, a network of its own
trained without distillation (:data:`PEER_MODELS`)."""


def _cells() -> tuple[Cell, ...]:
    """The whole grid, in the order it runs: the Penn Action cells first (the paper's
    main dataset), the hardest OP first within a dataset; Table 3 last."""
    cells = []
    for key in ("penn", "ucla", "utd"):
        settings = ("hetero", "homo") if DATASETS[key].homogeneous else ("hetero",)
        for setting in settings:
            for op in (0.6, 0.0, 0.3):
                cells.append(Cell(key, setting, op, table="1" if setting == "hetero" else "2"))
        if key == "penn":  # Table 4: its none and pmsc arms are Table 1's runs, not rerun
            cells.append(Cell("penn", "hetero", 0.6, TABLE4_ARMS, table="4"))
    for f in (0.8, 0.7):
        cells.append(Cell("penn", "hetero", 0.6, ("none:paired", "pmsc:paired", "pmsc"), f,
                          table="5"))
    # Table 3: Penn Action at OP 0; on the first backbone the none and pmsc arms are
    # Table 1's runs (the same jobs), not rerun
    for bb in TABLE3_BACKBONES:
        cells.append(Cell("penn", "hetero", 0.0, (*ARMS, *(() if bb else TABLE3_PEERS)),
                          table="3", backbone=bb))
    return tuple(cells)


PROTOCOLS = {
    "fair": Protocol("fair", seeds=(0, 1, 2, 3, 4), tune_seed=0, grid_lr=(0.1, 0.03, 0.01),
                     epochs={"penn": 50, "ucla": 80, "utd": 120},
                     teacher_epochs={"penn": 30, "ucla": 65, "utd": 100}, cells=_cells()),
    # the same plan, tiny: for tests and a look at the machinery (not evidence)
    "quick": Protocol("quick", seeds=(0, 1), tune_seed=0, grid_lr=(0.1, 0.03),
                      epochs={"penn": 2, "ucla": 2, "utd": 2},
                      teacher_epochs={"penn": 2, "ucla": 2, "utd": 2},
                      cells=(Cell("penn", "hetero", 0.6),), select_last=1),
}
