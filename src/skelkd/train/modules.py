"""Lightning modules: a recogniser trained with cross-entropy (the teacher, Eq. 2, or a
student without distillation) and a student trained with L_c + alpha * L_kd (Eq. 4-5)
under a frozen teacher.

Distillation modes (the paper's Table 4 and our ablation):

``none``          L_c only.
``kl``            logit distillation, T^2 KL(teacher || student) at temperature T, on the
                  paired samples (only they have a high-quality input for the teacher).
``global-msc``    Eq. 8-11 on globally pooled features, no parts, no E.
``pmsc-uniform``  Eq. 6-11 with uniform part weights (E = 1/5): parts without E.
``pmsc``          Eq. 6-11 with the part matrix E: the paper's method.
``skd``           joint-level distillation in the manner of SKD (Bian et al., TIP 2021), a
                  peer of the paper's Table 3: on the paired samples, the relations among
                  the joints both layouts name alike match the teacher's
                  (:func:`~skelkd.distill.losses.joint_relation_loss`); joints without a
                  namesake in the other layout take no part in it.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from ..config import DISTILL_MODES, DistillConfig, OptimConfig
from ..distill.distributed import gather_high_quality
from ..distill.losses import (
    alpha_at,
    global_msc_loss,
    joint_relation_loss,
    kd_kl_loss,
    pmsc_loss,
)
from ..errors import SkelkdError
from ..layouts import get_layout
from ..layouts.mapping import shared_joints
from ..models import ModelSpec, Recognizer
from ..models.pooling import part_presence
from ..models.recognizer import build_model

__all__ = ["DISTILL_MODES", "RecognizerModule", "StudentModule"]


def _optimizers(module: L.LightningModule, cfg: OptimConfig):
    # a learned temperature stays out of weight decay, which would pull it to 1
    tau = getattr(module, "log_temperature", None)
    groups = [{"params": [p for p in module.parameters() if p.requires_grad and p is not tau]}]
    if tau is not None:
        groups.append({"params": [tau], "weight_decay": 0.0})
    opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    epochs = max(int(module.trainer.max_epochs or 1), 1)
    steps = [max(1, round(m * epochs)) for m in cfg.milestones]
    warm = cfg.warmup_epochs

    def factor(epoch: int) -> float:
        if warm and epoch < warm:
            return (epoch + 1) / warm
        return cfg.gamma ** sum(epoch >= s for s in steps)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def _shared_joint_pools(student: str, teacher: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(J, V_student) and (J, V_teacher) one-hot rows selecting the joints both layouts
    name alike (``skd``); a clear error when they share none."""
    s, t = get_layout(student), get_layout(teacher)
    names = shared_joints(s, t)
    if not names:
        raise SkelkdError(f"distillation 'skd' needs joints that layouts '{s.name}' and "
                          f"'{t.name}' both name; they share none")
    pools = []
    for layout in (s, t):
        pool = torch.zeros(len(names), layout.num_joints)
        pool[torch.arange(len(names)), torch.tensor([layout.index(n) for n in names])] = 1.0
        pools.append(pool)
    return pools[0], pools[1]


def outlier_exposure_loss(logits: torch.Tensor) -> torch.Tensor:
    """Outlier exposure (Hendrycks, Mazeika and Dietterich, "Deep Anomaly Detection with
    Outlier Exposure", ICLR 2019; not in the paper): the cross-entropy of the outputs on
    samples of actions outside the classes against the uniform distribution,
    mean over samples of -(1/C) sum_c log softmax(logits)_c. It pulls the model's
    probabilities on them towards 1/C, so its confidence tells them from its classes."""
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return -F.log_softmax(logits.float(), dim=1).mean(1).mean()


