"""The rules that turn numbers into verdicts (:mod:`lthlib.analysis.claims`)."""

from __future__ import annotations

import pandas as pd
from frames import GOOD, ROWS, frame

from lthlib.analysis import claims, hypotheses, stats

ABOVE = hypotheses.Hypothesis("greater")
MATCHES = hypotheses.Hypothesis("equivalent", margin=0.005, why="half a point, fixed before the data")


def paper_claim(a="ticket", b=claims.DENSE, measure=claims.ACCURACY, hypothesis=ABOVE, levels=(), **more):
    return claims.PaperClaim("a says", "Paper, §2, Fig. 4", "+0.3 points", a, b, measure, hypothesis, levels, **more)


def two_arms(a_values, b_values, percent=21.1, at_end=False):
    """A frame whose arms ``a`` and ``b`` hold the given per-trial accuracies at one level (``percent``)."""
    rows = [
        {
            "level": 1,
            "arm": arm,
            "trial": t,
            "percent": percent,
            "early_stop_iteration": 500,
            "early_stop_test_acc": value,
            "stopped_at_last_evaluation": at_end,
            "run": f"1/{arm}/{t}",
        }
        for arm, values in (("a", a_values), ("b", b_values))
        for t, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_a_claim_is_tested_at_each_of_the_papers_sizes_that_the_runs_reach():
    judged = claims.tested(paper_claim(levels=(51.3, 21.1, 13.5, 7.0, 1.9)), GOOD)
    assert [j.percent for j in judged] == [51.3, 21.1, 7.0]  # 13.5 and 1.9 % are more than 10 % from any level
    assert [j.verdict for j in judged] == ["supported"] * 3
    assert judged[1].difference() == "+1.48 [+1.44, +1.51] points" and judged[1].test.n == 5
    everywhere = claims.tested(paper_claim(), GOOD)  # no sizes named: every pruned level
    assert [j.percent for j in everywhere] == [51.3, 21.1, 7.0, 3.6]
    assert everywhere[-1].verdict == "contradicted"  # 3.6 %: the ticket is 2 points below dense


def test_a_control_that_must_lose_and_a_claim_that_it_matches_is_contradicted():
    loses = claims.tested(paper_claim(b="reinit", levels=(21.1, 7.0)), GOOD)
    assert [j.verdict for j in loses] == ["supported", "supported"]
    assert loses[0].ours == "tickets − reinitialised tickets at 21.1 %: +3.50 [+3.50, +3.50] points"
    matches = claims.tested(paper_claim(b="reinit", hypothesis=MATCHES, levels=(21.1,)), GOOD)
    assert matches[0].verdict == "contradicted"
    assert matches[0].row()["margin"] == "0.50 points: half a point, fixed before the data"


def test_an_interval_wider_than_the_margin_is_inconclusive_and_says_how_many_trials_would_settle_it():
    wide = two_arms([0.90, 0.88, 0.91, 0.87, 0.89], [0.89, 0.89, 0.89, 0.89, 0.89])
    judged = claims.tested(paper_claim("a", "b", hypothesis=MATCHES, effect=0.0), wide)[0]
    assert judged.verdict == "inconclusive"
    assert judged.test.low < -0.005 and judged.test.high > 0.005
    assert judged.trials_needed().isdigit() and int(judged.trials_needed()) > 5


def test_sooner_is_a_difference_in_iterations_and_the_dense_network_may_come_from_another_record():
    sooner = claims.tested(paper_claim(measure=claims.ITERATION, hypothesis=hypotheses.Hypothesis("less")), GOOD)
    assert sooner[1].difference() == "-400 [-400, -400] iterations" and sooner[1].verdict == "supported"
    plain = frame([(level, arm, p, i, a - 0.01) for level, arm, p, i, a in ROWS])
    dropout = paper_claim(claims.DENSE, claims.DENSE, levels=(100.0,), compared="with dropout − without")
    judged = claims.tested(dropout, GOOD, plain)
    assert len(judged) == 1 and judged[0].ours.startswith("with dropout − without at 100.0 %: +1.00")


def test_holm_turns_a_borderline_verdict_inconclusive_in_a_larger_table():
    borderline = two_arms([0.902, 0.904, 0.901, 0.903, 0.902], [0.900, 0.900, 0.900, 0.900, 0.900])
    alone = claims.judge(claims.tested(paper_claim("a", "b"), borderline))
    assert alone[0].verdict == "supported"
    null = two_arms([0.90, 0.91, 0.89, 0.90, 0.90], [0.90, 0.90, 0.90, 0.90, 0.90])
    others = [j for _ in range(6) for j in claims.tested(paper_claim("a", "b"), null)]
    family = claims.judge(alone + others)
    assert family[0].verdict == "inconclusive"
    assert "one family of 7 judged tests" in claims.family_note(family)
    assert "turned 1 verdict that a lone test would give into inconclusive ones" in claims.family_note(family)


def test_smoke_trials_and_runs_stopped_at_the_end_give_neither_supported_nor_contradicted():
    two = claims.judge(claims.tested(paper_claim(), frame(ROWS, trials=2)))
    assert {j.verdict for j in two} == {"inconclusive: only 2 trials (at least 5 needed)"}
    short = claims.judge(claims.tested(paper_claim(b="reinit"), frame(ROWS, at_end=True)))
    assert {j.verdict for j in short} == {
        "inconclusive: training too short to judge (100 % of runs stop at their last evaluation)"
    }
    assert all(j.trials_needed() == "" for j in two + short)


def test_the_glance_gives_each_claim_once_with_where_it_holds():
    claim = paper_claim(levels=(51.3, 21.1, 7.0, 3.6), at=21.1)
    judged = claims.judge(claims.tested(claim, GOOD))
    assert claims.where_it_holds(judged, claim) == "supported at 51.3, 21.1 and 7.0 %; contradicted at 3.6 %"
    glance = claims.glance(judged)
    assert len(glance) == 1
    assert glance.iloc[0]["paper"] == "+0.3 points (Paper, §2, Fig. 4)"
    assert glance.iloc[0]["this book"].startswith("tickets − the dense network at 21.1 %: +1.48")
    assert list(claims.claims_table(judged).columns) == [
        "claim",
        "paper",
        "size",
        "this book (95 % interval)",
        "margin",
        "n",
        "verdict",
        "trials needed",
    ]


def test_the_lead_over_a_control_grows_or_shrinks_with_training_length_or_shows_no_change():
    short = frame([(0, "ticket", 100, 1000, 0.88), (2, "ticket", 21.1, 600, 0.89), (2, "reinit", 21.1, 900, 0.88)])
    longer = frame([(0, "ticket", 100, 3000, 0.88), (2, "ticket", 21.1, 2000, 0.90), (2, "reinit", 21.1, 2500, 0.88)])
    labels = ("5,000 iterations", "20,000 iterations")
    grew = claims.lead_change(short, longer, 2, "reinit", labels)
    assert grew["the lead"] == "grew" and grew["n"] == 5
    assert grew["5,000 iterations"] == "+1.00" and grew["20,000 iterations"] == "+2.00"
    assert grew["weights remaining"] == "21.1 %"
    assert claims.lead_change(longer, short, 2, "reinit", labels)["the lead"] == "shrank"
    assert claims.lead_change(short, short, 2, "dense", labels)["the lead"] == "no change shown"
    few = claims.lead_change(frame(ROWS, trials=3), frame(ROWS, trials=3), 2, "reinit", labels)
    assert few["the lead"] == "inconclusive: only 3 trials (at least 5 needed)"
    leads = pd.DataFrame([grew, claims.lead_change(longer, short, 2, "reinit", labels), few])
    assert claims.lead_sentence(leads, labels) == (
        "Of these 3 comparisons, the tickets' lead shrank in 1, grew in 1 and showed no change either way in 0 from "
        "5,000 iterations to "
        "20,000 iterations; 1 could not be judged."
    )


def test_one_arm_ahead_of_another_over_levels_is_judged_per_trial():
    beats = claims.arm_ahead(GOOD, "ticket", "reinit", [2, 3], "tickets beat reinit", "Figure 1")
    assert beats.verdict == "supported" and beats.n == 5
    assert beats.ours.startswith("ticket minus reinit over 21.1 % to 7.0 %: +4.00")  # (3.5 + 4.5) / 2 points
    assert claims.arm_ahead(GOOD, "reinit", "ticket", [2, 3], "c", "p").verdict == "not supported"
    close = frame(
        [(2, "a", 21.1, 600, 0.893), (3, "a", 7.0, 700, 0.883), (2, "b", 21.1, 600, 0.895), (3, "b", 7.0, 700, 0.885)]
    )
    assert claims.arm_ahead(close, "a", "b", [2, 3], "c", "p", at_least_as_good=True).verdict == "supported"
    assert claims.arm_ahead(close, "a", "b", [2, 3], "c", "p").verdict == "not supported"  # 0.2 points behind


def test_a_sentence_groups_the_subjects_of_claims_by_verdict():
    made = [
        claims.Claim(f"{name} beats random", "", "", 5, verdict, "", kind="against random")
        for name, verdict in (
            ("a", stats.SUPPORTED),
            ("b", stats.NOT_SUPPORTED),
            ("c", stats.SUPPORTED),
            ("d", "inconclusive: only 3 trials (at least 5 needed)"),
        )
    ]
    phrases = {
        stats.SUPPORTED: ("beats random", "beat random"),  # the verb agrees with one subject or several
        stats.NOT_SUPPORTED: ("falls below it", "fall below it"),
        stats.INCONCLUSIVE: "unsettled",
    }
    sentence = claims.by_verdict(made, lambda c: c.claim.split()[0], phrases)
    assert sentence == "a and c beat random; b falls below it; d unsettled."
    assert claims.by_verdict([], str, phrases) == "No comparison could be made."


def test_several_comparisons_are_judged_where_the_frame_holds_both_arms():
    wanted = [
        ("ticket", "reinit", "tickets beat reinit", "Figure 1", False),
        ("ticket", "random_prune", "tickets beat random pruning", "Figure 1", False),  # no such arm: left out
    ]
    both = GOOD[GOOD["level"].isin([0, 2, 3])]  # the levels where reinit was run
    judged = claims.arms_ahead(both, wanted)
    assert [claim.claim for claim in judged] == ["tickets beat reinit"]
    assert judged[0] == claims.arm_ahead(GOOD, "ticket", "reinit", [2, 3], "tickets beat reinit", "Figure 1")
