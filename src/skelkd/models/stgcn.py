"""ST-GCN (Yan, Xiong, Lin, AAAI 2018), as the paper uses it (Section 3.2, Fig. 4):
spatial graph convolution over the spatial-partition adjacency with learnable edge
importance, temporal convolution of kernel 9, residual connections, BatchNorm."""

from __future__ import annotations

import torch
from torch import nn

from .registry import GraphBlock, register, shortcut

# GraphConv sums over joints before its linear map when C_out >= AGGREGATE_FIRST * C_in:
# faster on the first block's 3 input channels, slower from 64 -> 128 on (both orders,
# layer by layer and whole training steps: benchmarks/graph_conv_order.py)
AGGREGATE_FIRST = 4


class GraphConv(nn.Module):
    """Spatial graph convolution over K adjacency matrices (ST-GCN, Eq. 10):
    ``out[:, :, t, w] = sum_k sum_v G_k[v, w] (W_k x[:, :, t, v] + b_k)``.

    Computed as two large matrix multiplies in channels-last order, without copies
    (``docs/performance.md``): one linear map of every joint to K x C_out channels
    (ordered subset-major, so a frame's result is a (V*K, C_out) matrix), then one
    batched multiply of each frame by the stacked graph (V, V*K). The input may be in
    either memory format; the output is an (N, C_out, T, V) tensor in channels-last
    memory format, which keeps the following temporal convolution in channels-last
    too. A narrow input (``AGGREGATE_FIRST``) is summed over joints first, then mapped.
    The parameters are those of a 1x1 convolution to K x C_out channels
    (``conv``), so checkpoints of the einsum formulation load unchanged."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, edge_importance: bool):
        super().__init__()
        self.k, self.cout = adjacency.shape[0], cout
        self.conv = nn.Conv2d(cin, cout * self.k, 1)
        self.register_buffer("adjacency", adjacency)
        self.importance = nn.Parameter(torch.ones_like(adjacency)) if edge_importance else None

    def graph(self) -> torch.Tensor:
        return self.adjacency if self.importance is None else self.adjacency * self.importance

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        k, cout = self.k, self.cout
        g = self.graph()  # (K, V, W)
        if c * AGGREGATE_FIRST <= cout:  # a narrow input (the first block): the joints'
            # sums on its few channels, then one linear map of the K sums to C_out
            a = torch.matmul(g.permute(2, 0, 1).reshape(v * k, v), x.permute(0, 2, 3, 1))
            w = self.conv.weight.view(k, cout, c).permute(0, 2, 1).reshape(k * c, cout)
            out = a.reshape(n * t, v, k * c) @ w  # a[n, t, w, k, c] = sum_v G_k[v, w] x
        else:
            z = nn.functional.linear(x.permute(0, 2, 3, 1),
                                     self.conv.weight.view(k * cout, c))
            stacked = g.permute(2, 1, 0).reshape(v, v * k)  # [w, v * K + k] = G_k[v, w]
            out = torch.bmm(stacked.expand(n * t, v, v * k), z.reshape(n * t, v * k, cout))
        if self.conv.bias is not None:  # sum_k sum_v G_k[v, w] b_k: one bias per (w, c)
            out = out + g.sum(1).t() @ self.conv.bias.view(k, cout)
        return out.view(n, t, v, cout).permute(0, 3, 1, 2)

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The textbook formulation (1x1 convolution, then an einsum over subsets and
        joints); for tests and benchmarks."""
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.k, self.cout, t, v)
        return torch.einsum("nkctv,kvw->nctw", y, self.graph())


@register("stgcn")
class StgcnBlock(GraphBlock):
    """One GCN block (Fig. 4): spatial graph convolution, BatchNorm, ReLU, temporal
    convolution (stride s), BatchNorm, plus a residual, then ReLU."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, cfg, stride: int,
                 residual: bool):
        super().__init__()
        self.gcn = self.spatial(cin, cout, adjacency, cfg)
        pad = (cfg.temporal_kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Conv2d(cout, cout, (cfg.temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(cout))
        self.residual = shortcut(cin, cout, stride) if residual else None
        self.relu = nn.ReLU(inplace=True)

    def spatial(self, cin: int, cout: int, adjacency: torch.Tensor, cfg) -> nn.Module:
        return GraphConv(cin, cout, adjacency, cfg.edge_importance)

    def reset_parameters(self) -> None:
        """The original ST-GCN code's ``weights_init``: convolution weights N(0, 0.02)
        with zero bias, BatchNorm weights N(1, 0.02) with zero bias."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
