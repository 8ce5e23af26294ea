"""Paired comparisons between arms of the same trials, and the three-valued verdict the book gives them.

Two arms of one trial share their initialisation seed and their data order,
so the book compares them trial by trial: the *paired difference* d_t = a_t - b_t.
Its mean comes with a 95 % Student t-interval over the n trials,
mean ± t(0.975, n-1) · sd / √n. A directional claim ("a is larger than b")
is then

- *supported* when the whole interval lies on the claimed side of the margin,
- *not supported* when the whole interval lies on the other side,
- *inconclusive* otherwise, and also whatever the interval says when there
  are fewer than :data:`MIN_TRIALS` trials, or when most of the runs compared
  reach their lowest validation loss at their last evaluation (training too
  short to judge: the early-stopping iteration is then the end of training,
  and the accuracy there is that of a network still improving).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

MIN_TRIALS = 5
CONFIDENCE = 0.95
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


@dataclass(frozen=True)
class Paired:
    """The paired differences ``a - b`` of one comparison: mean, 95 % interval, trials, share stopped at the end.

    ``low``/``high`` are NaN with fewer than two trials. ``at_end`` is the
    fraction (0..1) of the compared runs, both arms, whose early stop is
    their last evaluation.
    """

    mean: float
    low: float
    high: float
    n: int
    at_end: float

    def verdict(self, larger: bool = True, margin: float = 0.0) -> str:
        """Whether ``a`` exceeds ``b`` by more than ``margin`` (``larger=False``: ``a`` is below ``b - margin``)."""
        if self.n < MIN_TRIALS or self.at_end > 0.5 or math.isnan(self.low):
            return INCONCLUSIVE
        low, high = (self.low, self.high) if larger else (-self.high, -self.low)
        if low > margin:
            return SUPPORTED
        if high < margin:
            return NOT_SUPPORTED
        return INCONCLUSIVE

    def why_inconclusive(self) -> str:
        """The reason a verdict is inconclusive before any interval is read, or ``""``."""
        return unjudgeable(self.n, self.at_end)

    def text(self, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
        """``+1.23 [+0.80, +1.66] unit``, the values multiplied by ``scale`` (the interval left out below 2 trials)."""
        if math.isnan(self.low):
            return f"{self.mean * scale:+.{digits}f}{unit}"
        return (
            f"{self.mean * scale:+.{digits}f} [{self.low * scale:+.{digits}f}, {self.high * scale:+.{digits}f}]{unit}"
        )


def unjudgeable(n: int, at_end: float) -> str:
    """Why ``n`` paired trials, of which a fraction ``at_end`` of runs stop at their last evaluation, can give no
    verdict whatever their interval says, or ``""``."""
    if n < MIN_TRIALS:
        return f"only {n} trials (at least {MIN_TRIALS} needed)"
    if at_end > 0.5:
        return f"training too short to judge ({100 * at_end:.0f} % of runs stop at their last evaluation)"
    return ""


def paired(a, b, a_at_end=None, b_at_end=None) -> Paired:
    """The paired comparison of per-trial values ``a`` and ``b`` (same length, same trial order).

    ``a_at_end``/``b_at_end``: per-trial booleans, whether that run's early
    stop was its last evaluation (missing: none was).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired values need two equal, non-empty 1-D sequences; got shapes {a.shape} and {b.shape}")
    ends = [np.asarray(e if e is not None else np.zeros(len(a)), dtype=bool) for e in (a_at_end, b_at_end)]
    differences = a - b
    low, high = t_interval(differences)
    return Paired(float(differences.mean()), low, high, len(differences), float(np.concatenate(ends).mean()))


def t_interval(values) -> tuple[float, float]:
    """The 95 % Student t-interval of the mean of ``values`` (1-D, one per trial): NaN bounds below 2 values."""
    values = np.asarray(values, dtype=float)
    n, mean = len(values), float(values.mean())
    if n < 2:
        return float("nan"), float("nan")
    half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


def combine(verdicts: list[str]) -> str:
    """A claim made of parts (e.g. sooner *and* more accurate): supported only when every part is."""
    if all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    if any(v == NOT_SUPPORTED for v in verdicts):
        return NOT_SUPPORTED
    return INCONCLUSIVE
