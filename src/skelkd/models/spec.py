"""What a model is, as data, without PyTorch: the backbone families' named
configurations (:class:`BackboneConfig`, :data:`BACKBONES`) and the specification a
checkpoint rebuilds a recogniser from (:class:`ModelSpec`). Loading and checking a
configuration (``skelkd config show``) reads these without importing PyTorch;
:mod:`.backbones` builds the networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import SkelkdError

KINDS = ("stgcn", "agcn", "ctrgcn", "efficientgcn", "prgcn")
"""The backbone families; each has its block (or, for a family with its own stack such
as EfficientGCN's input branches, its network) registered in :mod:`.registry` (a test
checks that the two agree)."""
INITS = ("auto", "pytorch", "reference")


@dataclass(frozen=True)
class BackboneConfig:
    """Architecture of a backbone.

    Attributes:
        kind: ``"stgcn"``, ``"agcn"``, ``"ctrgcn"``, ``"efficientgcn"`` or ``"prgcn"``
            (PR-GCN: a pose refinement and a position and a motion branch of ST-GCN
            blocks, :mod:`skelkd.models.prgcn`).
        channels: output channels of each block (``efficientgcn``: of each stage).
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
        depths: ``efficientgcn`` only: temporal layers of each stage (same length as
            ``channels``; a stage is a spatial graph layer, its temporal layers and an
            attention module).
        branch_stages: ``efficientgcn`` only: the stages of each input branch (joints,
            velocities, bones) before the branches are concatenated; the rest run on
            the fused features.
        stem_channels: ``efficientgcn`` only: the width of each branch's stem.
    """

    kind: str = "stgcn"
    channels: tuple[int, ...] = (64, 64, 64, 128, 128, 128, 256, 256, 256)
    strides: tuple[int, ...] = (1, 1, 1, 2, 1, 1, 2, 1, 1)
    temporal_kernel: int = 9
    dropout: float = 0.0
    edge_importance: bool = True
    input_norm: str = "channel"
    init: str = "auto"
    depths: tuple[int, ...] = ()
    branch_stages: int = 0
    stem_channels: int = 0

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
        if self.kind == "efficientgcn":
            if len(self.depths) != len(self.channels) or min(self.depths) < 0:
                raise SkelkdError("efficientgcn: depths needs one whole number >= 0 per "
                                  f"stage ({len(self.channels)}), got {list(self.depths)}")
            if not 0 < self.branch_stages < len(self.channels) or self.stem_channels < 1:
                raise SkelkdError("efficientgcn: expected 0 < branch_stages < the number of "
                                  f"stages ({len(self.channels)}) and stem_channels >= 1, got "
                                  f"{self.branch_stages} and {self.stem_channels}")

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


def efficientgcn_scaled(phi: float, base: dict | None = None) -> dict:
    """EfficientGCN's compound scaling (Song et al., TPAMI 2022, Sec. 4.3): the stages'
    widths times 1.2 ** phi, rounded to a multiple of 16 (at least 16), and their
    depths times 1.35 ** phi, rounded (Python's rounding: B0's half-layers round to
    none, so its input branches' stages are a graph layer and an attention module);
    ``base``: B0's stages (48, 24, 64, 128 channels; strides 1, 1, 2, 2; depths 0.5,
    0.5, 1, 1; two stages per input branch; a 64-channel stem; temporal kernel 5)."""
    base = base or {"channels": (48, 24, 64, 128), "strides": (1, 1, 2, 2),
                    "depths": (0.5, 0.5, 1, 1), "branch_stages": 2, "stem_channels": 64}
    width, depth = 1.2 ** phi, 1.35 ** phi
    return {**base, "channels": tuple(max(int(round(c * width / 16)) * 16, 16)
                                      for c in base["channels"]),
            "depths": tuple(int(round(d * depth)) for d in base["depths"]),
            "temporal_kernel": 5}


BACKBONES: dict[str, BackboneConfig] = {
    "stgcn-paper": BackboneConfig("stgcn"),
    "stgcn-small": BackboneConfig("stgcn", **_SMALL),
    "stgcn-tiny": BackboneConfig("stgcn", **_TINY),
    "agcn-paper": BackboneConfig("agcn", **_TEN),
    "agcn-small": BackboneConfig("agcn", **_SMALL),
    "agcn-tiny": BackboneConfig("agcn", **_TINY),
    "ctrgcn-paper": BackboneConfig("ctrgcn", **_TEN, temporal_kernel=5),
    "ctrgcn-small": BackboneConfig("ctrgcn", **_SMALL, temporal_kernel=5),
    "ctrgcn-tiny": BackboneConfig("ctrgcn", **_TINY, temporal_kernel=5),
    "efficientgcn-b0": BackboneConfig("efficientgcn", **efficientgcn_scaled(0)),
    "efficientgcn-b4": BackboneConfig("efficientgcn", **efficientgcn_scaled(4)),
    "efficientgcn-tiny": BackboneConfig(
        "efficientgcn", **efficientgcn_scaled(0, {"channels": (16, 16, 32, 64),
                                                  "strides": (1, 1, 2, 2),
                                                  "depths": (1, 1, 1, 1),
                                                  "branch_stages": 2, "stem_channels": 16})),
    # PR-GCN at the tiny width, its temporal strides earlier (its "reducing the temporal
    # resolution as early as possible")
    "prgcn-tiny": BackboneConfig("prgcn", channels=_TINY["channels"],
                                 strides=(1, 2, 1, 2, 1, 1)),
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
    for key in ("channels", "strides", "depths"):
        if key in overrides:
            overrides[key] = tuple(overrides[key])
    return replace(cfg, **overrides) if overrides else cfg


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
    # skelkd.predict.predict_clip answers "no known action" below this confidence
    # (predict.clip_confidence; 0: never; set by scripts/ship_model.py from held-out data)
    reject_below: float = 0.0
    # trained recognisers of this one specification read as one (a seed ensemble:
    # models.recognizer.Ensemble, the mean of their class probabilities); 1: one model
    members: int = 1

    def pipeline_options(self, coord_dims: int) -> dict:
        """The :class:`~skelkd.data.transforms.Pipeline` options that feed this model
        ``coord_dims``-D joints as it was trained: score channel, view alignment and
        normalisation (for a teacher inside a student's run, ``skelkd predict``)."""
        return {"with_score": self.in_channels > coord_dims,
                "align_view": self.align_view and coord_dims == 3,
                "normalization": self.normalization}
