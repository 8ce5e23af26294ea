"""The review chapter's runs and measures, end to end at smoke scale on real Fashion-MNIST."""

from __future__ import annotations

import pandas as pd
import pytest

from lthlib.analysis import chapter, review, stats, summary, transfer
from lthlib.engine import config, joint

SMOKE_LENET = dict(iterations=60, eval_every=20, levels=2, action_levels=2)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, fashion):
    """Both review chapters at smoke scale in one store: the chapter ``review`` and its records, and all records."""
    store = str(tmp_path_factory.mktemp("review"))
    common = dict(scale="smoke", store=store, allow_train=True, **SMOKE_LENET)
    book = chapter.open(
        name="review",
        **common,
        supermask_methods="bernoulli",
        supermask_starts="signed_constant",
        supermask_iterations=40,
        supermask_eval_every=20,
    )
    data = chapter.open(name="transfer", **common, transfer_source=None, transfer_target=None, shift_target=None)
    return book, {**review.results(book), **transfer.results(data)}, data


def test_the_runs_that_share_their_settings_train_together_and_reuse_the_zhou_sweeps(smoke):
    book, found, data = smoke
    wanted = review.sweeps(book)
    together = [book.config(**wanted[name]) for name in review.JOINT]
    assert len(joint.check_joint(together)) == len(review.JOINT)
    shared = set(transfer.sweeps(data)) & set(wanted)
    assert shared == {"ticket", "controls"} and all(transfer.sweeps(data)[name] == wanted[name] for name in shared)
    assert all(found[name]["provenance"]["trained_with"] for name in review.JOINT)
    zhou_ticket = book.config(experiment="imp", network="lenet", controls=(), **book.lenet_settings())
    assert found["ticket"]["hash"] == config.config_hash(zhou_ticket)  # the Zhou chapter's large_final sweep
    assert found["transfer"]["config"]["mask_from"] == "fashion-mnist:classes=0-4"


def test_overlaps_compare_each_ticket_with_five_other_masks_per_layer(smoke):
    book, found, _ = smoke
    table = review.overlaps(book, found)
    assert set(table["comparison"]) == {
        "another θ0",
        "another data order",
        "magnitude_increase",
        "movement",
        "one-shot",
    }
    assert set(table["layer"]) == {"fc1", "fc2", "output"} and set(table["level"]) == {1, 2}
    assert ((0 <= table["jaccard"]) & (table["jaccard"] <= 1)).all()
    assert (table["above_random"] == table["jaccard"] / table["random_jaccard"]).all()


def test_the_halves_set_each_mask_on_its_own_half_and_on_the_other(smoke):
    _, found, _ = smoke
    halves = transfer.halves_frame(found)
    for half in transfer.HALVES:
        mine = halves[halves["half"] == half]
        assert set(mine.loc[mine["level"] > 0, "arm"]) == {"own", "other half"}
    for claim in (
        transfer.own_half_advantage(halves),
        transfer.own_half_stops_sooner(halves),
        transfer.structure_overfits(halves),
    ):
        assert claim.n == 2 and claim.verdict.startswith(stats.INCONCLUSIVE)  # two smoke trials decide nothing


def test_a_mask_overfits_in_structure_when_its_own_half_advantage_shows_in_training_only():
    rows = []
    for trial in range(5):
        for half in transfer.HALVES:
            for arm, train, test in (("own", 0.95, 0.85 + 0.001 * (trial - 2)), ("other half", 0.90, 0.85)):
                rows.append(
                    dict(
                        level=1,
                        trial=trial,
                        half=half,
                        arm=arm,
                        early_stop_train_acc=train,
                        early_stop_test_acc=test,
                        stopped_at_last_evaluation=False,
                    )
                )
    halves = pd.DataFrame(rows)
    assert transfer.structure_overfits(halves).verdict == stats.SUPPORTED  # 5 points in training, under 1 on test
    assert transfer.own_half_advantage(halves).verdict.startswith(stats.INCONCLUSIVE)  # a mean of 0 on test
    swapped = halves.assign(early_stop_train_acc=halves["early_stop_test_acc"] - 0.1)
    assert transfer.structure_overfits(swapped).verdict.startswith(stats.INCONCLUSIVE)  # the same advantage in both
    unmeasured = halves.copy()
    unmeasured.loc[unmeasured["trial"] == 3, "early_stop_train_acc"] = float("nan")  # stopped at iteration 0
    assert transfer.structure_overfits(unmeasured).n == 4 and transfer.own_half_advantage(unmeasured).n == 5


