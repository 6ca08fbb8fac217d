"""Graph-convolution backbones with one interface: (N, M, T, V, C) skeletons in, joint
features (N, M, C', T', V) out, built on the layout's graph. One module per family,
each registering its block (:mod:`skelkd.models.registry`):

* ``stgcn`` (:mod:`.stgcn`): ST-GCN (Yan, Xiong, Lin, AAAI 2018), as the paper uses it;
* ``agcn`` (:mod:`.agcn`): the joint stream of 2s-AGCN (Shi et al., CVPR 2019);
* ``ctrgcn`` (:mod:`.ctrgcn`): CTR-GCN (Chen et al., ICCV 2021);
* ``efficientgcn`` (:mod:`.efficientgcn`): EfficientGCN (Song et al., TPAMI 2022), whose
  input branches and fusion make it a network of its own rather than a block repeated;
* ``prgcn`` (:mod:`.prgcn`): PR-GCN (Li et al., RA-L 2021), a peer of the paper's Table 3:
  a pose refinement, then a position and a motion branch of ST-GCN blocks.

Counting blocks: the paper's ST-GCN has "nine GCN blocks"; the original ST-GCN has ten
(four at 64 channels). ``stgcn-paper`` has nine: three at 64 channels (the first takes
the input and has no residual), three at 128 (the first with temporal stride 2) and
three at 256 (the first with stride 2). ``agcn-paper`` and ``ctrgcn-paper`` follow
2s-AGCN's and CTR-GCN's ten blocks (four at 64 channels).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import SkelkdError
from ..layouts import Layout, get_layout
from ..layouts.graph import spatial_partition
from . import agcn, ctrgcn, efficientgcn, prgcn, stgcn  # noqa: F401 - each registers its family
from .registry import BLOCKS, NETWORKS
from .spec import BACKBONES, KINDS, BackboneConfig, ModelSpec, backbone_config

__all__ = ["BACKBONES", "KINDS", "Backbone", "BackboneConfig", "ModelSpec", "backbone_config"]


class Backbone(nn.Module):
    """(N, M, T, V, C) -> joint features (N, M, C', T', V) for one layout."""

    def __init__(self, layout: str | Layout, in_channels: int, num_persons: int = 1,
                 config: str | BackboneConfig = "stgcn-small", coord_dims: int = 0,
                 **overrides):
        super().__init__()
        self.layout = get_layout(layout)
        self.config = backbone_config(config, **overrides)
        self.in_channels = in_channels
        cfg, v = self.config, self.layout.num_joints
        if cfg.kind in NETWORKS:  # a family with its own stack and input normalisation
            self.network = NETWORKS[cfg.kind](self.layout, in_channels, coord_dims, cfg)
            if cfg.reference_init:
                self.network.reset_parameters()
            return
        self.network = None
        adjacency = torch.from_numpy(spatial_partition(self.layout))
        if cfg.input_norm == "joint":
            self.input_norm = nn.BatchNorm1d(num_persons * v * in_channels)
        else:
            self.input_norm = nn.BatchNorm1d(in_channels)
        blocks, cin = [], in_channels
        for i, (cout, stride) in enumerate(zip(cfg.channels, cfg.strides, strict=True)):
            blocks.append(BLOCKS[cfg.kind](cin, cout, adjacency, cfg, stride, residual=i > 0))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        if cfg.reference_init:
            for block in self.blocks:
                block.reset_parameters()

    @property
    def out_channels(self) -> int:
        return self.config.out_channels

    def normalize_input(self, x: torch.Tensor) -> torch.Tensor:
        """The input BatchNorm (``config.input_norm``) on (N, M, T, V, C)."""
        n, m, t, v, c = x.shape
        if self.config.input_norm == "joint":
            y = self.input_norm(x.permute(0, 1, 3, 4, 2).reshape(n, m * v * c, t))
            return y.view(n, m, v, c, t).permute(0, 1, 3, 4, 2)
        return self.input_norm(x.reshape(n * m * t * v, c)).view(n, m, t, v, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_outputs(x)[-1]

    def block_outputs(self, x: torch.Tensor, blocks: tuple[int, ...] = ()
                      ) -> list[torch.Tensor]:
        """The outputs (N, M, C_b, T_b, V) of ``blocks`` (indices into the block stack,
        negative from the end), then the last block's: :meth:`forward` with the features
        of earlier depths (``distill.inner_blocks``). A family with its own stack
        (``NETWORKS``) has its last output only."""
        n, m, t, v, c = x.shape
        if not torch.jit.is_tracing() and (v != self.layout.num_joints or c != self.in_channels):
            raise SkelkdError(f"backbone for layout '{self.layout.name}' expects (N, M, T, "
                              f"{self.layout.num_joints}, {self.in_channels}) input, got "
                              f"{tuple(x.shape)}")
        # (N*M, C, T, V) in channels-last memory format, a view without a copy: the
        # graph and temporal convolutions run fastest in that order on CPU and GPU.
        if self.network is not None:
            if blocks:
                raise SkelkdError(f"backbone '{self.config.kind}' has no block stack to take "
                                  "inner blocks' features from (distill.inner_blocks)")
            outs = [self.network(x.reshape(n * m, t, v, c).permute(0, 3, 1, 2))]
        else:
            depth = len(self.blocks)
            if any(not -depth <= b < depth for b in blocks):
                raise SkelkdError(f"distill.inner_blocks {list(blocks)}: the backbone has "
                                  f"{depth} blocks (indices -{depth} to {depth - 1})")
            wanted = [b % depth for b in blocks]
            y = self.normalize_input(x).reshape(n * m, t, v, c).permute(0, 3, 1, 2)
            taken = {}
            for i, block in enumerate(self.blocks):
                y = block(y)
                if i in wanted:
                    taken[i] = y
            outs = [taken[b] for b in wanted] + [y]
        return [y.view(n, m, y.shape[1], y.shape[2], v) for y in outs]
