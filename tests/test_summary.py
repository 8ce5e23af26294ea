"""The tidy frames of the stored runs and the sentences and tables made from them (:mod:`lthlib.analysis.summary`)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lthlib.analysis import chapter, parameters, summary


def test_runs_frame_starts_every_arm_at_the_dense_network(smoke_record):
    runs = summary.runs_frame(smoke_record)
    for arm in ("ticket", "reinit", "random_prune"):
        assert summary.mean(runs, "percent", arm=arm, level=0) == 100
    assert len(runs) == 2 * 3 + 2 * 3 * 2  # level 0 shown under each arm, then 2 levels x 3 arms x 2 trials
    assert runs["copy_of_dense"].sum() == 2 * 2  # the dense runs copied under reinit and random_prune
    assert len(summary.distinct(runs)) == len(smoke_record["runs"]) == 2 + 2 * 3 * 2
    assert summary.level_nearest(smoke_record, 64.0) == 2
    with pytest.raises(KeyError):
        summary.mean(runs, "percent", arm="ticket", level=9)


def test_runs_frame_reads_the_accuracies_before_training_at_the_stop_and_at_the_test_sets_best():
    curve = {
        "iteration": [0, 10, 20, 30],
        "test_acc": [0.10, 0.80, 0.86, 0.83],
        "val_acc": [0.12, 0.81, 0.84, 0.85],
        "train_acc": [None, 0.82, 0.90, 0.95],
    }
    run = {
        "level": 0,
        "arm": "ticket",
        "trial": 0,
        "remaining": 1.0,
        "curve": curve,
        "early_stop": {"iteration": 30, "test_acc": 0.83, "val_acc": 0.85},
        "final": {"test_acc": 0.83},
    }
    row = summary.runs_frame({"hash": "h", "runs": [run]}).iloc[0]
    assert (row["init_test_acc"], row["init_val_acc"]) == (0.10, 0.12)
    assert row["early_stop_train_acc"] == 0.95  # at the stop the validation chose
    assert row["best_test_acc"] == 0.86  # what a stop chosen on the test set would report, iteration 0 aside
    del curve["train_acc"]
    assert math.isnan(summary.runs_frame({"hash": "h", "runs": [run]}).iloc[0]["early_stop_train_acc"])


def record(runs, hash_="0123456789abcdef"):
    """A record with ``runs``: (level, arm, trial, early-stop iteration, last evaluated iteration[, accuracy 0.5])."""
    return {
        "hash": hash_,
        "runs": [
            {
                "level": level,
                "arm": arm,
                "trial": trial,
                "remaining": 0.8**level,
                "early_stop": {"iteration": stop, "test_acc": accuracy, "val_acc": accuracy},
                "final": {"test_acc": accuracy},
                "curve": {"iteration": [0, last // 2, last]},
            }
            for level, arm, trial, stop, last, accuracy in (run if len(run) == 6 else (*run, 0.5) for run in runs)
        ],
    }


def test_means_over_runs_count_each_trained_network_once():
    # 2 dense runs that stop at the last evaluation, 4 pruned runs (ticket and reinit) that do not:
    # 2 of 6 networks, 33 %. Counting the dense copies made for the reinit line would give 4 of 8, 50 %.
    two_arms = record(
        [
            (0, "ticket", 0, 400, 400),
            (0, "ticket", 1, 400, 400),
            (1, "ticket", 0, 200, 400),
            (1, "ticket", 1, 300, 400),
            (1, "reinit", 0, 100, 400),
            (1, "reinit", 1, 200, 400),
        ]
    )
    runs = summary.runs_frame(two_arms)
    assert len(runs) == 8  # the dense runs are still drawn under both arms
    assert summary.mean(runs, "stopped_at_last_evaluation") == pytest.approx(2 / 6)
    assert summary.count(runs) == 6 and summary.count(runs, stopped_at_last_evaluation=True) == 2
    assert summary.mean(runs, "early_stop_iteration", level=0) == 400
    assert summary.mean(runs, "early_stop_iteration") == pytest.approx((400 + 400 + 200 + 300 + 100 + 200) / 6)
    assert summary.by_level(runs, "early_stop_iteration", arm="reinit")["trials"].tolist() == [2, 2]
    # Several records in one frame, as the conv section combines them: still each network once.
    other = record(
        [(0, "ticket", 0, 400, 400), (1, "ticket", 0, 100, 400), (1, "reinit", 0, 100, 400)], hash_="fedcba9876543210"
    )
    both = summary.concat([runs.assign(network="conv2"), summary.runs_frame(other).assign(network="conv4")])
    assert summary.count(both) == 9
    assert summary.mean(both, "stopped_at_last_evaluation") == pytest.approx(3 / 9)
    # within the first 80 % of 400 iterations: stops at 320 or sooner, each network once (the dense copies too)
    assert summary.stopped_within(runs, 0.8) == 4 and summary.stopped_within(both, 0.8) == 6
    assert summary.stopped_within(runs, 0.5) == 3  # 200, 100 and 200 of 400


def test_the_committed_conv_share_counts_each_run_once():
    """The share glued in the lottery-ticket chapter equals the share among its distinct runs."""
    import pathlib

    import nbformat

    notebook = nbformat.read(pathlib.Path(__file__).parent.parent / "book" / "lottery-ticket.ipynb", as_version=4)
    glued = {
        output["metadata"]["scrapbook"]["name"]: output["data"]["application/papermill.record/text/plain"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "scrapbook" in output.get("metadata", {})
    }
    finding = glued["conv_finding"]
    book = chapter.open(
        **dict.fromkeys(("conv_runs", *parameters.CONV_FIELDS)),
    )
    runs = []
    for run in book.conv_runs:
        try:
            stored = book.result(
                experiment="imp", network=run.network, controls=("reinit",), **book.conv_run_settings(run)
            )
        except Exception:  # a record being recomputed: the glued text cannot be checked against it
            pytest.skip(f"the committed {run.network} dropout {run.dropout} record is missing")
        runs += stored["runs"]
    last = sum(r["early_stop"]["iteration"] == r["curve"]["iteration"][-1] for r in runs)
    inside = sum(r["early_stop"]["iteration"] <= 0.8 * r["curve"]["iteration"][-1] for r in runs)
    assert f"({last} of {len(runs)})" in finding, finding
    assert f"{inside} of {len(runs)}, within the first 80 % of training" in finding, finding
    assert f"{100 * last / len(runs):.0f} %" in finding


def test_paired_difference_pairs_trials_and_levels_and_ignores_the_rest():
    a = pd.DataFrame(
        {"trial": [0, 1, 2, 0], "level": [1, 1, 1, 2], "x": [1.0, 2.0, 3.0, 10.0], "run": ["a0", "a1", "a2", "a3"]}
    )
    b = pd.DataFrame({"trial": [0, 1, 5], "level": [1, 1, 1], "x": [0.5, 1.0, 99.0], "run": ["b0", "b1", "b5"]})
    assert summary.paired_difference(a, b, "x") == pytest.approx((0.5 + 1.0) / 2)  # trials 0 and 1 at level 1 only
    with pytest.raises(KeyError, match="share no"):
        summary.paired_difference(a, b, "x", levels=[2])


def test_dropout_effect_reads_dense_change_and_the_ticket_lead_at_the_deepest_level():
    def rec(dense_acc, ticket_acc, reinit_acc, hash_):
        runs = [(0, "ticket", t, 100, 200, dense_acc + 0.01 * t) for t in range(2)]
        runs += [(1, "ticket", t, 100, 200, ticket_acc + 0.01 * t) for t in range(2)]
        runs += [(1, "reinit", t, 100, 200, reinit_acc) for t in range(2)]
        return record(runs, hash_)

    effect = summary.dropout_effect(rec(0.80, 0.82, 0.78, "a"), rec(0.81, 0.85, 0.79, "b"))
    assert effect["dense"] == pytest.approx(1.0)
    assert effect["gap_without"] == pytest.approx(100 * (0.825 - 0.78))
    assert effect["gap_with"] == pytest.approx(100 * (0.855 - 0.79))
    assert effect["percent"] == pytest.approx(80.0)


def test_the_protocol_table_shows_the_settings_the_chapter_runs(tmp_path):
    book = chapter.open(
        scale="smoke",
        store=str(tmp_path),
        conv_network=None,
        conv_iterations=None,
        conv_eval_every=None,
        conv_precision=None,
    )
    table = summary.protocol_table([book.dense_config(network) for network in book.networks]).set_index("network")
    assert table.loc["lenet", "iterations"] == 200  # the smoke scale's LeNet
    assert table.loc["conv2", "iterations"] == parameters.SCALE_DEFAULTS["smoke"]["conv_iterations"]
    assert table.loc["conv4", "precision"] == parameters.SCALE_DEFAULTS["smoke"]["conv_precision"]
    assert table.loc["conv2", "learning rate"] == 2e-4


def test_the_share_of_runs_stopping_inside_training_counts_each_run_once():
    runs = pd.DataFrame(
        {
            "early_stop_iteration": [100, 900, 1000, 100],
            "last_evaluation": [1000, 1000, 1000, 1000],
            "run": ["a", "b", "c", "a"],  # the last row is a dense copy of run a
        }
    )
    assert summary.share_stopping_within(runs) == pytest.approx(1 / 3)
    assert summary.share_stopping_within(runs, fraction=0.95) == pytest.approx(2 / 3)


def test_the_early_stop_summary_says_where_runs_stop_against_a_training_length():
    runs = pd.DataFrame(
        {"early_stop_iteration": [4000, 6000, 8000], "last_evaluation": [50000] * 3, "run": ["a", "b", "c"]}
    )
    text = summary.early_stop_summary(runs, 20000)
    assert "at iteration 6,000 on average (from 4,000 to 8,000), 12 % of the way through" in text
    assert "the latest of them falls at 40 %, inside the first 80 %" in text
    assert "beyond the first 80 %" in summary.early_stop_summary(runs, 9000)
    assert "would stop some of them before their lowest point" in summary.early_stop_summary(runs, 5000)
