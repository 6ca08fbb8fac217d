"""EfficientGCN (Song, Zhang, Shan and Wang, "Constructing Stronger and Faster Baselines
for Skeleton-based Action Recognition", TPAMI 2022), written from the paper's
description: the backbone of the paper's strongest results (its Table 1-3 rows with
EfficientGCN-B4).

* **Multiple input branches** (Sec. 3.1): from the same joints, three inputs, each the
  coordinates' two views: joints (the positions and the positions relative to the
  layout's centre joint), velocities (the change to the next frame and to the frame
  after it) and bones (each joint minus its parent one bone closer to the centre,
  :attr:`skelkd.layouts.Layout.parents`, and the bone's angle to each axis). Derived from
  the layout alone, so every layout works. A joint score channel, when the model has one,
  is appended to each input. Velocities and bones are zero where a joint is missing
  (score 0, or all coordinates 0 without a score) in a frame they use.
* **Early fusion** (Sec. 4.1): each input has its own BatchNorm, stem (a spatial graph
  layer and a temporal layer) and ``branch_stages`` stages; the branches are then
  concatenated along the channels and the remaining stages run once.
* **A stage**: a spatial graph layer to the stage's width, ``depth`` separable temporal
  layers (the first with the stage's stride) and an ST-Joint attention module.
* **Separable temporal layer** (Sec. 3.3, Fig. 6): a depthwise temporal convolution
  (kernel ``temporal_kernel``, stride), BatchNorm, Swish, a pointwise convolution,
  BatchNorm, plus a residual, then Swish.
* **ST-Joint attention** (Sec. 4.4, Fig. 7): the features averaged over joints and over
  frames, concatenated, a shared 1x1 convolution that reduces the channels, then one
  1x1 convolution and a sigmoid for the frames and one for the joints; the features
  times both, BatchNorm, plus the input, Swish.
* **Compound scaling** (Sec. 4.3): :func:`skelkd.models.spec.efficientgcn_scaled`.

Choices the description leaves open, or where skelkd differs: the spatial graph layer
uses the layout's ST-GCN spatial partition (three subsets by distance to the centre)
with learnable edge weights, where the paper uses a distance partition up to two hops;
the attention's reduction is :data:`REDUCTION` (inner channels = channels / 2); no
expansion in the temporal layer; a stage without temporal layers (B0's input branches)
keeps its stride by average pooling; Swish everywhere; the classifier's dropout is the recogniser's
(``ModelSpec.dropout``). The reference initialisation is He-normal (fan-out) for the
convolutions and unit/zero BatchNorms, as 2s-AGCN's and CTR-GCN's code do.
"""

from __future__ import annotations

import torch
from torch import nn

from ..layouts import Layout
from ..layouts.graph import spatial_partition
from .inputs import motion, split_joints
from .registry import kaiming_init, register_network
from .stgcn import GraphConv

REDUCTION = 2  # the attention's inner channels: channels // REDUCTION


def branch_inputs(x: torch.Tensor, layout: Layout, coord_dims: int) -> list[torch.Tensor]:
    """(N, C, T, V) joints -> the three inputs (joints, velocities, bones), each
    (N, 2 * coord_dims + score, T, V); the score channel (C - coord_dims of them, 0 or 1)
    is appended to each."""
    pos, score, present = split_joints(x, coord_dims)
    centre = pos[..., layout.center_index:layout.center_index + 1]
    joints = torch.cat([pos, (pos - centre) * present], 1)
    moves = [motion(pos, present, lag) for lag in (1, 2)]
    parents = torch.as_tensor(layout.parents, device=x.device)
    bone = (pos - pos[..., parents]) * present * present[..., parents]
    length = bone.norm(dim=1, keepdim=True)
    angle = torch.where(length > 0, torch.acos((bone / length.clamp_min(1e-6)).clamp(-1, 1)),
                        torch.zeros_like(bone))
    return [torch.cat([joints, score], 1), torch.cat([*moves, score], 1),
            torch.cat([bone, angle, score], 1)]


