"""Graph-convolution backbones with one interface: (N, M, T, V, C) skeletons in, joint
features (N, M, C', T', V) out, built on the layout's graph.

* ST-GCN (Yan, Xiong, Lin, AAAI 2018), as the paper uses it (Section 3.2, Fig. 4):
  spatial graph convolution over the spatial-partition adjacency with learnable edge
  importance, temporal convolution of kernel 9, residual connections, BatchNorm.
* The joint stream of 2s-AGCN (Js-AGCN; Shi, Zhang, Cheng, Lu, CVPR 2019): the same
  block with an adaptive graph: the fixed adjacency A plus a learned one B plus a
  data-dependent one C (embedded-Gaussian similarity of joints, per sample).

Counting blocks: the paper's ST-GCN has "nine GCN blocks"; the original ST-GCN has ten
(four at 64 channels). ``stgcn-paper`` has nine: three at 64 channels (the first takes
the input and has no residual), three at 128 (the first with temporal stride 2) and
three at 256 (the first with stride 2). ``agcn-paper`` follows 2s-AGCN's ten blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ..errors import SkelkdError
from ..layouts import Layout, get_layout
from ..layouts.graph import spatial_partition


@dataclass(frozen=True)
class BackboneConfig:
    """Architecture of a backbone.

    Attributes:
        kind: ``"stgcn"`` or ``"agcn"``.
        channels: output channels of each block.
        strides: temporal stride of each block (same length as ``channels``).
        temporal_kernel: kernel size of the temporal convolutions (9 in the paper).
        dropout: dropout inside each block (after the spatial convolution).
        edge_importance: ST-GCN's learnable per-edge weights.
        input_norm: BatchNorm of the input: ``"channel"`` (one per input channel, shared
            by joints and persons; the default) or ``"joint"`` (one per person, joint
            and channel, as in the original ST-GCN). Per-joint input BatchNorm breaks on
            a joint whose channel is constant in training (e.g. a score that is always
            1): zeroing it at test time is then blown up by a near-zero variance.
    """

    kind: str = "stgcn"
    channels: tuple[int, ...] = (64, 64, 64, 128, 128, 128, 256, 256, 256)
    strides: tuple[int, ...] = (1, 1, 1, 2, 1, 1, 2, 1, 1)
    temporal_kernel: int = 9
    dropout: float = 0.0
    edge_importance: bool = True
    input_norm: str = "channel"

    def __post_init__(self) -> None:
        if self.kind not in ("stgcn", "agcn"):
            raise SkelkdError(f"backbone kind must be 'stgcn' or 'agcn', not {self.kind!r}")
        if len(self.channels) != len(self.strides) or not self.channels:
            raise SkelkdError("backbone: channels and strides need the same, non-zero length")
        if self.input_norm not in ("channel", "joint"):
            raise SkelkdError(f"input_norm must be 'channel' or 'joint', not {self.input_norm!r}")
        if self.temporal_kernel % 2 == 0:
            raise SkelkdError("temporal_kernel must be odd")

    @property
    def out_channels(self) -> int:
        return self.channels[-1]


_SMALL = {"channels": (32, 32, 64, 64, 128, 128), "strides": (1, 1, 2, 1, 2, 1)}
BACKBONES: dict[str, BackboneConfig] = {
    "stgcn-paper": BackboneConfig("stgcn"),
    "stgcn-small": BackboneConfig("stgcn", **_SMALL),
    "stgcn-tiny": BackboneConfig("stgcn", channels=(16, 16, 32, 32, 64, 64),
                                 strides=_SMALL["strides"]),
    "agcn-paper": BackboneConfig("agcn", channels=(64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
                                 strides=(1, 1, 1, 1, 2, 1, 1, 2, 1, 1)),
    "agcn-small": BackboneConfig("agcn", **_SMALL),
}
"""Named configurations: the paper's (T = 300 input) and small ones that train in minutes
on two CPU cores (T = 32 to 64 input); ``stgcn-tiny`` (half the small one's width, about
2.3 times its training speed on 2 CPU cores) is what ``skelkd reproduce`` uses to fit
every run of the paper's tables in a few CPU hours."""


