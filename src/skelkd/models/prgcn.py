"""PR-GCN (Li, Yi, Abu Farha and Gall, "Pose Refinement Graph Convolutional Network for
Skeleton-based Action Recognition", IEEE Robotics and Automation Letters 2021,
arXiv:2010.07367): one of the methods the paper compares itself with in its Table 3,
an end-to-end network built for erroneous poses. Written from the descriptions alone
(PR-GCN's abstract; Liu et al., Sec. 4.3: "a pose refinement module to correct the
joint coordinates before feeding them into a two-branch GCN, which fuses both position
and motion information of joints"); no code of its authors was read or copied.

* **Pose refinement**: a graph layer and a temporal layer read each joint's position
  and motion (its change to the next frame) and predict an offset per joint and frame,
  added to the coordinates. The offset's last convolution starts at zero, so the
  network starts from the input pose and learns to correct it; every joint is
  corrected, a missing one (zero coordinates) included, and the score channel is kept
  as it came.
* **Two branches**: positions (the refined coordinates, and the score) and motion (the
  refined coordinates' change to the next frame, zero in the last frame and where a
  joint is missing in either frame, and the score), each a stack of ST-GCN blocks
  (:class:`skelkd.models.stgcn.StgcnBlock`) of the configuration's widths and strides.
* **Gradual fusion**: after every block, the motion branch's features are added to the
  position branch's (the abstract's "parallel structure that gradually fuses motion and
  spatial information"); the network's output is the position branch's last features.
* **Early temporal reduction**: a configuration matter; ``prgcn-tiny`` strides at its
  second and fourth block where the ST-GCN stand-ins stride at their third and fifth.

Choices the descriptions leave open: how the refinement computes its correction (here an
additive offset from a graph and a temporal layer; PR-GCN's own module may differ), how
the branches fuse (here a sum after each block), the blocks (ST-GCN's, so the comparison
with the other rows is of the refinement and the motion branch, not of a block design),
and the initialisation (He-normal, as the other non-ST-GCN families).
"""

from __future__ import annotations

import torch
from torch import nn

from ..layouts import Layout
from ..layouts.graph import spatial_partition
from .inputs import motion, split_joints
from .registry import kaiming_init, register_network
from .stgcn import GraphConv, StgcnBlock


class PoseRefinement(nn.Module):
    """(N, C, T, V) positions and their presence -> the positions plus a learned offset
    read from the positions and their motion."""

    def __init__(self, coord_dims: int, width: int, adjacency: torch.Tensor, kernel: int):
        super().__init__()
        self.gcn = GraphConv(2 * coord_dims, width, adjacency, edge_importance=True)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, (kernel, 1), padding=((kernel - 1) // 2, 0)),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.offset = nn.Conv2d(width, coord_dims, 1)
        self.zero_offset()

    def zero_offset(self) -> None:
        """The refinement starts as the identity."""
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    def forward(self, pos: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        z = torch.cat([pos, motion(pos, present)], 1)
        return pos + self.offset(self.tcn(self.gcn(z)))


@register_network("prgcn")
class PrGcn(nn.Module):
    """(N, C, T, V) joints -> (N, C', T', V) features: the pose refined, then a position
    and a motion branch of ST-GCN blocks, the motion branch added into the position
    branch after every block (module docstring)."""

    def __init__(self, layout: Layout, in_channels: int, coord_dims: int, cfg):
        super().__init__()
        self.coord_dims = coord_dims or min(in_channels, 3)
        adjacency = torch.from_numpy(spatial_partition(layout))
        self.input_norm = nn.ModuleList(nn.BatchNorm2d(in_channels) for _ in range(2))
        self.refine = PoseRefinement(self.coord_dims, cfg.channels[0], adjacency,
                                     cfg.temporal_kernel)

        def branch() -> nn.ModuleList:
            blocks, cin = [], in_channels
            for i, (cout, stride) in enumerate(zip(cfg.channels, cfg.strides, strict=True)):
                blocks.append(StgcnBlock(cin, cout, adjacency, cfg, stride, residual=i > 0))
                cin = cout
            return nn.ModuleList(blocks)

        self.position, self.motion = branch(), branch()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos, score, present = split_joints(x, self.coord_dims)
        pos = self.refine(pos, present)
        p = self.input_norm[0](torch.cat([pos, score], 1))
        m = self.input_norm[1](torch.cat([motion(pos, present), score], 1))
        for block_p, block_m in zip(self.position, self.motion, strict=True):
            m = block_m(m)
            p = block_p(p) + m
        return p

    def reset_parameters(self) -> None:
        """He-normal convolutions (fan-out) with zero bias, unit/zero BatchNorms; the
        refinement's offset stays zero."""
        kaiming_init(self)
        self.refine.zero_offset()
