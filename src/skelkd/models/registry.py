"""The backbone families' registry: a family (``BackboneConfig.kind``) names its block
class, and everything else (the stack of blocks, the input BatchNorm, the pooling) is
shared by :class:`skelkd.models.backbones.Backbone`. Adding a family is one module with
a block class decorated by :func:`register`, imported by ``backbones.py``, and its name
in :data:`skelkd.models.spec.KINDS`.

A block is built as ``Block(cin, cout, adjacency, cfg, stride, residual)`` and maps
(N, C_in, T, V) to (N, C_out, T / stride, V); its ``reset_parameters(cfg)`` sets the
family's reference initialisation where ``cfg.init`` asks for it.
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import KINDS

BLOCKS: dict[str, type[GraphBlock]] = {}
"""Family name -> its block class."""

NETWORKS: dict[str, type[nn.Module]] = {}
"""Family name -> its network, for a family whose stack is not one block repeated
(EfficientGCN's input branches and fusion): built as ``Network(layout, in_channels,
coord_dims, cfg)``, mapping (N, C, T, V) to (N, C', T', V), with ``reset_parameters()``."""


class GraphBlock(nn.Module):
    """What every family's block shares: a spatial part ``gcn``, a temporal part ``tcn``,
    an optional residual path and a ReLU, ``relu(tcn(gcn(x)) + residual(x))``."""

    gcn: nn.Module
    tcn: nn.Module
    residual: nn.Module | None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)

    def reset_parameters(self) -> None:
        """The family's reference initialisation (its published code's)."""
        raise NotImplementedError


def kaiming_init(module: nn.Module, bn_weight: float = 1.0) -> None:
    """2s-AGCN's and CTR-GCN's ``conv_init`` and ``bn_init`` on every submodule:
    convolutions He-normal (fan-out) with zero bias, BatchNorms weight ``bn_weight`` and
    zero bias."""
    for m in module.modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.constant_(m.weight, bn_weight)
            nn.init.zeros_(m.bias)


def register(kind: str, table: dict | None = None):
    """Class decorator: ``kind``'s block (``kind`` one of :data:`.spec.KINDS`, the list a
    configuration is checked against without importing the networks)."""
    if kind not in KINDS:
        raise ValueError(f"backbone family {kind!r} is not in skelkd.models.spec.KINDS")

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        (BLOCKS if table is None else table)[kind] = cls
        return cls
    return add


def register_network(kind: str):
    """Class decorator: ``kind``'s whole network (:data:`NETWORKS`)."""
    return register(kind, NETWORKS)


def shortcut(cin: int, cout: int, stride: int = 1) -> nn.Module:
    """A residual path: the identity, or a strided 1x1 convolution and BatchNorm where
    the width or the frame rate changes."""
    if cin == cout and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))


