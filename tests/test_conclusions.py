"""The conclusions table sets every review point and paper claim beside the verdicts that answer it."""

from __future__ import annotations

from lthlib import claims, conclusions, stats


def claim(text, verdict):
    return claims.Claim(text, "", "", 5, verdict, "")


def test_each_point_lists_its_verdicts_and_says_when_none_was_judged():
    points = (
        conclusions.Point("Signs", "the review", ("signs",)),
        conclusions.Point("Transfer", "the review", ("transfer", "more transfer")),
        conclusions.Point("Fine-tuning", "the review", ("fine-tuning",)),
    )
    verdicts = {
        "signs": [claim("flips beat growth", stats.NOT_SUPPORTED)],
        "transfer": [claim("beats random", stats.SUPPORTED)],
        "more transfer": [claim("as good as the target's", "inconclusive: only 3 trials (at least 5 needed)")],
    }
    table = conclusions.table(points, verdicts)
    assert list(table["point"]) == ["Signs", "Transfer", "", "Fine-tuning"]
    assert list(table["claim"]) == ["flips beat growth", "beats random", "as good as the target's", "not judged here"]
    tally = conclusions.summary(points, verdicts).set_index("point")["verdicts"]
    assert tally["Transfer"] == "1 supported, 1 inconclusive" and tally["Fine-tuning"] == "not judged"


def test_every_group_a_point_names_is_one_the_chapters_compute():
    computed = {"lottery", "zhou criteria", "zhou mask-1", "zhou mask-0", "zhou headline", "supermasks"}
    computed |= {"one mask", "signs", "zeros", "fine-tuning", "transfer", "overfitting"}
    assert {group for point in conclusions.POINTS for group in point.groups} <= computed


def test_a_point_can_keep_only_the_claims_of_a_group_that_concern_it():
    point = conclusions.Point("Magnitude increase", "the review", ("headline",), only=(("headline", "magnitude"),))
    verdicts = {"headline": [claim("large_final beats random", "x"), claim("magnitude_increase is as good", "y")]}
    assert [c.claim for c in point.claims(verdicts)] == ["magnitude_increase is as good"]
