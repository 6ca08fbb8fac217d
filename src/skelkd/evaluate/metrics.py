"""Top-1 / top-5 accuracy, per-class accuracy and the confusion matrix (torchmetrics)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import DataLoader, Dataset
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_confusion_matrix,
)


@torch.no_grad()
def predict_logits(model: torch.nn.Module, dataset: Dataset, batch_size: int = 64,
                   key: str = "x", num_workers: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, num_classes) logits and (N,) labels of ``model`` (in eval mode) on a dataset."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, labels = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, num_workers=num_workers):
        logits.append(model(batch[key].to(device)).float().cpu())
        labels.append(torch.as_tensor(batch["label"]))
    model.train(was_training)
    return torch.cat(logits), torch.cat(labels)


def classification_report(logits: torch.Tensor, labels: torch.Tensor,
                          class_names: Sequence[str]) -> dict:
    """Top-1, top-5 (micro) accuracy in percent, per-class top-1 and the confusion matrix
    (rows: true class, columns: predicted)."""
    c = len(class_names)
    out = {"samples": int(len(labels))}
    for k in (1, 5):
        kk = min(k, c)
        out[f"top{k}"] = 100 * float(multiclass_accuracy(logits, labels, c, top_k=kk,
                                                         average="micro"))
    per_class = multiclass_accuracy(logits, labels, c, average="none")
    out["per_class"] = {name: 100 * float(a) for name, a in zip(class_names, per_class,
                                                               strict=True)}
    out["confusion"] = multiclass_confusion_matrix(logits.argmax(1), labels, c).tolist()
    return out


def evaluate(model: torch.nn.Module, dataset: Dataset, class_names: Sequence[str],
             batch_size: int = 64, key: str = "x") -> dict:
    """:func:`classification_report` of ``model`` on ``dataset``."""
    return classification_report(*predict_logits(model, dataset, batch_size, key), class_names)