def test_the_sign_probe_and_the_generalisation_gap_are_read_from_the_runs(smoke):
    _, found, _ = smoke
    curves = review.sign_curves(found["signs"])
    assert set(curves["group"]) == {"kept", "pruned"} and set(curves["statistic"]) == {"flipped", "grew"}
    assert ((curves["fraction"] >= 0) & (curves["fraction"] <= 1)).all()
    assert review.flips_beat_growth(found["signs"], "kept").n == 2
    gap = transfer.generalisation_gap(summary.runs_frame(found["controls"]))
    assert set(gap["arm"]) == {"ticket", *review.ALL_CONTROLS} and gap["gap"].notna().all()
    leak = transfer.test_set_leak(summary.runs_frame(found["controls"]))
    assert list(leak["arm"])[0] == "ticket"


def test_the_information_a_network_is_given_counts_mask_and_weight_bits(smoke):
    _, found, _ = smoke
    learned = {"bernoulli, signed_constant": found["supermask:bernoulli, signed_constant"]}
    table = review.information_frame(found["ticket"], learned, found["same_sign_constant"])
    tickets = table[table["what"] == "ticket: mask + weights"]
    assert (tickets["bits"] == tickets["mask_bits"] + tickets["weight_bits"]).all()
    dense = tickets[tickets["level"] == 0]
    assert (dense["mask_bits"] == 0).all() and (dense["weight_bits"] == 32 * 266_200).all()  # one mask of the full net
    supermask = table[table["what"] == "learned: bernoulli, signed_constant"]
    assert len(supermask) == 2 and (supermask["bits"] < 266_200).all()  # at most one bit per weight
    untrained = table[table["what"] == "untrained: same-sign mask"]
    assert set(untrained["level"]) == {1, 2} and untrained["early_stop_test_acc"].between(0, 1).all()


def test_the_review_verdicts_cover_every_question_the_conclusions_name(smoke):
    book, found, _ = smoke
    groups = {**review.mask_verdicts(found, review.overlaps(book, found)), **transfer.data_verdicts(found)}
    assert set(groups) == {"one mask", "signs", "zeros", "fine-tuning", "transfer", "overfitting", "mask training"}
    assert all(groups[name] for name in groups)
    shared = [claim for claim in groups["one mask"] if "share more weights" in claim.claim]
    assert len(shared) == 4 and all(claim.n == 2 for claim in shared)  # one per comparison but another θ0


def test_masks_that_overlap_more_than_random_ones_share_weights_by_the_rule():
    rows = [
        dict(
            comparison=name,
            level=2,
            trial=t,
            layer=layer,
            percent=64.0,
            jaccard=j + 0.001 * (t - 2),
            random_jaccard=0.47,
            above_random=(j + 0.001 * (t - 2)) / 0.47,
        )
        for name, j in (("another data order", 0.80), ("movement", 0.47), ("another θ0", 0.90))
        for t in range(5)
        for layer in ("fc1", "fc2")
    ]
    found = {
        claim.claim.split(" with ")[1].split(" share")[0]: claim for claim in review.overlap_claims(pd.DataFrame(rows))
    }
    assert set(found) == {"another data order", "movement"}  # another θ0's pairs share trials: shown, not judged
    assert found["another data order"].verdict == stats.SUPPORTED and "1.70 times" in found["another data order"].ours
    assert found["movement"].verdict.startswith(stats.INCONCLUSIVE)  # within a hair of random either way


def test_the_levels_shown_are_spread_from_dense_to_the_deepest():
    assert review.shown_levels([0, 1, 2, 3, 4, 5, 6, 7, 8]) == [0, 4, 8]
    assert review.shown_levels([2, 0, 1, 1]) == [0, 1, 2]
    assert review.shown_levels(range(10), count=4) == [0, 3, 6, 9]


