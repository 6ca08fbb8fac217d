"""CTR-GCN (Chen, Zhang, Yuan, Li, Deng, Hu, ICCV 2021): channel-wise topology refinement
graph convolutions (one topology per channel and sample, refined from a shared learned
one) and multi-scale temporal convolutions."""

from __future__ import annotations

import torch
from torch import nn

from .registry import GraphBlock, kaiming_init, register, shortcut


class RefinedGraphConv(nn.Module):
    """CTR-GCN's graph convolution (Chen et al., ICCV 2021, Section 3.3, Eq. 4-7): one
    channel-wise topology refinement graph convolution (CTR-GC) per subset k of the
    layout's graph, summed:

    * feature transformation: ``y_k = W_k x`` (a 1x1 convolution to C_out channels);
    * channel-specific correlations: ``Q_k[c, v, w] = xi_k(tanh(psi_k(m)[:, v] -
      phi_k(m)[:, w]))[c]``, where m is the input averaged over time, psi and phi reduce
      it to R channels (R = C_in / 8, or 8 on the raw input, as CTR-GCN) and xi lifts
      R to C_out;
    * refinement: ``R_k[c, v, w] = A_k[v, w] + alpha * Q_k[c, v, w]``, with A_k learned
      and initialised from the layout's spatial partition, alpha one learned scalar
      starting at 0 (training starts from the shared topology);
    * channel-wise aggregation: ``out[c, t, w] = sum_k sum_v R_k[c, v, w] y_k[c, t, v]``;

    then BatchNorm, a residual (:func:`~skelkd.models.registry.shortcut`) and ReLU, as
    CTR-GCN's unit."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor):
        super().__init__()
        self.k, self.cout = adjacency.shape[0], cout
        self.rel = 8 if cin <= 9 else max(cin // 8, 2)
        self.topology = nn.Parameter(adjacency.clone())
        self.alpha = nn.Parameter(torch.zeros(()))
        self.psi = nn.Conv1d(cin, self.rel * self.k, 1)
        self.phi = nn.Conv1d(cin, self.rel * self.k, 1)
        self.xi = nn.Conv2d(self.rel * self.k, cout * self.k, 1, groups=self.k)
        self.transform = nn.Conv2d(cin, cout * self.k, 1)
        self.bn = nn.BatchNorm2d(cout)
        self.residual = shortcut(cin, cout)
        self.relu = nn.ReLU(inplace=True)

    def topologies(self, x: torch.Tensor) -> torch.Tensor:
        """The refined topologies R (N, K, C_out, V, V) of input x (N, C_in, T, V)."""
        n, _, _, v = x.shape
        m = x.mean(2)  # (N, C_in, V)
        a = self.psi(m).view(n, self.k * self.rel, v, 1)
        b = self.phi(m).view(n, self.k * self.rel, 1, v)
        q = self.xi(torch.tanh(a - b)).view(n, self.k, self.cout, v, v)
        return self.topology[:, None] + self.alpha * q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.transform(x).view(n, self.k, self.cout, t, v)
        out = torch.einsum("nkctv,nkcvw->nctw", y, self.topologies(x))
        return self.relu(self.bn(out) + self.residual(x))


class MultiScaleTemporalConv(nn.Module):
    """CTR-GCN's multi-scale temporal convolution (Section 3.4): branches of C/4
    channels, concatenated: one temporal convolution per dilation (kernel
    ``kernel``; CTR-GCN: 5 with dilations 1 and 2, receptive fields 5 and 9), a 3-frame
    max-pooling and a strided 1x1 convolution (which takes any remainder of C/4). Each
    branch but the last starts with a 1x1 convolution to its width, BatchNorm and ReLU;
    every branch ends with BatchNorm."""

    def __init__(self, channels: int, stride: int, kernel: int, dilations=(1, 2)):
        super().__init__()
        width = channels // (len(dilations) + 2)

        def reduce() -> list[nn.Module]:
            return [nn.Conv2d(channels, width, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]

        branches = [nn.Sequential(*reduce(), nn.Conv2d(width, width, (kernel, 1), (stride, 1),
                                                       ((kernel - 1) * d // 2, 0), (d, 1)),
                                  nn.BatchNorm2d(width)) for d in dilations]
        branches.append(nn.Sequential(*reduce(), nn.MaxPool2d((3, 1), (stride, 1), (1, 0)),
                                      nn.BatchNorm2d(width)))
        rest = channels - width * len(branches)
        branches.append(nn.Sequential(nn.Conv2d(channels, rest, 1, (stride, 1)),
                                      nn.BatchNorm2d(rest)))
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


@register("ctrgcn")
class CtrgcnBlock(GraphBlock):
    """CTR-GCN's block: :class:`RefinedGraphConv` (with its own BatchNorm, residual and
    ReLU), dropout and :class:`MultiScaleTemporalConv`, plus the block's residual."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, cfg, stride: int,
                 residual: bool):
        super().__init__()
        self.gcn = RefinedGraphConv(cin, cout, adjacency)
        self.tcn = nn.Sequential(nn.Dropout(cfg.dropout),
                                 MultiScaleTemporalConv(cout, stride, cfg.temporal_kernel))
        self.residual = shortcut(cin, cout, stride) if residual else None
        self.relu = nn.ReLU(inplace=True)

    def reset_parameters(self) -> None:
        """CTR-GCN's code: convolutions He-normal (fan-out) with zero bias, BatchNorms 1
        and 0, except the graph convolution's own BatchNorm, which starts at 1e-6 (so a
        block starts close to its residual path) and the multi-scale temporal
        convolution's BatchNorms, drawn N(1, 0.02)."""
        kaiming_init(self)
        nn.init.constant_(self.gcn.bn.weight, 1e-6)
        for m in self.tcn.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
