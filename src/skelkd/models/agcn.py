"""The joint stream of 2s-AGCN (Js-AGCN; Shi, Zhang, Cheng, Lu, CVPR 2019): ST-GCN's block
with an adaptive graph: the fixed adjacency A plus a learned one B plus a data-dependent
one C (embedded-Gaussian similarity of joints, per sample)."""

from __future__ import annotations

import torch
from torch import nn

from .registry import kaiming_init, register
from .stgcn import StgcnBlock


class AdaptiveGraphConv(nn.Module):
    """2s-AGCN's adaptive graph convolution: per subset k, the graph A_k + B_k + C_k,
    with A fixed, B learned (initialised near 0) and C_k = softmax over joints of the
    embedded similarity theta(x)^T phi(x) of each sample."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, embed: int = 4):
        super().__init__()
        self.k, self.cout = adjacency.shape[0], cout
        inter = max(cout // embed, 1)
        self.register_buffer("adjacency", adjacency)
        self.learned = nn.Parameter(torch.full_like(adjacency, 1e-6))
        self.theta = nn.Conv2d(cin, inter * self.k, 1)
        self.phi = nn.Conv2d(cin, inter * self.k, 1)
        self.conv = nn.Conv2d(cin, cout * self.k, 1)
        self.inter = inter

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        a = self.theta(x).reshape(n, self.k, self.inter * t, v)
        b = self.phi(x).reshape(n, self.k, self.inter * t, v)
        sim = torch.softmax(torch.einsum("nkcv,nkcw->nkvw", a, b) / (self.inter * t), dim=-2)
        graph = self.adjacency + self.learned + sim  # (n, k, v, w)
        y = self.conv(x).view(n, self.k, self.cout, t, v)
        return torch.einsum("nkctv,nkvw->nctw", y, graph)


@register("agcn")
class AgcnBlock(StgcnBlock):
    """ST-GCN's block with :class:`AdaptiveGraphConv` as its spatial part."""

    def spatial(self, cin: int, cout: int, adjacency: torch.Tensor, cfg) -> nn.Module:
        return AdaptiveGraphConv(cin, cout, adjacency)

    def reset_parameters(self) -> None:
        """2s-AGCN's code: convolutions He-normal (fan-out), BatchNorms 1 and 0 (its
        per-subset branch scaling and its unit's 1e-6 BatchNorm belong to a block laid
        out differently from this one, and are not copied)."""
        kaiming_init(self)
