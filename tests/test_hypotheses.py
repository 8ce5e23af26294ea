"""The verdict rule on hand-made trials: directions, equivalence margins, Holm's correction, power."""

from __future__ import annotations

import numpy as np
import pytest

from lthlib.analysis import hypotheses
from lthlib.analysis.hypotheses import (
    CONTRADICTED,
    INCONCLUSIVE,
    SUPPORTED,
    UNINFORMATIVE,
    Hypothesis,
    HypothesisError,
    judge,
    paired_test,
)

BASE = np.array([0.970, 0.972, 0.968, 0.975, 0.971])
NOISE = np.array([0.001, -0.002, 0.0015, -0.0005, 0.0])
MATCHES = Hypothesis("equivalent", 0.003, "a tenth of the 3-point ticket-reinit gap at this level", effect=0.03)


def test_a_difference_is_judged_in_the_claimed_direction():
    better = BASE + 0.01 + NOISE
    assert paired_test(better, BASE, Hypothesis("greater")).verdict == SUPPORTED
    assert paired_test(better, BASE, Hypothesis("less")).verdict == CONTRADICTED
    assert paired_test(BASE, better, Hypothesis("greater")).verdict == CONTRADICTED


def test_a_worse_control_is_contradicted_against_the_claim_that_it_matches():
    worse = BASE - 0.006 + NOISE  # 0.6 points below, well beyond the 0.3-point margin
    result = paired_test(worse, BASE, MATCHES)
    assert result.high < -MATCHES.margin
    assert result.verdict == CONTRADICTED


def test_a_control_shown_within_the_margin_matches():
    close = BASE + NOISE / 4
    result = paired_test(close, BASE, MATCHES)
    assert -MATCHES.margin < result.low and result.high < MATCHES.margin
    assert result.verdict == SUPPORTED


def test_an_interval_wider_than_the_margin_is_inconclusive_not_a_match():
    noisy = BASE + 5 * NOISE  # mean near zero, interval far wider than the margin
    result = paired_test(noisy, BASE, MATCHES)
    assert result.high - result.low > 2 * MATCHES.margin and result.low < 0 < result.high
    assert result.verdict == INCONCLUSIVE


def test_a_margin_as_large_as_the_effect_is_not_judged():
    wide = Hypothesis("equivalent", 0.005, "the 0.5-point margin", effect=0.0047)
    assert paired_test(BASE + NOISE / 4, BASE, wide).verdict == UNINFORMATIVE


def test_holm_turns_a_borderline_verdict_inconclusive():
    rng = np.random.default_rng(0)
    borderline = None
    for _ in range(200):  # a difference just significant alone
        d = rng.normal(0.004, 0.004, 5)
        result = paired_test(BASE + d, BASE, Hypothesis("greater"))
        if 0.005 < result.p_for < hypotheses.ALPHA:
            borderline = d
            break
    assert borderline is not None
    alone = judge([paired_test(BASE + borderline, BASE, Hypothesis("greater"))])
    nulls = [paired_test(BASE + NOISE * s, BASE, Hypothesis("greater")) for s in (1, -1, 2)]
    family = judge([paired_test(BASE + borderline, BASE, Hypothesis("greater")), *nulls])
    assert alone[0].verdict == SUPPORTED
    assert family[0].verdict == INCONCLUSIVE
    assert family[0].p_for_holm > family[0].p_for


def test_too_few_trials_or_too_short_training_give_neither_verdict():
    two = paired_test(BASE[:2] + 0.05, BASE[:2], Hypothesis("greater"))
    assert two.verdict == INCONCLUSIVE and "only 2 trials" in two.why_inconclusive()
    ends = np.ones(5, dtype=bool)
    short = paired_test(BASE + 0.05 + NOISE, BASE, Hypothesis("greater"), ends, ends)
    assert short.verdict == INCONCLUSIVE and "too short" in short.why_inconclusive()


def test_every_lone_verdict_agrees_with_its_95_percent_interval():
    rng = np.random.default_rng(1)
    for _ in range(300):
        hypothesis = Hypothesis(rng.choice(["greater", "less", "not_worse"]), 0.002, "a stated margin")
        d = rng.normal(rng.normal(0, 0.005), 0.004, 6)
        result = paired_test(BASE[0] + d, np.full(6, BASE[0]), hypothesis)
        bound = {"greater": 0.002, "less": -0.002, "not_worse": -0.002}[hypothesis.form]
        if result.verdict == SUPPORTED:
            assert (result.low > bound) if hypothesis.form != "less" else (result.high < bound)
        if result.verdict == CONTRADICTED:
            assert (result.high < bound) if hypothesis.form != "less" else (result.low > bound)


def test_the_trials_for_80_percent_power_follow_the_t_test():
    d = np.array([0.0, 0.02, -0.01, 0.015, 0.005])  # sd 0.0122
    result = paired_test(BASE + d, BASE, Hypothesis("greater"))
    n = result.trials_for_power(effect=result.sd)  # an effect of one standard deviation
    assert n == 10  # one-sided t at 2.5 %, effect size 1: power 0.803 with 10 trials (noncentral t), 0.748 with 9
    assert result.trials_for_power(effect=-0.01) is None  # the wrong side can never be shown


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Hypothesis("bigger"), "form='bigger' is not valid; valid: greater, less, equivalent, not_worse"),
        (lambda: Hypothesis("greater", -0.1), "margin=-0.1 is not valid"),
        (lambda: Hypothesis("equivalent", 0.005), "needs a margin > 0 fixed in advance and its justification"),
        (lambda: paired_test([1, 2], [1, 2, 3], Hypothesis("greater")), "shapes (2,) and (3,)"),
        (lambda: paired_test([1, np.nan], [1, 2], Hypothesis("greater")), "a NaN or an infinity"),
    ],
)
def test_malformed_hypotheses_are_refused_naming_the_value(make, message):
    with pytest.raises(HypothesisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
