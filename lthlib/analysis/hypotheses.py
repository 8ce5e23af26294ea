"""Claims as paired hypotheses: a difference in the claimed direction, equivalence, or not worse; Holm per table.

A claim compares two arms of the same trials, so it is a statement about the
paired differences d_t = a_t - b_t (in the data's units: accuracy as a
fraction, iterations as steps). :class:`Hypothesis` says which statement:

- ``greater`` / ``less``: a exceeds b (falls below b) by more than ``margin``
  (0 for a plain difference). One-sided paired t-tests: the claim is
  supported when d > margin is shown, contradicted when d < margin is.
- ``equivalent``: |d| < ``margin``. Two one-sided tests (TOST): supported
  when both -margin < d and d < margin are shown; contradicted when
  d < -margin or d > margin is (the two sides Bonferroni-corrected).
- ``not_worse``: d > -``margin``. Supported when that is shown,
  contradicted when d < -margin is.

Each one-sided test is at level :data:`ALPHA` = 0.025, so that a claim
supported or contradicted alone always has its 95 % two-sided interval
wholly on that side of the margin: the interval printed beside a verdict
can be checked against it. The tests of one table form a family: Holm's
method corrects the supporting p-values of all its rows together, and the
contradicting ones together (:func:`judge`). A verdict is inconclusive
whatever the tests say with fewer than :data:`lthlib.analysis.stats.MIN_TRIALS` trials, or when
most runs compared stop at their last evaluation (training too short).

An equivalence or not-worse margin is fixed before the data are read and
justified in words (``why``). A margin as large as the effect the claim
is about (``effect``) cannot tell anything apart; such a claim is
:data:`UNINFORMATIVE` and is not judged. Absence of a shown difference is
never read as equivalence: it is inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from .stats import unjudgeable

ALPHA = 0.025  # one-sided, so that the 95 % two-sided interval agrees with every lone verdict
CONFIDENCE = 0.95
POWER = 0.8
SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
UNINFORMATIVE = "not judged: the margin is as large as the effect"
FORMS = ("greater", "less", "equivalent", "not_worse")


class HypothesisError(ValueError):
    """A hypothesis or its data are malformed; the message names the bad value."""


@dataclass(frozen=True)
class Hypothesis:
    """What a claim says of the paired differences a - b.

    ``form``: one of :data:`FORMS`. ``margin`` (>= 0, the data's units): the
    equivalence or not-worse margin, or the least difference a difference
    claim asserts. ``why``: the margin's justification, printed in the row.
    ``effect`` (optional, > 0): the size of the effect the claim is about
    (e.g. the ticket - reinit gap at that level); a margin at least as large
    makes an equivalence or not-worse claim :data:`UNINFORMATIVE`.
    """

    form: str
    margin: float = 0.0
    why: str = ""
    effect: float | None = None

    def __post_init__(self):
        if self.form not in FORMS:
            raise HypothesisError(f"form={self.form!r} is not valid; valid: {', '.join(FORMS)}")
        if not (isinstance(self.margin, (int, float)) and math.isfinite(self.margin) and self.margin >= 0):
            raise HypothesisError(f"margin={self.margin!r} is not valid; valid: a finite number >= 0")
        if self.form in ("equivalent", "not_worse") and (self.margin == 0 or not self.why):
            raise HypothesisError(
                f"form={self.form!r} needs a margin > 0 fixed in advance and its justification; "
                f"got margin={self.margin!r}, why={self.why!r}"
            )

    @property
    def uninformative(self) -> bool:
        return self.form in ("equivalent", "not_worse") and self.effect is not None and self.margin >= abs(self.effect)


@dataclass(frozen=True)
class Test:
    """One paired test of a hypothesis: the differences' mean and 95 % interval, the two one-sided p-values.

    ``p_for``: the p-value whose rejection supports the claim; ``p_against``:
    the one whose rejection contradicts it (both uncorrected until
    :func:`judge` sets ``p_for_holm`` / ``p_against_holm``). ``at_end``: the
    fraction (0..1) of the compared runs that stop at their last evaluation.
    """

    hypothesis: Hypothesis
    mean: float
    low: float
    high: float
    sd: float
    n: int
    at_end: float
    p_for: float
    p_against: float
    p_for_holm: float | None = None
    p_against_holm: float | None = None

    def why_inconclusive(self) -> str:
        """The reason no verdict can be given whatever the tests say, or ``""``."""
        return unjudgeable(self.n, self.at_end)

    @property
    def verdict(self) -> str:
        """Supported, contradicted, inconclusive or not judged, from the Holm-corrected p-values (the uncorrected
        ones before :func:`judge`)."""
        if self.hypothesis.uninformative:
            return UNINFORMATIVE
        if self.why_inconclusive():
            return INCONCLUSIVE
        p_for = self.p_for if self.p_for_holm is None else self.p_for_holm
        p_against = self.p_against if self.p_against_holm is None else self.p_against_holm
        if p_for < ALPHA:
            return SUPPORTED
        if p_against < ALPHA:
            return CONTRADICTED
        return INCONCLUSIVE

    def text(self, scale: float = 1.0, unit: str = "", digits: int = 2) -> str:
        """``+1.23 [+0.80, +1.66] unit``: the mean difference and its 95 % interval, multiplied by ``scale``."""
        if math.isnan(self.low):
            return f"{self.mean * scale:+.{digits}f}{unit}"
        return (
            f"{self.mean * scale:+.{digits}f} [{self.low * scale:+.{digits}f}, {self.high * scale:+.{digits}f}]{unit}"
        )

    def trials_for_power(self, effect: float | None = None, power: float = POWER) -> int | None:
        """Trials a paired one-sided test at :data:`ALPHA` needs to show the claim with probability ``power``,
        if the true difference were ``effect`` (default: the observed mean) with the observed spread.

        ``None`` when it cannot be shown at any size: no spread measured, or an effect on the wrong side of the
        margin (or inside the equivalence margin's complement).
        """
        effect = self.mean if effect is None else effect
        distance = _distance_to_claim(self.hypothesis, effect)
        if not (self.sd > 0 and distance > 0 and math.isfinite(self.sd)):
            return None
        trials = TTestPower().solve_power(
            effect_size=distance / self.sd, alpha=ALPHA, power=power, alternative="larger"
        )
        return max(2, math.ceil(trials))


def _distance_to_claim(hypothesis: Hypothesis, effect: float) -> float:
    """How far a true difference ``effect`` lies inside the region the claim asserts (negative: outside)."""
    m = hypothesis.margin
    return {
        "greater": effect - m,
        "less": -m - effect,
        "equivalent": m - abs(effect),
        "not_worse": effect + m,
    }[hypothesis.form]


def _one_sided(differences: np.ndarray, at: float, alternative: str) -> float:
    """p of the one-sample t-test that the mean of ``differences`` is ``alternative`` ('greater'/'less') than
    ``at``; 1 when it cannot be computed (fewer than two values, or no spread and the mean on the null side)."""
    if len(differences) < 2:
        return 1.0
    if np.ptp(differences) == 0:  # no spread: the t statistic is infinite or undefined
        mean = float(differences[0])
        shown = mean > at if alternative == "greater" else mean < at
        return 0.0 if shown else 1.0
    return float(scipy_stats.ttest_1samp(differences, at, alternative=alternative).pvalue)


def paired_test(a, b, hypothesis: Hypothesis, a_at_end=None, b_at_end=None) -> Test:
    """The paired test of ``hypothesis`` on per-trial values ``a`` and ``b`` (same length and trial order).

    ``a_at_end``/``b_at_end``: per-trial booleans, whether that run's early stop was its last evaluation.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise HypothesisError(
            f"paired values need two equal, non-empty 1-D sequences; got shapes {a.shape} and {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise HypothesisError("paired values must be finite numbers; got a NaN or an infinity")
    ends = [np.asarray(e if e is not None else np.zeros(len(a)), dtype=bool) for e in (a_at_end, b_at_end)]
    d = a - b
    n, mean = len(d), float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    if n > 1:
        half = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n))
        low, high = mean - half, mean + half
    else:
        low = high = float("nan")
    m = hypothesis.margin
    if hypothesis.form == "greater":
        p_for, p_against = _one_sided(d, m, "greater"), _one_sided(d, m, "less")
    elif hypothesis.form == "less":
        p_for, p_against = _one_sided(d, -m, "less"), _one_sided(d, -m, "greater")
    elif hypothesis.form == "equivalent":
        p_for = max(_one_sided(d, -m, "greater"), _one_sided(d, m, "less"))
        p_against = min(1.0, 2 * min(_one_sided(d, -m, "less"), _one_sided(d, m, "greater")))
    else:  # not_worse
        p_for, p_against = _one_sided(d, -m, "greater"), _one_sided(d, -m, "less")
    return Test(hypothesis, mean, low, high, sd, n, float(np.concatenate(ends).mean()), p_for, p_against)


def judge(tests: list[Test]) -> list[Test]:
    """``tests`` as one family (one claims table): Holm's correction of the supporting p-values together and of the
    contradicting ones together, over the tests that are judged at all (not :data:`UNINFORMATIVE`, enough trials,
    training long enough). Returns the tests with ``p_for_holm`` / ``p_against_holm`` set, in the same order."""
    judged = _judged(tests)
    out = list(tests)
    if not judged:
        return out
    for field in ("p_for", "p_against"):
        _, corrected, _, _ = multipletests([getattr(tests[i], field) for i in judged], alpha=ALPHA, method="holm")
        for i, p in zip(judged, corrected):
            out[i] = replace(out[i], **{f"{field}_holm": float(p)})
    return out


def family_size(tests: list[Test]) -> int:
    """How many tests of a family Holm's correction counts (those judged at all)."""
    return len(_judged(tests))


def _judged(tests: list[Test]) -> list[int]:
    """The indices of the tests that are judged at all: not :data:`UNINFORMATIVE`, enough trials, training long
    enough."""
    return [i for i, t in enumerate(tests) if not t.hypothesis.uninformative and not t.why_inconclusive()]
