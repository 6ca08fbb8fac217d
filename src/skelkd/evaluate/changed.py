"""Where distillation changed a prediction: test samples that a student without
distillation gets wrong and the distilled one gets right (and the reverse), drawn in
both qualities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import ExperimentConfig
from ..data.dataset import SkeletonDataset
from ..data.transforms import occlude_instance
from ..io.pack import Pack
from ..train.api import model_pipeline
from .metrics import predict_logits


def test_probabilities(model: torch.nn.Module, pack: Pack, indices: np.ndarray,
                       cfg: ExperimentConfig, occlusion: float) -> np.ndarray:
    """(N, classes) softmax probabilities of ``model`` on ``pack[indices]`` at OP
    ``occlusion`` (the same occluded data :func:`skelkd.train.api.evaluate_at` uses)."""

    ds = SkeletonDataset(pack, model_pipeline(model, pack, cfg, occlusion=occlusion), indices)
    logits, _ = predict_logits(model, ds)
    return torch.softmax(logits, dim=1).numpy()


def changed_predictions(p_without: np.ndarray, p_with: np.ndarray,
                        labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the test indices) that distillation fixed (wrong without, right
    with) and broke (right without, wrong with), the surest fixes first."""
    right_without = p_without.argmax(1) == labels
    right_with = p_with.argmax(1) == labels
    fixed = np.flatnonzero(right_with & ~right_without)
    broke = np.flatnonzero(right_without & ~right_with)
    fixed = fixed[np.argsort(-p_with[fixed, labels[fixed]], kind="stable")]
    return fixed, broke


def draw_changed(hq: Pack, lq: Pack, index: int, predictions: dict[str, np.ndarray],
                 cfg: ExperimentConfig, occlusion: float, path: str | Path,
                 lq_label: str) -> Path:
    """One sample (``lq`` index) in high quality and in low quality as the students saw
    it at OP ``occlusion``; ``predictions`` maps a model's name to its probabilities."""
    from ..viz.skeleton import draw_frames

    s_lq = lq[index]
    s_hq = hq[hq.instance_ids.index(s_lq.instance_id)]
    kp, sc = occlude_instance(s_lq.keypoints, s_lq.scores, occlusion, cfg.input.occlusion_seed,
                              s_lq.instance_id, cfg.input.occlusion_mode)
    names = lq.class_names
    text = "; ".join(f"{name}: {names[int(p.argmax())]} ({100 * float(p.max()):.0f}%)"
                     for name, p in predictions.items())
    frames = np.linspace(0, s_hq.num_frames - 1, 4).astype(int).tolist()
    hq_label = "SIMULATED high quality" if hq.simulated else f"high quality ({hq.layout.name})"
    return draw_frames([(hq_label, s_hq.keypoints, s_hq.scores, hq.layout),
                        (f"{lq_label}, OP {occlusion:g}", kp, sc, lq.layout)], frames, path,
                       title=f"test sample {s_lq.instance_id}, true: {names[s_lq.label]}\n{text}")
