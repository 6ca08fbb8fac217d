"""Datasets, pairing, transforms, occlusion and the low-quality estimator simulator."""

from .dataset import PairedDataset, SkeletonDataset, keep_fraction
from .simulate import SimulatorParams, get_preset, presets, simulate_pack, simulate_sample
from .transforms import Pipeline, occlude_joints

__all__ = ["PairedDataset", "Pipeline", "SimulatorParams", "SkeletonDataset", "get_preset",
           "keep_fraction", "occlude_joints", "presets", "simulate_pack", "simulate_sample"]
