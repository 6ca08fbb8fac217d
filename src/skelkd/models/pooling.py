"""Pooling joint features: globally for the classifier, and per body part (Section 3.3.1).

Persons: the paper pads to M = 2 persons but does not say how features of a padded,
absent person enter the pooling. skelkd averages over the persons present in the input
(``person_pool="present"``: a person is present if any of its input values is non-zero)
so a one-person clip's features are not diluted by a phantom; ``"all"`` averages over
all M slots as the original ST-GCN does.
"""

from __future__ import annotations

import torch

from ..layouts import Layout


def person_mask(x: torch.Tensor, mode: str = "present") -> torch.Tensor:
    """(N, M) float weights of each person slot for pooling, from the input (N, M, T, V, C)."""
    n, m = x.shape[:2]
    if mode == "all":
        return x.new_ones(n, m)
    if mode != "present":
        raise ValueError(f"person_pool must be 'present' or 'all', not {mode!r}")
    present = (x.reshape(n, m, -1) != 0).any(dim=-1).to(x.dtype)
    present[:, 0] = torch.where(present.sum(1) == 0, 1.0, present[:, 0])  # all-empty input
    return present


def _over_persons(feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, M, C, V) features -> (N, C, V): weighted mean over persons."""
    w = mask / mask.sum(dim=1, keepdim=True)
    return torch.einsum("nmcv,nm->ncv", feats, w)


def global_features(feats: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, M, C, T, V) joint features -> (N, C): mean over time, persons and joints
    (the global average pooling of Section 3.2)."""
    return _over_persons(feats.mean(dim=3), mask).mean(dim=-1)


def part_features(feats: torch.Tensor, mask: torch.Tensor,
                  layout: Layout | torch.Tensor) -> torch.Tensor:
    """(N, M, C, T, V) joint features -> (N, 5, C) part features f_{i,p} (Section 3.3.1):
    the mean over time, persons and the joints of each of the layout's five parts.
    ``layout`` may be given as its (5, V) part-averaging matrix."""
    pmat = layout if isinstance(layout, torch.Tensor) else torch.as_tensor(
        layout.part_matrix(), dtype=feats.dtype, device=feats.device)
    return torch.einsum("ncv,pv->npc", _over_persons(feats.mean(dim=3), mask), pmat)


def part_presence(x: torch.Tensor, part_pool: torch.Tensor) -> torch.Tensor:
    """(N, 5) bool: whether each body part of each input (N, M, T, V, C) has a joint
    with a non-zero input value in some frame of some person (a missing joint is all
    zeros, coordinates and score); ``part_pool`` is the layout's (5, V) part matrix."""
    joint = (x != 0).any(dim=4).any(dim=2).any(dim=1)  # (N, V)
    return (joint.to(part_pool.dtype) @ (part_pool > 0).to(part_pool.dtype).T) > 0
