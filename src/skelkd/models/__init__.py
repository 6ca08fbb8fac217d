"""Backbones (one module per family: ST-GCN, Js-AGCN, CTR-GCN; ``registry`` maps a family
to its block), pooling over persons, time and parts, the recogniser."""

from .backbones import BACKBONES, Backbone, BackboneConfig, ModelSpec, backbone_config
from .pooling import global_features, part_features, person_mask
from .recognizer import Recognizer

__all__ = ["BACKBONES", "Backbone", "BackboneConfig", "ModelSpec", "Recognizer",
           "backbone_config", "global_features", "part_features", "person_mask"]
