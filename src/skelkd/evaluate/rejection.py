"""How well "no known action" works: the clip confidences a threshold reads, the threshold
that keeps answering a share of held-out clips of known actions, and how many clips of
unknown actions it still answers. Shared by the shipping script (which calibrates the
shipped model's threshold) and the experiments that choose the confidence and the
training recipe (docs/unknown_action_score.md, docs/outlier_exposure.md)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from scipy.stats import mannwhitneyu

from ..io.pack import Sample


def clip_readings(model: torch.nn.Module, clips: Iterable[Sample],
                  num_frames: int | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's confidence (``skelkd.predict.clip_confidence``), read as
    ``skelkd.predict.predict_clip`` reads a video (``options``: its others, e.g.
    ``mirror``), and whether its top class is its label."""
    from ..predict import predict_clip

    conf, right = [], []
    for c in clips:
        r = predict_clip(model, c, num_frames, top=1, **options)
        conf.append(r["confidence"])
        right.append(r["top"][0]["index"] == c.label)
    return np.asarray(conf), np.asarray(right)


def coverage_threshold(known: np.ndarray, coverage: float) -> float:
    """The confidence threshold that keeps answering ``coverage`` of the known clips."""
    return float(np.quantile(known, 1 - coverage))


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Probability that a known clip's confidence is above an unknown one's (ties count
    half): the Mann-Whitney U statistic over the number of pairs."""
    return float(mannwhitneyu(known, unknown).statistic / (len(known) * len(unknown)))