class SpatialGraphLayer(nn.Module):
    """Graph convolution to ``cout`` channels, BatchNorm, plus a residual, Swish."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, edge_importance: bool):
        super().__init__()
        self.gcn = GraphConv(cin, cout, adjacency, edge_importance)
        self.bn = nn.BatchNorm2d(cout)
        self.residual = nn.Identity() if cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout))
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.gcn(x)) + self.residual(x))


class TemporalBasicLayer(nn.Module):
    """The stem's temporal layer: a full temporal convolution, BatchNorm, plus the
    input, Swish."""

    def __init__(self, channels: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, (kernel, 1), padding=((kernel - 1) // 2, 0))
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)) + x)


class TemporalSepLayer(nn.Module):
    """Depthwise temporal convolution (stride), BatchNorm, Swish; pointwise convolution,
    BatchNorm; plus a residual (strided where the frame rate changes), Swish."""

    def __init__(self, channels: int, kernel: int, stride: int):
        super().__init__()
        self.depthwise = nn.Sequential(
            nn.Conv2d(channels, channels, (kernel, 1), (stride, 1), ((kernel - 1) // 2, 0),
                      groups=channels),
            nn.BatchNorm2d(channels), nn.SiLU())
        self.pointwise = nn.Sequential(nn.Conv2d(channels, channels, 1),
                                       nn.BatchNorm2d(channels))
        self.residual = nn.Identity() if stride == 1 else nn.Sequential(
            nn.Conv2d(channels, channels, 1, (stride, 1)), nn.BatchNorm2d(channels))
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.pointwise(self.depthwise(x)) + self.residual(x))


class STJointAttention(nn.Module):
    """Attention over frames and joints at once: (N, C, T, V) scaled by a (N, C, T, 1)
    and a (N, C, 1, V) sigmoid map computed from the features pooled over joints and
    over frames, then BatchNorm, plus the input, Swish."""

    def __init__(self, channels: int):
        super().__init__()
        inner = max(channels // REDUCTION, 1)
        self.shared = nn.Sequential(nn.Conv2d(channels, inner, 1), nn.BatchNorm2d(inner),
                                    nn.SiLU())
        self.frames = nn.Conv2d(inner, channels, 1)
        self.joints = nn.Conv2d(inner, channels, 1)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[2]
        pooled = torch.cat([x.mean(3, keepdim=True), x.mean(2, keepdim=True).transpose(2, 3)], 2)
        z = self.shared(pooled)
        at_frames = torch.sigmoid(self.frames(z[:, :, :t]))
        at_joints = torch.sigmoid(self.joints(z[:, :, t:].transpose(2, 3)))
        return self.act(self.bn(x * at_frames * at_joints) + x)


def _stage(cin: int, cout: int, stride: int, depth: int, adjacency: torch.Tensor,
           cfg) -> nn.Sequential:
    layers = [SpatialGraphLayer(cin, cout, adjacency, cfg.edge_importance)]
    layers += [TemporalSepLayer(cout, cfg.temporal_kernel, stride if k == 0 else 1)
               for k in range(depth)]
    if depth == 0 and stride > 1:  # a stage without temporal layers still keeps its stride
        layers.append(nn.AvgPool2d((stride, 1), (stride, 1), ceil_mode=True))
    return nn.Sequential(*layers, STJointAttention(cout))


@register_network("efficientgcn")
class EfficientGcn(nn.Module):
    """(N, C, T, V) joints -> (N, C', T', V) features: three input branches, fused, then
    the main stream (module docstring)."""

    def __init__(self, layout: Layout, in_channels: int, coord_dims: int, cfg):
        super().__init__()
        self.layout, self.coord_dims = layout, coord_dims or min(in_channels, 3)
        adjacency = torch.from_numpy(spatial_partition(layout))
        branch_in = 2 * self.coord_dims + (in_channels - self.coord_dims)
        split = cfg.branch_stages
        stages = list(zip(cfg.channels, cfg.strides, cfg.depths, strict=True))

        def stack(cin: int, part) -> list[nn.Module]:
            out = []
            for cout, stride, depth in part:
                out.append(_stage(cin, cout, stride, depth, adjacency, cfg))
                cin = cout
            return out

        self.branches = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(branch_in),
                          SpatialGraphLayer(branch_in, cfg.stem_channels, adjacency,
                                            cfg.edge_importance),
                          TemporalBasicLayer(cfg.stem_channels, cfg.temporal_kernel),
                          *stack(cfg.stem_channels, stages[:split]))
            for _ in range(3))
        self.main = nn.Sequential(*stack(3 * stages[split - 1][0], stages[split:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = branch_inputs(x, self.layout, self.coord_dims)
        fused = torch.cat([b(z) for b, z in zip(self.branches, inputs, strict=True)], 1)
        return self.main(fused)

    def reset_parameters(self) -> None:
        """He-normal convolutions (fan-out) with zero bias, unit/zero BatchNorms."""
        kaiming_init(self)


