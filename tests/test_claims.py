"""The rules that turn numbers into verdicts (:mod:`lthlib.analysis.claims`)."""

from __future__ import annotations

import pandas as pd
from frames import GOOD, ROWS, frame

from lthlib.analysis import claims, stats


def test_tickets_exist_below_reads_the_deepest_matching_level_and_where_tickets_fall():
    verdict = claims.tickets_exist_below(GOOD)
    assert verdict.verdict == "supported" and verdict.n == 5
    assert verdict.ours.startswith("match dense down to 7.0 %; fall below at 3.6 % (-1.99 [-2.0")
    assert verdict.ours.endswith("] points)")
    shallow = frame([r if r[:2] != (2, "ticket") else (2, "ticket", 21.1, 600, 0.80) for r in ROWS])
    assert claims.tickets_exist_below(shallow).verdict == "not supported"
    assert claims.tickets_exist_below(frame(ROWS, trials=3)).verdict.startswith("inconclusive: only 3 trials")


def noisy(frame_, level, spread=(-0.02, 0.02, -0.015, 0.015, 0.0)):
    """``frame_`` with the tickets of ``level`` scattered so much that their interval straddles the margin."""
    out = frame_.copy()
    rows = (out["level"] == level) & (out["arm"] == "ticket")
    out.loc[rows, "early_stop_test_acc"] += [spread[t] for t in out.loc[rows, "trial"]]
    return out


def test_an_inconclusive_shallow_level_neither_matches_nor_ends_the_search():
    assert claims.matching(noisy(GOOD, 1))[1] == "inconclusive"
    verdict = claims.tickets_exist_below(noisy(GOOD, 1))
    assert verdict.verdict == "supported"
    assert verdict.ours.startswith("match dense down to 7.0 %; fall below at 3.6 %")
    assert verdict.ours.endswith("; 1 shallower level inconclusive")
    unfinished = claims.tickets_exist_below(frame([r for r in ROWS if r[0] != 4]))
    assert unfinished.verdict == "supported"
    assert unfinished.ours.endswith("still not below dense at the deepest level pruned, so the sweep ended first")


def test_faster_and_better_and_a_reinit_control_that_must_lose():
    faster = claims.faster_and_better_at(GOOD, 2)
    assert faster.verdict == "supported"
    assert faster.ours.startswith("39 % sooner (+400 [+400, +400] iterations); +1.4")  # 400 of 1,020 iterations
    assert faster.ours.endswith("] points")
    assert claims.reinit_loses(GOOD, 2).verdict == "supported"
    named = claims.faster_and_better_at(GOOD, 2, "conv2 (dropout 0.5)", "faster (abstract)")
    assert named.claim.startswith("conv2 (dropout 0.5) tickets at about") and named.paper == "faster (abstract)"
    assert claims.reinit_loses(GOOD, 2, "conv4").claim.startswith("conv4: randomly reinitialised tickets lose")
    better_reinit = frame([(level, arm, p, i, 0.95 if arm == "reinit" else a) for level, arm, p, i, a in ROWS])
    assert claims.reinit_loses(better_reinit, 2).verdict == "not supported"
    short = frame(ROWS, at_end=True)
    assert claims.faster_and_better_at(short, 2).verdict == (
        "inconclusive: training too short to judge (100 % of runs stop at their last evaluation)"
    )


def test_dropout_and_pruning_pairs_the_dense_networks_across_the_two_runs():
    dropped = frame([(level, arm, p, i, a + (0.02 if level == 2 else 0.01)) for level, arm, p, i, a in ROWS])
    together = claims.dropout_and_pruning(GOOD, dropped, 2, "conv2", 0.5)
    assert together.verdict == "supported"
    assert together.claim == (
        "conv2: dropout 0.5 raises the dense network's accuracy, and tickets at about 21 % raise it further"
    )
    assert together.ours.startswith("dense with dropout +1.00 [+1.00, +1.00] points; its tickets over it +2.")
    assert together.n == 5
    no_gain = frame([(level, arm, p, i, a - 0.01 if level == 0 else a) for level, arm, p, i, a in ROWS])
    assert claims.dropout_and_pruning(GOOD, no_gain, 2, "conv2", 0.5).verdict == "not supported"
    three = frame(ROWS, trials=3)
    assert claims.dropout_and_pruning(three, three, 2, "conv2", 0.5).verdict.startswith("inconclusive: only 3 trials")


def test_iterative_against_oneshot_shares_the_dense_baseline():
    oneshot = frame([(0, "ticket", 100, 1000, 0.88), (1, "ticket", 51.3, 800, 0.885), (2, "ticket", 21.1, 700, 0.86)])
    verdict = claims.iterative_beats_oneshot(GOOD, oneshot)
    assert verdict.verdict == "supported" and "one-shot down to 51.3 %" in verdict.ours
    assert claims.iterative_beats_oneshot(oneshot, GOOD).verdict == "not supported"
    neither_falls = frame([r for r in ROWS if r[0] < 3])
    assert claims.iterative_beats_oneshot(neither_falls, neither_falls).verdict == (
        "inconclusive: no level where one matches dense and the other surely falls below"
    )
    assert list(claims.table([verdict]).columns) == ["claim", "paper", "this book (95 % interval)", "n", "verdict"]
    assert claims.rules([verdict]) == [f"{verdict.claim}: {verdict.rule}."]


def test_the_lead_over_a_control_grows_shrinks_or_holds_with_training_length():
    short = frame([(0, "ticket", 100, 1000, 0.88), (2, "ticket", 21.1, 600, 0.89), (2, "reinit", 21.1, 900, 0.88)])
    longer = frame([(0, "ticket", 100, 3000, 0.88), (2, "ticket", 21.1, 2000, 0.90), (2, "reinit", 21.1, 2500, 0.88)])
    labels = ("5,000 iterations", "20,000 iterations")
    grew = claims.lead_change(short, longer, 2, "reinit", labels)
    assert grew["the lead"] == "grew" and grew["n"] == 5
    assert grew["5,000 iterations"] == "+1.00" and grew["20,000 iterations"] == "+2.00"
    assert grew["weights remaining"] == "21.1 %"
    assert claims.lead_change(longer, short, 2, "reinit", labels)["the lead"] == "shrank"
    assert claims.lead_change(short, short, 2, "dense", labels)["the lead"].startswith("held")
    few = claims.lead_change(frame(ROWS, trials=3), frame(ROWS, trials=3), 2, "reinit", labels)
    assert few["the lead"] == "inconclusive: only 3 trials (at least 5 needed)"
    leads = pd.DataFrame([grew, claims.lead_change(longer, short, 2, "reinit", labels), few])
    assert claims.lead_sentence(leads, labels) == (
        "Of these 3 comparisons, the tickets' lead shrank in 1, grew in 1 and held in 0 from 5,000 iterations to "
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
