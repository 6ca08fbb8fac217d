"""A recogniser: backbone, global average pooling, C-way classifier (Section 3.2); and
several trained recognisers of one specification read as one (:class:`Ensemble`)."""

from __future__ import annotations

from dataclasses import asdict, replace

import torch
from torch import nn

from ..layouts import get_layout
from .backbones import Backbone, ModelSpec
from .pooling import global_features, part_features, person_mask


class Recognizer(nn.Module):
    """Skeletons (N, M, T, V, C) -> class logits, with the joint features exposed.

    ``forward`` returns logits; :meth:`features` returns logits, the global feature
    (N, C') and the part features (N, 5, C') in one pass, and with ``joints`` (a (J, V)
    matrix, rows selecting or averaging joints) the (N, J, C') features of those joints,
    and with ``blocks`` (block indices, :meth:`Backbone.block_outputs`) the part features
    (N, 5, C_b) of each of those blocks' outputs.
    """

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.layout = get_layout(spec.layout)
        self.backbone = Backbone(spec.layout, spec.in_channels, spec.num_persons, spec.backbone,
                                 spec.coord_dims, **spec.overrides)
        self.dropout = nn.Dropout(spec.dropout)
        self.fc = nn.Linear(self.backbone.out_channels, spec.num_classes)
        self.register_buffer("part_pool", torch.from_numpy(self.layout.part_matrix()),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]

    def features(self, x: torch.Tensor, joints: torch.Tensor | None = None,
                 blocks: tuple[int, ...] = ()) -> tuple[torch.Tensor, ...]:
        if blocks:
            *inner, feats = self.backbone.block_outputs(x, blocks)
        else:
            inner, feats = [], self.backbone(x)
        mask = person_mask(x, self.spec.person_pool)
        g = global_features(feats, mask)
        pool = self.part_pool.to(feats.dtype)
        parts = part_features(feats, mask, pool)
        out = (self.fc(self.dropout(g)), g, parts)
        if joints is not None:
            out = (*out, part_features(feats, mask, joints.to(feats.dtype)))
        return (*out, *(part_features(f, mask, pool) for f in inner))

    def spec_dict(self) -> dict:
        return asdict(self.spec)


class Ensemble(nn.Module):
    """``spec.members`` recognisers of one specification (seeds of one recipe) read as one
    model: its output is the log of the mean of their class probabilities, so a softmax
    of it is that mean and its argmax the ensemble's answer. For reading (``skelkd
    predict``, export), not for distillation: it has no joint features of its own."""

    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.layout = get_layout(spec.layout)
        one = replace(spec, members=1)
        self.members = nn.ModuleList(Recognizer(one) for _ in range(spec.members))

    @classmethod
    def of(cls, models: list[Recognizer]) -> Ensemble:
        """Trained recognisers of one specification as one ensemble, their weights
        copied in (a ValueError when the specifications differ)."""
        spec = models[0].spec
        if any(m.spec != spec for m in models[1:]):
            raise ValueError("an ensemble needs recognisers of one specification")
        ensemble = cls(replace(spec, members=len(models)))
        for member, m in zip(ensemble.members, models, strict=True):
            member.load_state_dict(m.state_dict())
        return ensemble

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.read_as_one(self.members, x)

    @staticmethod
    def read_as_one(models, x: torch.Tensor) -> torch.Tensor:
        """The log of the mean of ``models``' class probabilities on ``x`` (any
        recognisers of the same classes)."""
        return mean_log_probability(member_probabilities(models, x))

    def spec_dict(self) -> dict:
        return asdict(self.spec)


def member_probabilities(models, x: torch.Tensor) -> torch.Tensor:
    """Each of ``models``' class probabilities on ``x``: (members, N, classes)."""
    return torch.stack([m(x).float().softmax(dim=1) for m in models])


def mean_log_probability(probs: torch.Tensor) -> torch.Tensor:
    """The log of the members' mean class probabilities (members, N, C) -> (N, C)."""
    mean = probs.mean(0)
    return mean.clamp(min=torch.finfo(mean.dtype).tiny).log()


def mean_entropy(probs: torch.Tensor) -> torch.Tensor:
    """The members' mean entropy (nats) of their class probabilities (members, N, C) ->
    (N,); with the entropy of their mean, what tells how far they disagree
    (``skelkd.predict.clip_confidence``)."""
    return -(probs * probs.clamp(min=torch.finfo(probs.dtype).tiny).log()).sum(-1).mean(0)


def members_of(model: nn.Module) -> list[nn.Module]:
    """The networks a model reads as one: an :class:`Ensemble`'s members, else itself."""
    return list(getattr(model, "members", None) or [model])


def build_model(spec: ModelSpec) -> Recognizer | Ensemble:
    """The network a specification describes: one recogniser, or an :class:`Ensemble`
    when ``spec.members`` > 1."""
    if spec.members < 1:
        raise ValueError(f"ModelSpec.members must be at least 1, got {spec.members}")
    return Recognizer(spec) if spec.members == 1 else Ensemble(spec)