def backbone_config(name: str | BackboneConfig, **overrides) -> BackboneConfig:
    if isinstance(name, BackboneConfig):
        cfg = name
    elif name in BACKBONES:
        cfg = BACKBONES[name]
    else:
        raise SkelkdError(f"unknown backbone '{name}'; known: {', '.join(BACKBONES)}")
    for key in ("channels", "strides"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    return replace(cfg, **overrides) if overrides else cfg


class GraphConv(nn.Module):
    """Spatial graph convolution over K adjacency matrices (ST-GCN, Eq. 10):
    ``out[:, :, t, w] = sum_k sum_v G_k[v, w] (W_k x[:, :, t, v] + b_k)``.

    Computed as two large matrix multiplies in channels-last order, without copies
    (``docs/performance.md``): one linear map of every joint to K x C_out channels
    (ordered subset-major, so a frame's result is a (V*K, C_out) matrix), then one
    batched multiply of each frame by the stacked graph (V, V*K). The input may be in
    either memory format; the output is an (N, C_out, T, V) tensor in channels-last
    memory format, which keeps the following temporal convolution in channels-last
    too. The parameters are those of a 1x1 convolution to K x C_out channels
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
        z = nn.functional.linear(x.permute(0, 2, 3, 1), self.conv.weight.view(k * cout, c))
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


class Block(nn.Module):
    """One GCN block (Fig. 4): spatial graph convolution, BatchNorm, ReLU, temporal
    convolution (stride s), BatchNorm, plus a residual, then ReLU."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, cfg: BackboneConfig,
                 stride: int, residual: bool):
        super().__init__()
        if cfg.kind == "stgcn":
            self.gcn = GraphConv(cin, cout, adjacency, cfg.edge_importance)
        else:
            self.gcn = AdaptiveGraphConv(cin, cout, adjacency)
        pad = (cfg.temporal_kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
            nn.Conv2d(cout, cout, (cfg.temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(cout))
        if not residual:
            self.residual = None
        elif cin == cout and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)),
                                          nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


class Backbone(nn.Module):
    """(N, M, T, V, C) -> joint features (N, M, C', T', V) for one layout."""

    def __init__(self, layout: str | Layout, in_channels: int, num_persons: int = 1,
                 config: str | BackboneConfig = "stgcn-small", **overrides):
        super().__init__()
        self.layout = get_layout(layout)
        self.config = backbone_config(config, **overrides)
        self.in_channels = in_channels
        cfg, v = self.config, self.layout.num_joints
        adjacency = torch.from_numpy(spatial_partition(self.layout))
        if cfg.input_norm == "joint":
            self.input_norm = nn.BatchNorm1d(num_persons * v * in_channels)
        else:
            self.input_norm = nn.BatchNorm1d(in_channels)
        blocks, cin = [], in_channels
        for i, (cout, stride) in enumerate(zip(cfg.channels, cfg.strides, strict=True)):
            blocks.append(Block(cin, cout, adjacency, cfg, stride, residual=i > 0))
            cin = cout
        self.blocks = nn.ModuleList(blocks)

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
        n, m, t, v, c = x.shape
        if not torch.jit.is_tracing() and (v != self.layout.num_joints or c != self.in_channels):
            raise SkelkdError(f"backbone for layout '{self.layout.name}' expects (N, M, T, "
                              f"{self.layout.num_joints}, {self.in_channels}) input, got "
                              f"{tuple(x.shape)}")
        # (N*M, C, T, V) in channels-last memory format, a view without a copy: the
        # graph and temporal convolutions run fastest in that order on CPU and GPU.
        y = self.normalize_input(x).reshape(n * m, t, v, c).permute(0, 3, 1, 2)
        for block in self.blocks:
            y = block(y)
        _, c2, t2, _ = y.shape
        return y.view(n, m, c2, t2, v)


@dataclass
class ModelSpec:
    """Everything needed to rebuild a recogniser (saved in checkpoints)."""

    layout: str
    in_channels: int
    num_classes: int
    num_persons: int = 1
    backbone: str = "stgcn-small"
    overrides: dict = field(default_factory=dict)
    dropout: float = 0.0
    person_pool: str = "present"
    class_names: list = field(default_factory=list)
    coord_dims: int = 0  # 2 or 3; in_channels - coord_dims is the score channel (0 or 1)
    align_view: bool = False  # 3D input rotated to the body's axes (InputConfig.align_view)