class RecognizerModule(L.LightningModule):
    """Cross-entropy training of one recogniser (Eq. 2 for the teacher, Eq. 5 alone for
    a student without distillation). Batches: ``{"x", "label"}`` or ``{"x_lq", "label"}``."""

    def __init__(self, spec: dict, optim: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.model = build_model(ModelSpec(**spec))
        self.optim = OptimConfig(**(optim or {}))
        self.val_curve: list[list[float]] = []  # [[epoch, val top-1 %], ...] after a fit

    @staticmethod
    def _inputs(batch: dict) -> torch.Tensor:
        return batch["x"] if "x" in batch else batch["x_lq"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        logits = self.model(self._inputs(batch))
        loss = F.cross_entropy(logits, batch["label"])
        self._check_finite({"loss": loss})
        acc = (logits.argmax(1) == batch["label"]).float().mean()
        self.log_dict({"train/loss": loss, "train/acc": acc}, prog_bar=True,
                      batch_size=len(logits))
        return loss

    def _check_finite(self, losses: dict) -> None:
        """Stop on a NaN or infinite loss, before it reaches the weights: the run ends
        with one clear error and the last good checkpoint stays as it was."""
        bad = {k: float(v.detach()) for k, v in losses.items() if not torch.isfinite(v).all()}
        if not bad:
            return
        where = getattr(getattr(self.trainer, "checkpoint_callback", None), "dirpath", None)
        raise SkelkdError(
            f"non-finite training loss ({', '.join(f'{k} = {v}' for k, v in bad.items())}) at "
            f"epoch {self.current_epoch}, step {self.global_step}: training stopped; the last "
            f"good checkpoint is kept{f' in {where}' if where else ''}. Check the data for "
            "NaN/inf values, or lower the learning rate")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        logits = self.model(self._inputs(batch))
        self.log_dict({"val/loss": F.cross_entropy(logits, batch["label"]),
                       "val/acc": (logits.argmax(1) == batch["label"]).float().mean()},
                      prog_bar=True, batch_size=len(logits), sync_dist=True)

    def configure_optimizers(self):
        return _optimizers(self, self.optim)


class StudentModule(RecognizerModule):
    """L_student = L_c + alpha * L_kd (Eq. 4) with a frozen teacher in eval mode.

    Batches come from :class:`skelkd.data.PairedDataset`: ``x_lq``, ``label``,
    ``paired``, ``x_hq``. Solitary samples count in L_c and, through the class means of
    Eq. 8, in L_pmsc and L_global-msc.

    With :class:`skelkd.data.dataset.WithOutliers`, samples labelled ``OUTLIER`` (actions
    outside the classes) take no part in L_c or L_kd (not in Eq. 8's class means either);
    they add ``outlier_weight`` times :func:`outlier_exposure_loss`, the outlier exposure
    of Hendrycks et al. (ICLR 2019), which the paper does not have (docs/design.md, item 67).
    """

    def __init__(self, spec: dict, teacher_spec: dict | None = None, optim: dict | None = None,
                 distill: dict | None = None, outlier_weight: float = 0.0):
        super().__init__(spec, optim)
        self.outlier_weight = outlier_weight
        self.distill = DistillConfig(**(distill or {}))  # checks the mode and precision
        self.teacher = None
        if self.distill.mode != "none":
            if teacher_spec is None:
                raise ValueError(f"distillation '{self.distill.mode}' needs a teacher")
            self.teacher = Recognizer(ModelSpec(**teacher_spec))
            self.teacher.requires_grad_(False)
            self.teacher.eval()
        # distill.extra_teachers: the ensemble's other members, of the teacher's spec
        self.co_teachers = nn.ModuleList(
            Recognizer(ModelSpec(**teacher_spec)).requires_grad_(False).eval()
            for _ in self.distill.extra_teachers)
        e = torch.as_tensor(self.distill.part_matrix, dtype=torch.float32)
        if self.distill.mode == "pmsc-uniform" or e.numel() == 0:
            e = torch.full((spec["num_classes"], 5), 0.2)
        if self.distill.mode == "pmsc" and not self.distill.part_matrix:
            raise ValueError("distillation 'pmsc' needs the part matrix E")
        self.register_buffer("part_matrix", e)
        pools = (_shared_joint_pools(spec["layout"], teacher_spec["layout"])
                 if self.distill.mode == "skd" else (None, None))
        self.register_buffer("student_joints", pools[0], persistent=False)
        self.register_buffer("teacher_joints", pools[1], persistent=False)
        # the names of the tables of each teacher's outputs kept by cache_teacher
        self.cached: tuple[tuple[str, ...], ...] = ()
        # study levers (distill.learn_temperature, distill.projection): trained with the
        # student, used by L_kd only, so neither reaches the exported model
        self.log_temperature = nn.Parameter(torch.tensor(math.log(self.distill.temperature))) \
            if self.distill.learn_temperature else None
        self.projection = None
        if self.distill.projection and self.distill.mode != "none":  # part-level modes
            width = self.model.backbone.out_channels
            head = torch.eye(width).repeat(5, 1, 1)  # (parts, C, C), identity at the start
            self.projection = nn.Parameter(head)

    def train(self, mode: bool = True):
        super().train(mode)
        for teacher in self.teachers():
            teacher.eval()  # frozen: BatchNorm statistics and dropout stay off
        return self

    def teachers(self) -> list[Recognizer]:
        """The frozen teacher and the ensemble's other members (distill.extra_teachers)."""
        return [] if self.teacher is None else [self.teacher, *self.co_teachers]

    def load_teacher(self, *state_dicts: dict) -> None:
        """The teacher's weights, then those of each of distill.extra_teachers."""
        members = self.teachers()
        if len(state_dicts) != len(members):
            raise ValueError(f"{len(members)} teacher(s) to load, got {len(state_dicts)}")
        for teacher, state in zip(members, state_dicts, strict=True):
            teacher.load_state_dict(state)

    def cache_teacher(self, loader) -> None:
        """Compute the frozen teacher's logits, global and part features of every
        high-quality sample once (``loader`` yields ``{"x", "index"}`` of the high-quality
        pack); training then looks them up by ``hq_index`` instead of running the teacher.
        Valid because the teacher's input is neither augmented nor occluded. Kept out of
        checkpoints (recomputed on resume). Every member of a teacher ensemble has its
        own tables."""
        assert self.teacher is not None
        kinds = ["logits", "global", "parts"] + ["joints"] * (self.teacher_joints is not None)
        kinds += [f"block{b}" for b in self.distill.inner_blocks]
        members = self.teachers()
        member_rows: list[dict[int, tuple]] = [{} for _ in members]
        for teacher in members:
            teacher.eval()
        with torch.no_grad():
            for batch in loader:  # the data read once, every teacher run on it
                for teacher, rows in zip(members, member_rows, strict=True):
                    out = teacher.features(batch["x"], self.teacher_joints, self.blocks)
                    for k, i in enumerate(batch["index"].tolist()):
                        rows[i] = tuple(o[k] for o in out)
        self.cached = ()
        for t, rows in enumerate(member_rows):
            size = max(rows) + 1 if rows else 0
            names = tuple(f"cache{t or ''}_{kind}" for kind in kinds)
            for j, name in enumerate(names):
                first = next(iter(rows.values()))[j] if rows else torch.zeros(0)
                table = first.new_zeros((size, *first.shape))
                for i, row in rows.items():
                    table[i] = row[j]
                self.register_buffer(name, table, persistent=False)
            self.cached += (names,)

    def teacher_outputs(self, batch: dict, paired: torch.Tensor, member: int = 0):
        """The teacher's logits, global and part features of the batch's twins (and, for
        ``skd``, the features of the shared joints; with distill.inner_blocks, the part
        features of each of those blocks); ``member``: which teacher of an
        ensemble (0: the run's teacher, then distill.extra_teachers in order)."""
        if self.cached:
            idx = batch["hq_index"][paired]
            return tuple(getattr(self, name)[idx] for name in self.cached[member])
        x = batch["x_hq"][paired]
        bf16 = self.distill.teacher_precision == "bf16"
        with torch.no_grad(), torch.autocast(x.device.type, torch.bfloat16, enabled=bf16):
            out = self.teachers()[member].features(x, self.teacher_joints, self.blocks)
        return tuple(o.float() for o in out)

    def temperature(self) -> float | torch.Tensor:
        """tau of Eq. 6: ``distill.temperature``, or the learned one (within [0.01, 1])."""
        if self.log_temperature is None:
            return self.distill.temperature
        return self.log_temperature.clamp(math.log(0.01), 0.0).exp()

    @property
    def blocks(self) -> tuple[int, ...]:
        """distill.inner_blocks: the blocks whose part features are matched besides the
        last one's."""
        return tuple(self.distill.inner_blocks)

    def distill_loss(self, batch: dict, logits: torch.Tensor, g: torch.Tensor,
                     parts: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        """L_kd of Eq. 4 for ``distill.mode`` (``extra``: the rest of the student's
        :meth:`Recognizer.features`, the shared joints' features for ``skd``, the inner
        blocks' part features for distill.inner_blocks); with distill.extra_teachers, its
        mean over the ensemble's teachers."""
        members = range(len(self.teachers()))
        return sum(self._distill_from(m, batch, logits, g, parts, extra)
                   for m in members) / len(members)

    def _distill_from(self, member: int, batch: dict, logits: torch.Tensor, g: torch.Tensor,
                      parts: torch.Tensor, extra: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """L_kd against one teacher of the ensemble (:meth:`teacher_outputs`)."""
        paired = batch["paired"].bool()
        y = batch["label"]
        t_logits, t_g, t_parts, *t_extra = self.teacher_outputs(batch, paired, member)
        d = self.distill
        if d.mode == "kl":
            return kd_kl_loss(logits[paired], t_logits, d.kd_temperature)
        if d.mode == "skd":
            return joint_relation_loss(extra[0][paired], t_extra[0])
        # contrast with the high-quality batches of every process (distill/distributed.py)
        t_feats = t_g if d.mode == "global-msc" else t_parts
        tau = self.temperature()
        if self.projection is not None:
            parts = torch.einsum("npc,pcd->npd", parts, self.projection)
        t_feats, y_hq, offset = gather_high_quality(t_feats, y[paired])
        twin = torch.cumsum(paired.long(), 0) - 1 + offset
        twin = torch.where(paired, twin, torch.full_like(twin, -1))
        if d.mode == "global-msc":
            loss = global_msc_loss(g, t_feats, y, y_hq, twin, d.w, tau)
        else:
            present = part_presence(batch["x_lq"], self.model.part_pool) \
                if d.absent_parts == "drop" else None
            loss = pmsc_loss(parts, t_feats, y, y_hq, twin, self.part_matrix, d.w, tau,
                             present)
            # distill.inner_blocks: the same loss at each of those depths, then the mean
            for b, f_lq, f_hq in zip(self.blocks, extra, t_extra, strict=True):
                if f_lq.shape[-1] != f_hq.shape[-1]:
                    raise SkelkdError(f"distill.inner_blocks: block {b} is {f_lq.shape[-1]} "
                                      f"channels wide in the student, {f_hq.shape[-1]} in the "
                                      "teacher; matched blocks must have one width")
                f_hq, _, _ = gather_high_quality(f_hq, y[paired])
                loss = loss + pmsc_loss(f_lq, f_hq, y, y_hq, twin, self.part_matrix, d.w, tau,
                                        present)
            loss = loss / (1 + len(self.blocks))
        if d.global_weight > 0 and d.mode != "global-msc":  # parts plus global MSC
            t_global, y_hq, _ = gather_high_quality(t_g, y[paired])
            loss = loss + d.global_weight * global_msc_loss(g, t_global, y, y_hq, twin, d.w,
                                                            tau)
        if d.kl_weight > 0:  # the contrastive loss plus logit distillation
            loss = loss + d.kl_weight * kd_kl_loss(logits[paired], t_logits, d.kd_temperature)
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        logits, g, parts, *extra = self.model.features(batch["x_lq"], self.student_joints,
                                                        self.blocks)
        known = batch["label"] >= 0
        outliers = None
        if not known.all():  # outlier exposure: the outliers leave every other term
            outliers = logits[~known]
            batch = {k: v[known] if torch.is_tensor(v) and len(v) == len(known) else v
                     for k, v in batch.items()}
            logits, g, parts = logits[known], g[known], parts[known]
            extra = [e[known] for e in extra]
        if not len(logits):  # a batch of outliers alone: only their term
            loss = loss_c = logits.sum() * 0.0
            logs = {"train/loss_c": loss_c}
        else:
            loss_c = F.cross_entropy(logits, batch["label"])
            loss = loss_c
            logs = {"train/loss_c": loss_c,
                    "train/acc": (logits.argmax(1) == batch["label"]).float().mean()}
        if self.teacher is not None and self.distill.alpha > 0 and len(logits):
            loss_kd = self.distill_loss(batch, logits, g, parts, *extra)
            alpha = alpha_at(self.distill.alpha, self.distill.alpha_schedule,
                             self.current_epoch, self.trainer.max_epochs or 1)
            loss = loss_c + alpha * loss_kd
            logs["train/loss_kd"] = loss_kd
        if outliers is not None and self.outlier_weight > 0:
            loss_oe = outlier_exposure_loss(outliers)
            loss = loss + self.outlier_weight * loss_oe
            logs["train/loss_oe"] = loss_oe
        logs["train/loss"] = loss
        self._check_finite({k: v for k, v in logs.items() if "loss" in k})
        self.log_dict(logs, prog_bar=True, batch_size=len(logits))
        return loss