def test_tickets_generalise_better_when_their_gap_is_smaller_than_the_controls():
    rows = []
    for trial in range(5):
        for level in (0, 1, 2):
            for arm, train, test in (("ticket", 0.95, 0.90 + 0.001 * trial), ("reinit", 0.97, 0.88)):
                if level == 0 and arm != "ticket":
                    continue
                rows.append(
                    dict(
                        level=level,
                        arm=arm,
                        trial=trial,
                        percent=100.0 * 0.8**level,
                        run=f"{arm}{level}{trial}",
                        early_stop_train_acc=train,
                        early_stop_test_acc=test,
                        stopped_at_last_evaluation=False,
                        copy_of_dense=False,
                    )
                )
    (claim,) = transfer.gap_claims(pd.DataFrame(rows))
    assert claim.verdict == stats.SUPPORTED and claim.n == 5  # reinit's gap is 4 points wider, trial by trial
    assert claim.ours.startswith("reinit's gap minus the ticket's: +")
    frame = pd.DataFrame(rows)
    unmeasured = (frame["trial"] == 4) & (frame["level"] == 2) & (frame["arm"] == "reinit")
    (claim,) = transfer.gap_claims(frame.assign(early_stop_train_acc=frame["early_stop_train_acc"].mask(unmeasured)))
    assert claim.n == 4  # a trial whose control lacks a level's gap is left out, not averaged over fewer levels
    assert transfer.gap_claims(frame.assign(early_stop_train_acc=float("nan"))) == []


def runs_of(arm: str, level: int, percent: float, test: list, validation: list | None = None) -> pd.DataFrame:
    """Hand-made rows of one arm at one level, one per trial."""
    return pd.DataFrame(
        dict(
            arm=arm,
            level=level,
            trial=range(len(test)),
            percent=percent,
            early_stop_test_acc=test,
            early_stop_val_acc=validation or test,
            stopped_at_last_evaluation=False,
            run=[f"{arm}/{level}/{t}" for t in range(len(test))],
        )
    )


def test_a_mask_alone_is_judged_against_chance_and_against_the_trained_ticket_of_its_size():
    noise = [0.0, 0.004, -0.003, 0.002, -0.001]
    tickets = pd.concat(
        [
            runs_of("ticket", 0, 100.0, [0.88 + n for n in noise]),
            runs_of("ticket", 1, 51.2, [0.89 + n for n in noise]),
            runs_of("ticket", 2, 26.2, [0.885 + n for n in noise]),
        ]
    )
    learned = pd.concat(  # the better one on test is the worse one on validation: it must not be chosen
        [
            runs_of("bernoulli, original", 0, 50.0, [0.95] * 5, validation=[0.70] * 5),
            runs_of("edge_popup, original", 0, 30.0, [0.80 + n for n in noise], validation=[0.81] * 5),
        ]
    )
    far, matches = review.mask_training_claims(learned, tickets)
    assert "edge_popup, original" in far.claim and far.verdict == stats.SUPPORTED
    assert "trained ticket at 26.2 %" in matches.ours and matches.verdict == stats.NOT_SUPPORTED  # 8.5 points below
    near_chance = learned.assign(early_stop_test_acc=[0.3] * 5 + [0.35 + n for n in noise])
    assert review.mask_training_claims(near_chance, tickets)[0].verdict == stats.NOT_SUPPORTED  # surely below 50 %
    assert review.mask_training_claims(learned.iloc[:0], tickets) == []


def test_the_information_figure_shows_three_kinds_of_network(smoke):
    _, found, _ = smoke
    learned = {"bernoulli, signed_constant": found["supermask:bernoulli, signed_constant"]}
    table = review.information_frame(found["ticket"], learned, found["same_sign_constant"])
    assert list(dict.fromkeys(table["kind"])) == list(review.KINDS)
    assert (table.loc[table["what"].str.startswith("learned"), "kind"] == review.KINDS[1]).all()


def test_the_shift_to_tilted_images_is_skipped_on_sequences_and_its_verdicts_with_it(smoke):
    _, found, data = smoke
    assert transfer.shift_skipped(data) is None and {"shift", "shift_target"} <= set(transfer.sweeps(data))
    sequences = chapter.open(
        name="transfer",
        dataset="mnist1d",
        scale="smoke",
        **SMOKE_LENET,
        transfer_source=None,
        transfer_target=None,
        shift_target=None,
    )
    assert "mnist1d" in transfer.shift_skipped(sequences)
    assert not {"shift", "shift_target"} & set(transfer.sweeps(sequences))
    assert transfer.sweeps(sequences)["transfer"]["mask_from"] == "mnist1d:classes=0-4"
    unshifted = chapter.open(
        name="transfer", scale="smoke", **SMOKE_LENET, transfer_source=None, transfer_target=None, shift_target=""
    )
    assert "shift_target is empty" in transfer.shift_skipped(unshifted) and "shift" not in transfer.sweeps(unshifted)
    without_shift = {name: record for name, record in found.items() if name not in ("shift", "shift_target")}
    wheres = [claim.claim.rpartition("(")[2] for claim in transfer.data_verdicts(without_shift)["transfer"]]
    assert wheres == ["other classes)"] * 6
    assert len(transfer.data_verdicts(found)["transfer"]) == 12


