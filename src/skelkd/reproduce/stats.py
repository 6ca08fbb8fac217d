"""Paired statistics over seeds: two arms trained with the same seeds (the same data
draw, occlusion, initialisation and batch order within a seed), compared seed by seed.

For seeds i = 1..n with accuracies a_i (baseline) and b_i (the arm claimed better), the
paired differences d_i = b_i - a_i have mean d̄ and sample standard deviation s_d
(n - 1 in the denominator); the 95% confidence interval of the mean gain is
d̄ ± t_{0.975, n-1} s_d / √n and the two-sided paired t-test's statistic is
t = d̄ / (s_d / √n) with n - 1 degrees of freedom.

Verdicts: "held" when p < 0.05 and the gain has the claimed sign (positive);
"reversed" when the whole interval lies below zero; "not shown" otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
CONVERGED_POINTS = 0.5  # a run whose last quarter added less validation accuracy converged


@dataclass(frozen=True)
class Paired:
    """The comparison of arm ``b`` against arm ``a`` over the same seeds."""

    a: tuple[float, ...]
    b: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.a)

    @property
    def diffs(self) -> np.ndarray:
        return np.asarray(self.b, dtype=float) - np.asarray(self.a, dtype=float)

    @property
    def gain(self) -> float:
        return float(self.diffs.mean()) if self.n else float("nan")

    @property
    def sd(self) -> float:
        return float(self.diffs.std(ddof=1)) if self.n > 1 else float("nan")

    def interval(self, level: float = 1 - ALPHA) -> tuple[float, float]:
        """The ``level`` confidence interval of the mean gain (t, n - 1 df)."""

        if self.n < 2:
            return float("nan"), float("nan")
        half = stats.t.ppf(0.5 + level / 2, self.n - 1) * self.sd / math.sqrt(self.n)
        return self.gain - half, self.gain + half

    @property
    def p(self) -> float:
        """Two-sided paired t-test p-value (1 when every difference is the same zero;
        0 when every difference is the same non-zero value)."""

        if self.n < 2:
            return float("nan")
        if self.sd == 0:
            return 1.0 if self.gain == 0 else 0.0
        t = self.gain / (self.sd / math.sqrt(self.n))
        return float(2 * stats.t.sf(abs(t), self.n - 1))

    @property
    def verdict(self) -> str:
        if self.n < 2:
            return "not run" if self.n == 0 else "not shown (one seed)"
        lo, hi = self.interval()
        if self.p < ALPHA and self.gain > 0:
            return "held"
        if hi < 0:
            return "reversed"
        return "not shown"


def paired(a: dict[int, float], b: dict[int, float]) -> Paired:
    """The seeds both arms have, in seed order: ``{seed: accuracy}`` each."""
    seeds = sorted(set(a) & set(b))
    return Paired(tuple(a[s] for s in seeds), tuple(b[s] for s in seeds))


def mean_sd(values) -> str:
    """``mean ± sample SD`` of a list (``mean (1 seed)`` for one; ``-`` for none)."""
    v = np.asarray(list(values), dtype=float)
    if v.size == 0:
        return "-"
    if v.size == 1:
        return f"{v[0]:.2f} (1 seed)"
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}"


def fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def mean_last(curve, k: int) -> float:
    """The mean validation accuracy of the last ``k`` points of a ``[[epoch, acc], ...]``
    curve (what picks a tuning trial: one epoch's accuracy is noisier)."""
    acc = [float(a) for _, a in curve]
    return float(np.mean(acc[-k:])) if acc else float("nan")


def last_quarter_gain(curve) -> float:
    """How much validation accuracy still rose within the last quarter of training: the
    mean over its second half (the last eighth of the epochs) minus the mean over its
    first half. A run has converged when this is below the protocol's
    ``converged_points`` (:data:`CONVERGED_POINTS`). Measured inside the last quarter so
    that a learning-rate step just before it (the paper's at 2/3, the teachers' at 50/65
    of training) reads as the jump it is, not as learning still going on at the end."""
    pts = sorted((int(e), float(a)) for e, a in curve)
    if not pts:
        return float("nan")
    n = pts[-1][0]
    eighth = max(1, n // 8)
    last = [a for e, a in pts if e > n - eighth]
    before = [a for e, a in pts if n - 2 * eighth < e <= n - eighth]
    if not last or not before:
        return float("nan")
    return float(np.mean(last) - np.mean(before))
