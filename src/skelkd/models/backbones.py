"""Graph-convolution backbones with one interface: (N, M, T, V, C) skeletons in, joint
features (N, M, C', T', V) out, built on the layout's graph. One module per family,
each registering its block (:mod:`skelkd.models.registry`):

* ``stgcn`` (:mod:`.stgcn`): ST-GCN (Yan, Xiong, Lin, AAAI 2018), as the paper uses it;
* ``agcn`` (:mod:`.agcn`): the joint stream of 2s-AGCN (Shi et al., CVPR 2019);
* ``ctrgcn`` (:mod:`.ctrgcn`): CTR-GCN (Chen et al., ICCV 2021).

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
from . import agcn, ctrgcn, stgcn  # noqa: F401 - each registers its family's block
from .registry import BLOCKS

KINDS = tuple(BLOCKS)
INITS = ("auto", "pytorch", "reference")


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
        init: the starting weights: ``"reference"``, the family's published code's
            (its block's ``reset_parameters``); ``"pytorch"``, PyTorch's defaults;
            ``"auto"`` (the default): the reference for ``agcn`` and ``ctrgcn``,
            PyTorch's for ``stgcn``, the initialisation every record of the
            reproduction was trained with (docs/design.md, item 53).
    """

    kind: str = "stgcn"
    channels: tuple[int, ...] = (64, 64, 64, 128, 128, 128, 256, 256, 256)
    strides: tuple[int, ...] = (1, 1, 1, 2, 1, 1, 2, 1, 1)
    temporal_kernel: int = 9
    dropout: float = 0.0
    edge_importance: bool = True
    input_norm: str = "channel"
    init: str = "auto"

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
        if self.init not in INITS:
            raise SkelkdError(f"init must be one of {', '.join(map(repr, INITS))}, not "
                              f"{self.init!r}")

    @property
    def reference_init(self) -> bool:
        """Whether the blocks start from their family's reference initialisation."""
        return self.init == "reference" or (self.init == "auto" and self.kind != "stgcn")

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
