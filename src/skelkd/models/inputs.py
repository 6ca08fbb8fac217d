"""What the families with inputs of their own (EfficientGCN's branches, PR-GCN's motion
branch and refinement) derive from the joints: which joints are present, and how they
move from frame to frame."""

from __future__ import annotations

import torch
from torch import nn


def split_joints(x: torch.Tensor, coord_dims: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, C, T, V) joints -> positions (N, coord_dims, T, V), the score channels (the rest,
    0 or 1 of them) and presence (N, 1, T, V), 1 where the joint is there: a positive
    score, or without a score any non-zero coordinate (a missing joint is all zeros)."""
    pos, score = x[:, :coord_dims], x[:, coord_dims:]
    if score.shape[1]:
        present = (score[:, :1] > 0).to(x.dtype)
    else:
        present = (pos.abs().sum(1, keepdim=True) > 0).to(x.dtype)
    return pos, score, present


def motion(pos: torch.Tensor, present: torch.Tensor, lag: int = 1) -> torch.Tensor:
    """(N, C, T, V) positions -> their change to ``lag`` frames later, zero in the last
    ``lag`` frames and where the joint is missing (``present`` 0) in either frame."""
    step = (pos[:, :, lag:] - pos[:, :, :-lag]) * present[:, :, lag:] * present[:, :, :-lag]
    return nn.functional.pad(step, (0, 0, 0, lag))
