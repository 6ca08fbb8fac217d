"""Training: Lightning modules for teacher and students, batch construction, and the
Python API that runs them."""

from ..config import DistillConfig, OptimConfig
from .api import (
    compute_part_matrix,
    evaluate_at,
    load_module,
    train_recognizer,
    train_student,
)
from .modules import DISTILL_MODES, RecognizerModule, StudentModule
from .sampler import ClassAwareBatchSampler

__all__ = ["DISTILL_MODES", "ClassAwareBatchSampler", "DistillConfig", "OptimConfig",
           "RecognizerModule", "StudentModule", "compute_part_matrix",
           "evaluate_at", "load_module", "train_recognizer", "train_student"]
