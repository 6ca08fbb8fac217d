"""Distillation losses: the part-level multi-sample contrastive loss (Eq. 6-11), its
global variant and logit distillation (the paper's Table 4 baselines), and joint-level
distillation in the manner of SKD (a peer of the paper's Table 3).

Batch convention (Section 3.3.2): a mini-batch has a low-quality batch B^L of N samples
(labels ``y_lq``) and a high-quality batch B^H of B samples (labels ``y_hq``): the twins
of the batch's paired samples. ``twin[i]`` is the index in B^H of sample i's twin, -1
for a solitary sample.

Choices where the paper is silent (``docs/design.md``):

* Positive set B_i^P = {x_j^H : y_j = y_i, j != twin of i}: the twin is its own term in
  Eq. 8, so it is not counted again among the positives.
* No positive in the batch: C^P = 0, so a paired sample keeps its twin term alone; a
  solitary sample then has no defined loss (0/0) and is left out of the mean of Eq. 11
  (as it is when w = 0, where its loss would be -log 0).
* No negative in the batch: C^N = 0 and the sample's loss is 0 (the ratio is 1).
* The mean of Eq. 11 runs over the samples with a defined loss.
* ``temperature``: phi is divided by tau before the exponential of Eq. 6. tau = 1 is the
  paper's form; as written its similarities lie in [1, e] for ReLU features, so the loss
  can move only a little (``docs/design.md`` item 11); tau < 1 sharpens it.

Computations are in log space (log-sum-exp), so small temperatures do not overflow.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .distributed import global_mean


def part_similarity(f_lq: torch.Tensor, f_hq: torch.Tensor, weights: torch.Tensor
                    ) -> torch.Tensor:
    """phi of Eq. 7 for every (low, high) pair: sum over parts p of the cosine similarity
    of f_{i,p}^L and f_{j,p}^H times E_{y_i, p}.

    Args:
        f_lq: (N, P, C) student part features; f_hq: (B, P, C) teacher part features.
        weights: (N, P) part weights of each low-quality sample (row y_i of E).

    Returns:
        (N, B) phi.
    """
    a = F.normalize(f_lq, dim=-1, eps=1e-8)
    b = F.normalize(f_hq, dim=-1, eps=1e-8)
    return torch.einsum("npc,bpc,np->nb", a, b, weights)


def multi_sample_contrastive(phi: torch.Tensor, y_lq: torch.Tensor, y_hq: torch.Tensor,
                             twin: torch.Tensor, w: float = 0.5, temperature: float = 1.0
                             ) -> torch.Tensor:
    """Eq. 8-11 given phi (N, B): the mean loss over samples with a defined loss, taken
    over the global batch under data parallelism (:func:`global_mean`; in one process,
    the plain mean). Returns a scalar; 0 (with gradient) when no loss is defined.
    """
    return global_mean(*per_sample_contrastive(phi, y_lq, y_hq, twin, w, temperature))


def per_sample_contrastive(phi: torch.Tensor, y_lq: torch.Tensor, y_hq: torch.Tensor,
                           twin: torch.Tensor, w: float = 0.5, temperature: float = 1.0
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 8-10 given phi (N, B): each sample's loss l^i (N,) and whether it is defined
    (N,) bool. Eq. 11 is the mean of the defined ones (data-parallel training sums them
    across processes first)."""
    b = phi.shape[1]
    logc = phi / temperature  # log C(x_i^L, x_j^H), Eq. 6
    # "log 0": a finite stand-in so that empty sets give exact zeros in the sums below
    # and finite gradients (a true -inf makes logaddexp's gradient NaN)
    empty = torch.tensor(-1e4, dtype=logc.dtype, device=logc.device)
    cols = torch.arange(b, device=phi.device)
    has_twin = twin >= 0
    is_twin = has_twin[:, None] & (cols[None, :] == twin[:, None])
    same = y_lq[:, None] == y_hq[None, :]
    pos, neg = same & ~is_twin, ~same

    def log_mean(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # Eq. 9, Eq. 10
        count = mask.sum(dim=1)
        lse = torch.logsumexp(torch.where(mask, logc, empty), dim=1)
        mean = lse - torch.log(count.clamp(min=1).to(logc.dtype))
        return torch.where(count > 0, mean, empty), count > 0

    log_cp, has_pos = log_mean(pos)
    has_pos = has_pos & (w > 0)
    log_cp = torch.where(has_pos, log_cp + math.log(max(w, 1e-30)), empty)
    log_cn, _ = log_mean(neg)
    log_twin = torch.where(has_twin, (logc * is_twin).sum(dim=1), empty)
    log_num = torch.logaddexp(log_twin, log_cp)  # C(x_i, x_i^H) + w C^P, or w C^P alone
    log_den = torch.logaddexp(log_num, log_cn)
    defined = has_twin | has_pos
    return torch.where(defined, log_den - log_num, torch.zeros_like(log_num)), defined


def present_part_weights(weights: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Occlusion-aware part weights (a lever of the part-level study, not the paper's):
    each low-quality sample's row of E (Eq. 7's E_{y_i, p}) with the parts absent from
    that sample (every joint missing) set to 0 and the present ones rescaled so the row
    keeps its sum; a sample with no part present keeps its row.

    Args:
        weights: (N, P) rows of E; present: (N, P) bool.
    """
    kept = weights * present
    total = kept.sum(dim=1, keepdim=True)
    scaled = kept * (weights.sum(dim=1, keepdim=True) / total.clamp(min=1e-12))
    return torch.where(total > 0, scaled, weights)


def pmsc_loss(f_lq: torch.Tensor, f_hq: torch.Tensor, y_lq: torch.Tensor, y_hq: torch.Tensor,
              twin: torch.Tensor, part_matrix: torch.Tensor, w: float = 0.5,
              temperature: float = 1.0, present: torch.Tensor | None = None) -> torch.Tensor:
    """The part-level multi-sample contrastive loss L_pmsc (Eq. 6-11).

    Args:
        f_lq: (N, 5, C) student part features of the low-quality batch.
        f_hq: (B, 5, C) teacher part features of the high-quality batch.
        y_lq: (N,) labels; y_hq: (B,) labels; twin: (N,) twin index in B^H or -1.
        part_matrix: (num_classes, 5) E of Eq. 13 (rows sum to 1).
        w: weight of the positive mean C^P (Eq. 8; 0.5 in the paper).
        temperature: divides phi before the exponential (1 = the paper's form).
        present: (N, 5) bool, which parts each low-quality sample has: given, the absent
            ones leave phi (:func:`present_part_weights`); None: the paper's phi.
    """
    weights = part_matrix[y_lq]
    if present is not None:
        weights = present_part_weights(weights, present)
    phi = part_similarity(f_lq, f_hq, weights)
    return multi_sample_contrastive(phi, y_lq, y_hq, twin, w, temperature)


def global_msc_loss(g_lq: torch.Tensor, g_hq: torch.Tensor, y_lq: torch.Tensor,
                    y_hq: torch.Tensor, twin: torch.Tensor, w: float = 0.5,
                    temperature: float = 1.0) -> torch.Tensor:
    """The global multi-sample contrastive baseline (Table 4, after Sharma et al., CVPR
    2021): Eq. 8-11 with phi the cosine similarity of globally pooled features (N, C)
    and (B, C): no parts, no part matrix."""
    phi = part_similarity(g_lq[:, None], g_hq[:, None], g_lq.new_ones(len(g_lq), 1))
    return multi_sample_contrastive(phi, y_lq, y_hq, twin, w, temperature)


def kd_kl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
               temperature: float = 4.0) -> torch.Tensor:
    """Logit distillation (Hinton et al., 2014): T^2 KL(softmax(t / T) || softmax(s / T)),
    averaged over the samples given (the paired ones: only they have teacher logits)."""
    if student_logits.numel() == 0:
        return student_logits.sum() * 0.0
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, dim=-1),
                    F.log_softmax(teacher_logits / t, dim=-1), log_target=True,
                    reduction="batchmean") * t * t


ALPHA_WARMUP = 0.25
"""``alpha_schedule: warmup`` reaches alpha after this share of the epochs."""


def alpha_at(alpha: float, schedule: str, epoch: int, epochs: int) -> float:
    """The weight of L_kd (Eq. 4's alpha) in epoch ``epoch`` (from 0) of ``epochs``:
    ``constant``, alpha throughout (the paper's); ``warmup``, rising linearly from
    alpha / n to alpha over the first n = ceil(:data:`ALPHA_WARMUP` x epochs) epochs, then
    alpha; ``decay``, falling linearly from alpha in the first epoch to alpha / epochs in
    the last."""
    epochs = max(int(epochs), 1)
    if schedule == "constant":
        return alpha
    if schedule == "warmup":
        n = max(math.ceil(ALPHA_WARMUP * epochs), 1)
        return alpha * min(1.0, (epoch + 1) / n)
    if schedule == "decay":
        return alpha * (epochs - min(epoch, epochs - 1)) / epochs
    raise ValueError(f"alpha_schedule must be 'constant', 'warmup' or 'decay', not {schedule!r}")


def joint_relation_loss(f_lq: torch.Tensor, f_hq: torch.Tensor) -> torch.Tensor:
    """Joint-level distillation in the manner of SKD (Bian, Feng, Wan and Wang,
    "Structural knowledge distillation for efficient skeleton-based action recognition",
    TIP 2021), between paired samples: the relations among the joints both layouts have
    (matched by landmark name), the (J, J) cosine similarities of their features, made
    to match the teacher's. With ``f_lq`` (P, J, C_L) and ``f_hq`` (P, J, C_H) the
    student's and the teacher's features of the P paired samples' J shared joints:

        R_i^X[j, k] = cos(f_{i,j}^X, f_{i,k}^X),   L = mean_{i, j, k} (R_i^L - R_i^H)[j, k]^2

    Relations, not the features themselves, so student and teacher may differ in width.
    The SKD paper's own equations are not available here (only its abstract: "a graph
    matching loss ... to distill the graph structural knowledge at an intermediate
    representation level"); this is our reading of it, and its gradient revision is not
    reproduced (docs/design.md). 0 when no sample is paired."""
    if f_lq.shape[0] == 0:
        return f_lq.sum() * 0.0
    a, b = F.normalize(f_lq, dim=-1), F.normalize(f_hq, dim=-1)
    return ((a @ a.transpose(1, 2) - b @ b.transpose(1, 2)) ** 2).mean()

