"""The conclusions table sets every review point and paper claim beside the verdicts that answer it."""

from __future__ import annotations

import pytest

from lthlib.analysis import claims, conclusions, stats


def claim(text, verdict, ours=None, kind="a comparison"):
    return claims.Claim(text, "", text if ours is None else ours, 5, verdict, "", kind=kind)


def test_each_point_lists_its_verdicts_and_says_when_none_was_judged_without_counting_them():
    points = (
        conclusions.Point("Signs", "the review", ("signs",), ("review-signs",), "more trials"),
        conclusions.Point("Transfer", "the review", ("transfer", "more transfer"), ("review-transfer",), "MNIST"),
        conclusions.Point("Fine-tuning", "the review", ("fine-tuning",), ("review-finetune",), "deeper networks"),
    )
    verdicts = {
        "signs": [claim("flips beat growth", stats.NOT_SUPPORTED)],
        "transfer": [claim("beats random", stats.SUPPORTED)],
        "more transfer": [claim("as good as the target's", "inconclusive: only 3 trials (at least 5 needed)")],
    }
    assert list(conclusions.point_table(points[0], verdicts)["verdict"]) == [stats.NOT_SUPPORTED]
    assert list(conclusions.point_table(points[1], verdicts)["claim"]) == ["beats random", "as good as the target's"]
    assert list(conclusions.point_table(points[2], verdicts)["claim"]) == ["not judged here"]
    table = conclusions.overview(points)
    assert list(table["point"]) == ["Signs", "Transfer", "Fine-tuning"]
    assert list(table["what would change them"]) == ["more trials", "MNIST", "deeper networks"]
    assert not any("verdict" in column for column in table.columns)  # no tallies: they add up opposite claims


@pytest.fixture(scope="module")
def book_verdicts(fashion):
    """The verdict groups of the committed store at the book's scale, as the conclusions chapter gathers them."""
    return conclusions.gather(
        dataset="fashion-mnist", scale="book", trials=None, device="cpu", store=None, allow_train=False
    )


def test_every_group_and_kind_a_point_names_is_one_the_chapters_compute(book_verdicts):
    for point in conclusions.POINTS:
        assert set(point.groups) <= set(book_verdicts), point.point
        for group, kinds in point.only:
            computed = {found.kind for found in book_verdicts[group]}
            missing = set(kinds) - computed
            assert not missing, (point.point, group, missing)


def test_a_point_can_keep_only_the_claims_of_a_group_that_concern_it():
    point = conclusions.Point(
        "Magnitude increase",
        "the review",
        ("headline",),
        ("zhou-claims",),
        "",
        only=(("headline", ("magnitude_increase against large_final",)),),
    )
    verdicts = {
        "headline": [
            claim("large_final beats random", "x", kind="large_final against random"),
            claim("magnitude_increase is as good", "y", kind="magnitude_increase against large_final"),
            claim("magnitude_increase, reworded", "z", kind="magnitude_increase against random"),
        ]
    }
    assert [c.claim for c in point.claims(verdicts)] == ["magnitude_increase is as good"]
    either = conclusions.Point(
        "Both",
        "the review",
        ("headline",),
        ("zhou-claims",),
        "",
        (("headline", ("large_final against random", "magnitude_increase against large_final")),),
    )
    assert len(either.claims(verdicts)) == 2
    with pytest.raises(TypeError, match="'headline' must be a tuple, got 'magnitude'"):
        conclusions.Point("Bare", "the review", ("headline",), ("zhou-claims",), "", (("headline", "magnitude"),))


def test_every_point_links_to_a_section_and_says_what_would_change_its_verdict():
    for point in conclusions.POINTS:
        assert point.sections and all("-" in label and " " not in label for label in point.sections), point.point
        assert point.would_change, point.point


def test_a_comparison_two_chapters_judge_on_the_same_runs_counts_once():
    point = conclusions.Point("Zeros", "the review", ("zhou", "review"), ("review-zeros",), "deeper sparsities")
    same = "zero minus freeze_init over 80.0 % to 16.9 %: +0.27 [+0.01, +0.54] points"
    verdicts = {
        "zhou": [claim("zero beats freeze_init", stats.SUPPORTED, same)],
        "review": [claim("pruned weights at zero beat frozen ones", stats.SUPPORTED, same), claim("other", "x")],
    }
    assert [c.claim for c in point.claims(verdicts)] == ["zero beats freeze_init", "other"]


def test_a_finding_quotes_the_effect_its_interval_size_and_verdict_of_the_nearest_level():
    from frames import GOOD

    from lthlib.analysis import hypotheses

    claim = claims.PaperClaim(
        "reinit is less accurate",
        "F&C §2",
        "",
        "ticket",
        "reinit",
        claims.ACCURACY,
        hypotheses.Hypothesis("greater"),
        kind="reinit less accurate",
    )
    verdicts = {"lottery": claims.judge(claims.tested(claim, GOOD))}
    assert conclusions.finding(verdicts, "lottery", "reinit less accurate", 8.0) == (
        "+4.50 [+4.50, +4.50] points at 7.0 % (supported)"
    )
    with pytest.raises(KeyError, match="no judged claim of kind 'sooner'"):
        conclusions.finding(verdicts, "lottery", "sooner", 8.0)
