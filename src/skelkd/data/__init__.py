"""Datasets, pairing, transforms, occlusion and the low-quality estimator simulator.

The PyTorch datasets (:mod:`.dataset`) import PyTorch on first use; the transforms and
the simulator need only NumPy, so checking a configuration's input section stays fast.
"""

from importlib import import_module

from .simulate import SimulatorParams, get_preset, presets, simulate_pack, simulate_sample
from .transforms import Pipeline, occlude_joints

_DATASETS = ("PairedDataset", "SkeletonDataset", "keep_fraction")

__all__ = ["PairedDataset", "Pipeline", "SimulatorParams", "SkeletonDataset", "get_preset",
           "keep_fraction", "occlude_joints", "presets", "simulate_pack", "simulate_sample"]


def __getattr__(name: str):
    if name in _DATASETS:
        return getattr(import_module(".dataset", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
