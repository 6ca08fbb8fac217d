"""Graph-convolution backbones with one interface: (N, M, T, V, C) skeletons in, joint
features (N, M, C', T', V) out, built on the layout's graph.

* ST-GCN (Yan, Xiong, Lin, AAAI 2018), as the paper uses it (Section 3.2, Fig. 4):
  spatial graph convolution over the spatial-partition adjacency with learnable edge
  importance, temporal convolution of kernel 9, residual connections, BatchNorm.
* The joint stream of 2s-AGCN (Js-AGCN; Shi, Zhang, Cheng, Lu, CVPR 2019): the same
  block with an adaptive graph: the fixed adjacency A plus a learned one B plus a
  data-dependent one C (embedded-Gaussian similarity of joints, per sample).
* CTR-GCN (Chen, Zhang, Yuan, Li, Deng, Hu, ICCV 2021): channel-wise topology
  refinement graph convolutions (one topology per channel and sample, refined from a
  shared learned one) and multi-scale temporal convolutions.

Counting blocks: the paper's ST-GCN has "nine GCN blocks"; the original ST-GCN has ten
(four at 64 channels). ``stgcn-paper`` has nine: three at 64 channels (the first takes
the input and has no residual), three at 128 (the first with temporal stride 2) and
three at 256 (the first with stride 2). ``agcn-paper`` and ``ctrgcn-paper`` follow
2s-AGCN's and CTR-GCN's ten blocks (four at 64 channels).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ..errors import SkelkdError
from ..layouts import Layout, get_layout
from ..layouts.graph import spatial_partition

KINDS = ("stgcn", "agcn", "ctrgcn")


@dataclass(frozen=True)
class BackboneConfig:
    """Architecture of a backbone.

    Attributes:
        kind: ``"stgcn"``, ``"agcn"`` or ``"ctrgcn"``.
        channels: output channels of each block.
        strides: temporal stride of each block (same length as ``channels``).
        temporal_kernel: kernel size of the temporal convolutions (9 in the paper; in
            ``ctrgcn``, of each dilated branch of the multi-scale one: 5 in CTR-GCN).
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
        if self.kind not in KINDS:
            raise SkelkdError(f"backbone kind must be one of {', '.join(map(repr, KINDS))}, "
                              f"not {self.kind!r}")
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
_TINY = {"channels": (16, 16, 32, 32, 64, 64), "strides": _SMALL["strides"]}
_TEN = {"channels": (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        "strides": (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)}
BACKBONES: dict[str, BackboneConfig] = {
    "stgcn-paper": BackboneConfig("stgcn"),
    "stgcn-small": BackboneConfig("stgcn", **_SMALL),
    "stgcn-tiny": BackboneConfig("stgcn", **_TINY),
    "agcn-paper": BackboneConfig("agcn", **_TEN),
    "agcn-small": BackboneConfig("agcn", **_SMALL),
    "ctrgcn-paper": BackboneConfig("ctrgcn", **_TEN, temporal_kernel=5),
    "ctrgcn-small": BackboneConfig("ctrgcn", **_SMALL, temporal_kernel=5),
    "ctrgcn-tiny": BackboneConfig("ctrgcn", **_TINY, temporal_kernel=5),
}
"""Named configurations: the paper's (T = 300 input) and small ones that train in minutes
on two CPU cores (T = 32 to 64 input); ``stgcn-tiny`` (half the small one's width, so
several times faster: docs/performance.md) is what ``skelkd reproduce`` uses to fit
every run of the paper's tables on a CPU."""


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


def _shortcut(cin: int, cout: int, stride: int = 1) -> nn.Module:
    """A residual path: the identity, or a strided 1x1 convolution and BatchNorm where
    the width or the frame rate changes."""
    if cin == cout and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))


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

    then BatchNorm, a residual (:func:`_shortcut`) and ReLU, as CTR-GCN's unit."""

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
        self.residual = _shortcut(cin, cout)
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


class Block(nn.Module):
    """One GCN block (Fig. 4): spatial graph convolution, BatchNorm, ReLU, temporal
    convolution (stride s), BatchNorm, plus a residual, then ReLU. In ``ctrgcn``, the
    spatial part is :class:`RefinedGraphConv` (with its own BatchNorm, residual and ReLU)
    and the temporal one :class:`MultiScaleTemporalConv`."""

    def __init__(self, cin: int, cout: int, adjacency: torch.Tensor, cfg: BackboneConfig,
                 stride: int, residual: bool):
        super().__init__()
        if cfg.kind == "ctrgcn":
            self.gcn = RefinedGraphConv(cin, cout, adjacency)
            self.tcn = nn.Sequential(nn.Dropout(cfg.dropout),
                                     MultiScaleTemporalConv(cout, stride, cfg.temporal_kernel))
        else:
            if cfg.kind == "stgcn":
                self.gcn = GraphConv(cin, cout, adjacency, cfg.edge_importance)
            else:
                self.gcn = AdaptiveGraphConv(cin, cout, adjacency)
            pad = (cfg.temporal_kernel - 1) // 2
            self.tcn = nn.Sequential(
                nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.Dropout(cfg.dropout),
                nn.Conv2d(cout, cout, (cfg.temporal_kernel, 1), (stride, 1), (pad, 0)),
                nn.BatchNorm2d(cout))
        self.residual = _shortcut(cin, cout, stride) if residual else None
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
    normalization: str = "torso"  # InputConfig.normalization
    # the median duration of its training clips in seconds (0: not known, e.g. an older
    # checkpoint): what one input of num_frames frames covers (skelkd.predict.predict_clip)
    clip_seconds: float = 0.0
    num_frames: int = 0  # the T it was trained with (0: not known; then the run's config)
    # skelkd.predict.predict_clip answers "no known action" below this top probability
    # (0: never; set by scripts/ship_model.py from held-out data)
    reject_below: float = 0.0

    def pipeline_options(self, coord_dims: int) -> dict:
        """The :class:`~skelkd.data.transforms.Pipeline` options that feed this model
        ``coord_dims``-D joints as it was trained: score channel, view alignment and
        normalisation (for a teacher inside a student's run, ``skelkd predict``)."""
        return {"with_score": self.in_channels > coord_dims,
                "align_view": self.align_view and coord_dims == 3,
                "normalization": self.normalization}
