"""Backbones (one module per family: ST-GCN, Js-AGCN, CTR-GCN, EfficientGCN, PR-GCN;
``registry`` maps a family to its block or network), pooling over persons, time and
parts, the recogniser.

The configurations and the specification (:mod:`.spec`) load without PyTorch; the
networks (:class:`Backbone`, :class:`Recognizer`, the pooling) import it on first use,
so reading and checking a configuration stays fast.
"""

from importlib import import_module

from .spec import BACKBONES, BackboneConfig, ModelSpec, backbone_config

_NETWORKS = {"Backbone": ".backbones", "Recognizer": ".recognizer", "Ensemble": ".recognizer",
             "build_model": ".recognizer",
             "global_features": ".pooling", "part_features": ".pooling",
             "part_presence": ".pooling", "person_mask": ".pooling"}

__all__ = ["BACKBONES", "Backbone", "BackboneConfig", "Ensemble", "ModelSpec", "Recognizer",
           "backbone_config", "build_model", "global_features", "part_features", "part_presence",
           "person_mask"]


def __getattr__(name: str):
    if name in _NETWORKS:
        return getattr(import_module(_NETWORKS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
