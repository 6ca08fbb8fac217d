"""Metrics and evaluation of trained recognisers."""

from .metrics import classification_report, evaluate, predict_logits

__all__ = ["classification_report", "evaluate", "predict_logits"]