def test_a_transferred_mask_that_stops_as_late_as_random_masks_does_not_stop_sooner():
    rows = []
    for trial in range(5):
        for level in (0, 1, 2):
            stops = {"ticket": 1000 + 10 * trial, "transferred": 3000 + 40 * trial, "random_prune": 3000 + 20 * trial}
            for arm, iteration in stops.items():
                if level == 0 and arm != "ticket":
                    continue
                rows.append(
                    dict(
                        level=level,
                        arm=arm,
                        trial=trial,
                        percent=100.0 * 0.8**level,
                        run=f"{arm}{level}{trial}",
                        early_stop_iteration=iteration,
                        early_stop_test_acc=0.9,
                        stopped_at_last_evaluation=False,
                        copy_of_dense=False,
                    )
                )
    claims_ = {claim.claim.split(" (")[0]: claim for claim in transfer.transfer_claims(pd.DataFrame(rows), "here")}
    own, moved = (
        claims_["on the target, its own tickets stop sooner than random masks"],
        claims_["a mask found on another task stops sooner than a random mask"],
    )
    assert own.verdict == stats.SUPPORTED and own.ours.startswith("random_prune minus ticket, early-stop iteration: +2")
    assert moved.verdict == stats.NOT_SUPPORTED and moved.n == 5  # 20 to 100 iterations later, trial by trial
    behind = claims_["the target's own tickets stop sooner than masks found on another task"]
    assert behind.verdict == stats.SUPPORTED and behind.ours.startswith("transferred minus ticket, early-stop")
    # every arm is equally accurate: the target's tickets do not beat random masks, so matching them shows nothing
    as_good = claims_["it is as good as a ticket found on the target"]
    assert as_good.verdict == "inconclusive: the target's own tickets do not beat random masks there"
    assert len(claims_) == 6


def test_a_mask_on_its_own_half_stops_sooner_when_it_does_so_trial_by_trial():
    rows = [
        dict(level=1, trial=trial, half=half, arm=arm, early_stop_iteration=iteration, stopped_at_last_evaluation=False)
        for trial in range(5)
        for half in transfer.HALVES
        for arm, iteration in (("own", 1000 + 10 * trial), ("other half", 1500 + 40 * trial))
    ]
    sooner = transfer.own_half_stops_sooner(pd.DataFrame(rows))
    assert sooner.verdict == stats.SUPPORTED and sooner.n == 5
    assert sooner.ours.startswith("other half's mask minus own, early-stop iteration: +560 [")
    later = transfer.own_half_stops_sooner(
        pd.DataFrame(rows).replace({"arm": {"own": "other half", "other half": "own"}})
    )
    assert later.verdict == stats.NOT_SUPPORTED


def test_the_optimism_of_a_chosen_stop_is_averaged_per_trial_over_the_pruned_levels_only():
    rows = [
        dict(
            level=level,
            arm=arm,
            trial=trial,
            run=f"{arm}{level}{trial}",
            copy_of_dense=False,
            best_test_acc=0.90 + (0.5 if level == 0 else 0.01 * level),  # the dense level would dominate
            early_stop_test_acc=0.90,
            early_stop_val_acc=0.91,
            final_val_acc=0.80 + 0.001 * trial,
            final_test_acc=0.80,
        )
        for arm in ("ticket", "reinit")
        for level in (0, 1, 2)
        for trial in range(5)
        if level > 0 or arm == "ticket"
    ]
    leak = transfer.test_set_leak(pd.DataFrame(rows)).set_index("arm")
    assert list(leak.index) == ["ticket", "reinit"] and set(leak["trials"]) == {5}
    gain, at_stop, at_end = (leak.loc["ticket", name] for name in transfer.LEAKS)
    assert gain == "+1.50 [+1.50, +1.50]" and at_stop == "+1.00 [+1.00, +1.00]"  # levels 1 and 2: +1 and +2 points
    assert at_end.startswith("+0.20 [")  # 0 to 0.4 points over the five trials
