"""The action-specific part matrix E (Section 3.3.3, Eq. 12 and 13).

With the frozen teacher, each high-quality training sample is classified five more
times, each time with one body part occluded (its joints zeroed in every frame, as the
paper's occlusion zeroes coordinates: the data pipeline's ``hidden_part``). Eq. 12:
E_{c,p} is the share of class-c samples misclassified with part p occluded. Eq. 13: a
softmax over the five parts.

``temperature`` divides the rates before the softmax (1 = the paper). The rates lie in
[0, 1], so at temperature 1 the largest weight is at most e times the smallest and E is
nearly flat; a lower temperature lets important parts stand out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import FormatError
from ..layouts import PARTS


def occlusion_error_rates(labels: np.ndarray, predicted: np.ndarray,
                          num_classes: int) -> np.ndarray:
    """Eq. 12: per class c and part p, the share of class-c samples the frozen teacher
    misclassifies with part p occluded. ``labels`` (N,) true classes; ``predicted``
    (N, 5) the teacher's class for each sample with each part occluded
    (:func:`skelkd.train.api.teacher_probe`).

    Returns (num_classes, 5) rates; a class without samples gets 0 for every part.
    """
    labels = np.asarray(labels)
    wrong = np.stack([np.bincount(labels, weights=np.asarray(predicted)[:, p] != labels,
                                  minlength=num_classes) for p in range(len(PARTS))], 1)
    return wrong / np.maximum(np.bincount(labels, minlength=num_classes), 1)[:, None]


def occlusion_probability_drops(labels: np.ndarray, full: np.ndarray, occluded: np.ndarray,
                                num_classes: int) -> np.ndarray:
    """A graded variant of Eq. 12 for a teacher that rarely errs on the samples E is
    computed from (its own training split), where the 0/1 error of Eq. 12 leaves rows of
    zeros and so flat rows of E: the mean over class-c samples of how far the teacher's
    probability of the true class falls when part p is occluded,
    ``max(0, P(y | x) - P(y | x with part p occluded))``, in [0, 1] like Eq. 12's rates.
    ``full`` (N,) is P(y | x) and ``occluded`` (N, 5) P(y | x with part p occluded); the
    rest as :func:`occlusion_error_rates`. Not the paper's E: an option studied against it.
    """
    labels = np.asarray(labels)
    fall = np.clip(np.asarray(full)[:, None] - np.asarray(occluded), 0, None)
    drop = np.stack([np.bincount(labels, weights=fall[:, p], minlength=num_classes)
                     for p in range(len(PARTS))], 1)
    return drop / np.maximum(np.bincount(labels, minlength=num_classes), 1)[:, None]


def softmax_parts(rates: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Eq. 13: softmax over the parts of each row (of rates / temperature)."""
    z = rates / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class PartMatrix:
    """E with what it was computed from; saved as JSON beside the teacher."""

    class_names: list[str]
    rates: np.ndarray  # (C, 5), Eq. 12
    temperature: float = 1.0
    drops: np.ndarray | None = None  # (C, 5), occlusion_probability_drops, when computed

    @property
    def matrix(self) -> np.ndarray:
        """(C, 5) E of Eq. 13."""
        return softmax_parts(self.rates, self.temperature)

    def with_temperature(self, temperature: float) -> PartMatrix:
        return PartMatrix(self.class_names, self.rates, temperature, self.drops)

    def from_source(self, source: str) -> PartMatrix:
        """This E with the rates of ``source``: ``error`` (Eq. 12) or ``drop``."""
        if source == "error":
            return self
        if self.drops is None:
            raise ValueError("this part matrix has no probability drops")
        return PartMatrix(self.class_names, self.drops, self.temperature, self.drops)

    def tensor(self) -> torch.Tensor:
        return torch.as_tensor(self.matrix, dtype=torch.float32)

    def save(self, path: str | Path) -> Path:
        from ..io.files import write_text_atomic

        doc = {"format": "skelkd-part-matrix", "version": 1, "parts": list(PARTS),
               "class_names": self.class_names, "temperature": self.temperature,
               "error_rates": self.rates.tolist(), "matrix": self.matrix.tolist()}
        if self.drops is not None:
            doc["probability_drops"] = self.drops.tolist()
        return write_text_atomic(path, json.dumps(doc, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> PartMatrix:
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise FormatError(path, "(file)", "a part-matrix JSON file", str(exc)) from exc
        if not isinstance(doc, dict) or doc.get("format") != "skelkd-part-matrix":
            raise FormatError(path, "format", "'skelkd-part-matrix'")
        rates = np.asarray(doc.get("error_rates"), dtype=np.float64)
        names = doc.get("class_names")
        if not isinstance(names, list) or rates.shape != (len(names), len(PARTS)):
            raise FormatError(path, "error_rates", f"a {len(names or [])} x 5 array", rates.shape)
        drops = doc.get("probability_drops")
        if drops is not None:
            drops = np.asarray(drops, dtype=np.float64)
            if drops.shape != rates.shape:
                raise FormatError(path, "probability_drops", f"a {len(names)} x 5 array",
                                  drops.shape)
        return cls(names, rates, float(doc.get("temperature", 1.0)), drops)

    def plot(self, path: str | Path, title: str = "Action-specific part matrix E") -> Path:
        """A heat map like the paper's Fig. 5 (rows: actions, columns: parts)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..viz.skeleton import save_figure

        e = self.matrix
        fig, ax = plt.subplots(figsize=(5.2, 0.32 * len(self.class_names) + 1.6))
        im = ax.imshow(e, cmap="Blues", aspect="auto")
        ax.set_xticks(range(len(PARTS)), [p.replace("_", " ") for p in PARTS], rotation=30,
                      ha="right", fontsize=8)
        ax.set_yticks(range(len(self.class_names)), self.class_names, fontsize=7)
        for c in range(e.shape[0]):
            for p in range(e.shape[1]):
                ax.text(p, c, f"{self.rates[c, p]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if e[c, p] > e.mean() + e.std() else "black")
        fig.colorbar(im, ax=ax, label=f"E (softmax, temperature {self.temperature:g})")
        ax.set_title(f"{title}\n(numbers: error rate with the part occluded, Eq. 12)",
                     fontsize=9)
        fig.tight_layout()
        return save_figure(fig, path, dpi=130)
