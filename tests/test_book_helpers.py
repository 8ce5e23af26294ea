"""The chapter helpers: parameter checks, tidy frames, and the rules that turn numbers into verdicts."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

from lthlib.analysis import chapter, claims, stats, summary
from lthlib.engine import config

JITTER = (-0.002, -0.001, 0.0, 0.001, 0.002)  # five trials, the same offsets in every arm: paired sd ~ 0


def frame(rows, trials=5, at_end=False):
    """rows: (level, arm, percent, early-stop iteration, accuracy) -> a runs frame with ``trials`` trials each."""
    out = []
    for level, arm, percent, iteration, accuracy in rows:
        for trial in range(trials):
            jitter = JITTER[trial % len(JITTER)] + 0.0003 * (trial * (level + 1) % 3)
            out.append(
                {
                    "level": level,
                    "arm": arm,
                    "trial": trial,
                    "percent": percent,
                    "early_stop_iteration": iteration + 10 * trial,
                    "early_stop_test_acc": accuracy + jitter,
                    "stopped_at_last_evaluation": at_end,
                    "run": f"{level}/{arm}/{trial}",
                }
            )
    return pd.DataFrame(out)


ROWS = [
    (0, "ticket", 100, 1000, 0.88),
    (1, "ticket", 51.3, 800, 0.89),
    (2, "ticket", 21.1, 600, 0.895),
    (3, "ticket", 7.0, 700, 0.885),
    (4, "ticket", 3.6, 900, 0.86),
    (2, "reinit", 21.1, 1100, 0.86),
    (3, "reinit", 7.0, 1300, 0.84),
]
GOOD = frame(ROWS)


def test_paired_interval_is_the_t_interval_of_the_differences():
    result = stats.paired([1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert result.mean == 3.0 and result.n == 5
    assert result.high - result.mean == pytest.approx(2.7764451 * (2.5**0.5) / 5**0.5)  # t(0.975, 4) sd/sqrt(n)
    assert result.verdict() == "supported" and result.verdict(larger=False) == "not supported"
    assert stats.paired([1, -1, 2, -2, 0.1], [0] * 5).verdict() == "inconclusive"
    assert stats.paired([1, 2, 3, 4], [0] * 4).verdict() == "inconclusive"  # fewer than five trials
    assert stats.paired([1, 2, 3, 4, 5], [0] * 5, a_at_end=[True] * 5, b_at_end=[True] * 5).verdict() == "inconclusive"
    with pytest.raises(ValueError, match="equal"):
        stats.paired([1, 2], [1])


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


def test_the_one_shot_and_rewinding_levels_stay_within_the_main_sweep():
    with pytest.raises(chapter.ParameterError) as error:
        chapter.open(scale="smoke", levels=2, extra_levels=3)
    assert "extra_levels=3" in str(error.value) and "valid: an integer from 1 to 2" in str(error.value)
    assert chapter.open(scale="book", levels=4, extra_levels=None).parameters.extra_levels == 4  # the default shrinks
    book = chapter.open(scale="book", levels=None, extra_levels=None).parameters
    assert book.extra_levels < book.levels  # the main sweep goes deeper, to where tickets fall below dense


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(trials=0), "trials=0"),
        (dict(scale="tiny"), "scale='tiny'"),
        (dict(dataset="svhn"), "dataset='svhn'"),
        (dict(device="gpu"), "device='gpu'"),
        (dict(allow_train="yes"), "allow_train='yes'"),
    ],
)
def test_chapter_parameters_are_checked(kwargs, expected):
    with pytest.raises(chapter.ParameterError, match="valid:") as error:
        chapter.open(**kwargs)
    assert expected in str(error.value)


def test_conv_runs_are_parsed_and_checked():
    assert chapter.parse_conv_runs("conv2:0, conv4:0.5,conv6") == [
        chapter.ConvRun("conv2", 0.0),
        chapter.ConvRun("conv4", 0.5),
        chapter.ConvRun("conv6", 0.0),
    ]
    assert chapter.parse_conv_runs("conv2:0.5: iterations=10000:trials=3 , conv6:0:levels=2") == [
        chapter.ConvRun("conv2", 0.5, (("iterations", 10_000), ("trials", 3))),
        chapter.ConvRun("conv6", 0.0, (("levels", 2),)),
    ]
    for text, named in [
        ("lenet:0", ["'lenet'", "conv2"]),
        ("conv2:1.5", ["1.5", "[0, 1)"]),
        ("conv2:0:epochs=3", ["'epochs=3' in 'conv2:0:epochs=3'", "trials=<integer>, levels=<integer>"]),
        ("conv2:0:trials=0", ["trials='0'", "integer >= 1"]),
        ("conv2:0:trials=two", ["trials='two'", "integer >= 1"]),
        ("conv2:0,conv4,conv2:0.0:trials=1", ["conv2 with dropout 0 twice", "each network and dropout rate once"]),
        ("conv2:0:trials=3:trials=1", ["sets trials twice in 'conv2:0:trials=3:trials=1'", "each setting once"]),
    ]:
        with pytest.raises(chapter.ParameterError) as error:
            chapter.parse_conv_runs(text)
        for part in named:
            assert part in str(error.value), (text, str(error.value))


def test_a_conv_run_takes_its_own_settings_over_the_conv_parameters():
    book = chapter.open(scale="smoke", conv_runs="conv2:0,conv2:0.5:iterations=120:trials=1", conv_iterations=60)
    plain, own = (
        book.config(experiment="imp", **book.conv_run_settings(run), network="conv2") for run in book.conv_runs
    )
    assert (plain.dropout, plain.iterations, plain.trials) == (0.0, 60, book.trials)
    assert (own.dropout, own.iterations, own.trials) == (0.5, 120, 1)
    with pytest.raises(chapter.ParameterError, match="conv_runs iterations=50 .* valid: an integer >= 100"):
        chapter.open(scale="book", conv_runs="conv2:0:iterations=50")
    with pytest.raises(chapter.ParameterError, match="conv_runs item conv2:0:levels=100 .* would prune every weight"):
        chapter.open(scale="book", conv_runs="conv2:0:levels=100")


def test_a_chapter_reads_a_read_only_store_and_names_the_missing_command(tmp_path):
    book = chapter.open(scale="smoke", trials=3, store=str(tmp_path))
    with pytest.raises(Exception, match="python -m lthlib run imp --scale smoke --trials 3 --criterion movement"):
        book.result(experiment="imp", criterion="movement")
    with pytest.raises(chapter.ParameterError, match="criterion='best'"):
        book.result(experiment="imp", criterion="best")


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
        **dict.fromkeys(("conv_runs", *chapter.CONV_FIELDS)),
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


@pytest.mark.parametrize("scale", ["smoke", "book", "paper"])
def test_parameters_left_at_none_take_the_scale_s_values(scale):
    knobs = {name: None for name in chapter.CHECKS if name != "trials"}
    book = chapter.open(scale=scale, **knobs)
    # a default that names a variant of the chapter's dataset is filled with it
    expected = {
        name: value.format(dataset="fashion-mnist") if isinstance(value, str) else value
        for name, value in chapter.SCALE_DEFAULTS[scale].items()
    }
    assert expected["transfer_source"] == "fashion-mnist:classes=0-4"
    assert book.trials == expected.pop("trials")
    assert vars(book.parameters) == expected
    table = book.parameters_table()
    assert set(table["from"]) == {f"scale {scale}"}
    given = chapter.open(scale=scale, levels=3, **{k: v for k, v in knobs.items() if k != "levels"})
    assert given.parameters.levels == 3
    assert given.parameters_table().set_index("parameter").loc["levels", "from"] == "given"
    criteria = chapter.open(name="deconstructing", scale=scale, criteria="large_final,random").parameters_table()
    assert criteria.set_index("parameter").loc["criteria", "value"] == "large_final, random"  # a list can wrap


def test_the_smoke_and_paper_tables_follow_the_config():
    from lthlib.engine.config import DEFAULT_LEVELS, PAPER_SETTINGS, SCALE_SETTINGS

    smoke, paper = chapter.SCALE_DEFAULTS["smoke"], chapter.SCALE_DEFAULTS["paper"]
    assert smoke["trials"] == SCALE_SETTINGS["smoke"]["trials"] and smoke["levels"] == SCALE_SETTINGS["smoke"]["levels"]
    assert paper["levels"] is None and paper["conv_precision"] == "float32"  # each network's own rounds
    assert chapter.open(scale="paper", levels=None).lenet_config().levels == DEFAULT_LEVELS["lenet"]
    book = chapter.open(scale="paper", conv_runs=None, conv_iterations=None, conv_levels=None)
    for run in book.conv_runs:  # unset: each network's own iterations from the paper
        network = run.network
        config = book.config(experiment="imp", network=network, **book.conv_run_settings(run))
        assert config.iterations == PAPER_SETTINGS[network]["iterations"]
        assert config.levels == DEFAULT_LEVELS[network] and config.val_size is None and config.test_subset is None
    for scale, table in chapter.SCALE_DEFAULTS.items():  # rewind is 5 % of LeNet's training at every scale
        iterations = chapter.open(scale=scale, iterations=None, levels=None).lenet_config().iterations
        assert table["rewind"] == iterations // 20


def test_rewind_must_fall_within_lenet_training_at_the_scale():
    with pytest.raises(chapter.ParameterError) as error:
        chapter.open(scale="smoke", rewind=250)
    message = str(error.value)
    assert "rewind=250" in message and "scale smoke" in message and "200 iterations" in message
    assert "valid: an integer from 0 to 199" in message
    assert chapter.open(scale="smoke", rewind=None).parameters.rewind < 200  # the scale's own value fits
    assert chapter.open(scale="book", rewind=250).parameters.rewind == 250


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(scale="book", conv_runs="conv2:0", conv_iterations=50), ["conv_iterations=50", "every 100", ">= 100"]),
        (
            dict(scale="smoke", conv_runs="conv2:0", conv_iterations=60, conv_eval_every=100),
            ["conv_iterations=60", "every 100", "(conv_eval_every)", ">= 100"],
        ),
        (dict(conv_eval_every=0), ["conv_eval_every=0", "positive integer"]),
        (dict(short_run="5000/100"), ["short_run='5000/100'", "ITERATIONS/EVAL_EVERY/LEVELS", "'5000/100/18'"]),
        (dict(short_run="100/200/2"), ["short_run='100/200/2'", "EVAL_EVERY <= ITERATIONS"]),
        (dict(probe_run="50000"), ["probe_run='50000'", "ITERATIONS/EVAL_EVERY", "'50000/250'"]),
        (dict(conv_runs="conv2:0", conv_val_size=70_000), ["parameter conv_val_size=70000", "valid: 0..59,999"]),
        (dict(conv_network="conv2", conv_test_subset=20_000), ["parameter conv_test_subset=20000", "valid: 1..10,000"]),
        (
            dict(conv_runs="conv2:0", conv_train_subset=100_000),
            ["parameter conv_train_subset=100000", "valid: 1.."],
        ),
        (dict(conv_runs="lenet:0"), ["conv_runs network='lenet'", "conv2, conv4, conv6"]),
        (dict(conv_precision="float16"), ["conv_precision='float16'", "float32, bfloat16"]),
        (dict(levels=0), ["levels=0", "positive integer"]),
        (dict(colour="red"), ["unknown chapter parameter 'colour'", "levels"]),
    ],
)
def test_parameters_that_combine_are_checked_together(kwargs, expected):
    with pytest.raises(chapter.ParameterError) as error:
        chapter.open(**kwargs)
    for text in expected:
        assert text in str(error.value)


def test_convolutional_sections_are_skipped_without_images():
    book = chapter.open(dataset="mnist1d", scale="smoke", conv_runs="conv2:0,conv4:0.5", conv_iterations=10)
    assert book.conv_runs == [] and book.networks == ("lenet",)
    assert "mnist1d" in book.conv_skipped and "images" in book.conv_skipped
    assert set(book.parameters_table().set_index("parameter").filter(like="conv_", axis=0)["value"]) == {
        "not used: no images"
    }
    empty = chapter.open(scale="smoke", conv_runs="")
    assert empty.conv_runs == [] and "conv_runs is empty" in empty.conv_skipped
    assert chapter.open(scale="smoke", conv_runs=None).conv_skipped is None


def test_a_result_computed_here_shows_a_progress_bar_and_a_stored_one_does_not(tmp_path, capsys, fashion):
    book = chapter.open(scale="smoke", trials=1, store=str(tmp_path), allow_train=True)
    first = book.result(experiment="dense", network="lenet")
    bar = capsys.readouterr().err
    assert "training dense lenet" in bar and "200/200" in bar
    again = book.result(experiment="dense", network="lenet")
    assert capsys.readouterr().err == "" and again == first


def test_the_spread_is_a_band_from_five_trials_and_every_trial_below():
    from lthlib.analysis import plots

    assert plots.spread(GOOD, ["arm", "level"]) == plots.BAND
    assert plots.spread(frame(ROWS, trials=3), ["arm", "level"]) == plots.TRIAL_LINES


def test_a_figure_band_is_the_t_interval_over_trials_the_claims_use():
    from lthlib.analysis import plots

    accuracy = [0.1, 0.2, 0.3, 0.4, 0.5]
    curves = pd.DataFrame(
        [(trial, 0, 0.3) for trial in range(5)] + [(trial, 100, accuracy[trial]) for trial in range(5)],
        columns=["trial", "iteration", "test_acc"],
    ).assign(arm="ticket")
    ax = plots.over_training(curves, "test_acc", "test accuracy")
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # zero width at iteration 0, where every trial is 0.3
    low, high = stats.t_interval(accuracy)
    assert high - 0.3 == pytest.approx(2.7764451 * (0.025**0.5) / 5**0.5)  # t(0.975, 4) sd/sqrt(n)
    assert (band.min(), band.max()) == pytest.approx((low, high))
    plots.plt.close(ax.get_figure())


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


def test_tables_show_no_index_and_text_stays_literal():
    from lthlib.analysis import report

    table = report.Table(pd.DataFrame({"claim": ["a < b"], "n": [5]}, index=[7]))
    html = table._repr_html_()
    assert "<th>7</th>" not in html and ">7<" not in html
    assert "a &lt; b" in html
    assert repr(table).splitlines() == ["claim  n", "a < b  5"]
    text = report.Text("keep *stars* and `ticks`", "second <item>")
    assert text._repr_markdown_() == "- keep \\*stars\\* and \\`ticks\\`\n- second &lt;item&gt;"
    assert repr(text) == "keep *stars* and `ticks`\nsecond <item>"


def test_the_settings_box_sets_each_network_beside_the_paper(tmp_path):
    book = chapter.open(scale="smoke", store=str(tmp_path))

    def used(network, experiment, iterations, trials, precision, rewind=0):
        config = {
            "network": network,
            "experiment": experiment,
            "iterations": iterations,
            "eval_every": 50,
            "trials": trials,
            "precision": precision,
            "rewind": rewind,
            "dataset": "fashion-mnist",
            "val_size": 1000 if network != "lenet" else None,
            "train_subset": 10_000 if network != "lenet" else None,
        }
        return {"config": config, "provenance": {"device": "cpu (x86_64)", "threads": 2}}

    book.used = [
        used("lenet", "imp", 200, 5, "float32"),
        used("lenet", "imp", 200, 3, "float32", rewind=10),
        used("conv2", "imp", 50, 1, "bfloat16"),
    ]
    box = book.settings_table().set_index("setting")
    assert list(box.columns) == ["this chapter", "Frankle & Carbin"]
    assert box.loc["dataset", "this chapter"] == "Fashion-MNIST"
    assert box.loc["networks", "this chapter"] == "LeNet-300-100, Conv-2"
    assert box.loc["training length", "this chapter"] == (
        "200 iterations, evaluated every 50 (LeNet-300-100); 50 iterations, evaluated every 50 (Conv-2)"
    )
    assert box.loc["trials", "this chapter"] == (
        "5 (LeNet-300-100 iterative pruning); 3 (LeNet-300-100 rewinding to 10); 1 (Conv-2 iterative pruning)"
    )
    assert box.loc["training images", "this chapter"] == (
        "all 55,000 outside the validation set (LeNet-300-100); "
        "10,000 of the 59,000 outside the validation set (Conv-2)"
    )
    assert box.loc["hardware", "this chapter"] == "cpu (x86_64), 2 threads"
    assert "LeNet-300-100: 50,000 iterations" in box.loc["training length", "Frankle & Carbin"]
    assert "55,000 on MNIST" in box.loc["training images", "Frankle & Carbin"]

    book.used = book.used[:2]
    assert "training images" not in set(book.settings_table()["setting"]), "no run learns from a subset"


def test_a_figure_gets_one_legend_below_its_panels():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots

    fig, (left, right) = plots.side_by_side(2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], label="ticket")
        ax.plot([0, 1], [1, 0], label="reinit")
        ax.legend()
    plots.finish(fig)
    assert left.get_legend() is None and right.get_legend() is None
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ticket", "reinit"]


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
    assert table.loc["conv2", "iterations"] == chapter.SCALE_DEFAULTS["smoke"]["conv_iterations"]
    assert table.loc["conv4", "precision"] == chapter.SCALE_DEFAULTS["smoke"]["conv_precision"]
    assert table.loc["conv2", "learning rate"] == 2e-4


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


def test_the_short_run_is_parsed_into_experiment_settings():
    assert chapter.open(scale="smoke", short_run=None).short_run == {"iterations": 100, "eval_every": 50, "levels": 2}
    assert chapter.open(scale="smoke", short_run="").short_run is None
    assert chapter.parse_short_run(" 5000/100/18 ") == {"iterations": 5000, "eval_every": 100, "levels": 18}


def test_the_early_stop_summary_says_where_runs_stop_against_a_training_length():
    runs = pd.DataFrame(
        {"early_stop_iteration": [4000, 6000, 8000], "last_evaluation": [50000] * 3, "run": ["a", "b", "c"]}
    )
    text = summary.early_stop_summary(runs, 20000)
    assert "at iteration 6,000 on average (from 4,000 to 8,000), 12 % of the way through" in text
    assert "the latest of them falls at 40 %, inside the first 80 %" in text
    assert "beyond the first 80 %" in summary.early_stop_summary(runs, 9000)
    assert "would stop some of them before their lowest point" in summary.early_stop_summary(runs, 5000)


def test_lenet_length_parameters_set_every_lenet_run_and_are_checked_together():
    book = chapter.open(scale="smoke", iterations=300, eval_every=100, levels=None)
    assert (book.lenet_config().iterations, book.lenet_config().eval_every) == (300, 100)
    assert book.dense_config("lenet").iterations == 300 and book.dense_config("lenet").levels == 0
    paper = chapter.open(scale="paper", iterations=None, eval_every=None).parameters_table().set_index("parameter")
    assert paper.loc["iterations", "value"] == "50,000" and paper.loc["eval_every", "value"] == "100"
    with pytest.raises(chapter.ParameterError) as error:
        chapter.open(scale="smoke", iterations=100, eval_every=250)
    assert "iterations=100" in str(error.value) and "eval_every=250" in str(error.value)
    with pytest.raises(chapter.ParameterError) as error:  # the book's rewinding iteration, 2,500, no longer fits
        chapter.open(scale="book", iterations=2000, eval_every=None, rewind=None)
    assert "rewind=2500" in str(error.value) and "valid: an integer from 0 to 1,999" in str(error.value)


def test_sweeps_read_together_are_trained_together_once_and_their_time_counted_once(tmp_path, capsys, fashion):
    book = chapter.open(scale="smoke", trials=1, store=str(tmp_path), allow_train=True)
    arms = [
        dict(experiment="imp", network="lenet", levels=1, controls=(), criterion=c) for c in ("large_final", "random")
    ]
    together = book.results_together(arms[0], *arms)  # a sweep asked twice is trained once and returned twice
    assert "400/400" in capsys.readouterr().err  # the dense level and one round, for both sweeps
    assert [r["config"]["criterion"] for r in together] == ["large_final", "large_final", "random"]
    records = together[1:]
    assert [r["provenance"]["trained_with"] for r in records] == [[records[1]["hash"]], [records[0]["hash"]]]
    seconds = max(r["provenance"]["wall_seconds"] for r in records)
    assert chapter.format_duration(seconds) in book.provenance_note()
    assert chapter.compute_note(records[:1]) == chapter.compute_note(records).replace(
        "(2 stored experiments)",
        "(1 stored experiment, trained in the same runs as 1 stored experiment not shown here, whose time is included)",
    )
    assert book.results_together(*arms) == records and capsys.readouterr().err == ""
    with pytest.raises(chapter.ParameterError, match="differs from"):
        book.results_together(arms[0], {**arms[1], "iterations": 100})


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


def test_every_criterion_keeps_its_colour_in_every_figure():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots
    from lthlib.engine import masks

    palette = plots.criterion_palette()
    assert set(palette) == set(masks.CRITERIA)
    nearest = min(math.dist(a, b) for a, b in itertools.combinations(palette.values(), 2))
    assert nearest > 0.15  # ten lines in one figure, each told apart at a glance (two greys were 0.14 apart)
    rows = [(level, arm, p, 500, 0.8) for level, p in ((1, 51.3), (2, 21.1)) for arm in ("random", "movement")]
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=palette)
    legend = {
        text.get_text(): handle.get_color()
        for text, handle in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)
    }
    assert list(legend) == ["movement", "random"]  # the palette's order
    assert matplotlib.colors.to_rgb(legend["random"]) == palette["random"]
    actions = plots.action_palette(["original", "reinit", "signed_reinit"])  # reinit as a mask-1 action, not relabelled
    rows = [(level, arm, p, 500, 0.8) for level, p in ((1, 51.3), (2, 21.1)) for arm in actions]
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=actions)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(actions)
    ax = plots.versus_remaining(frame(rows), "early_stop_test_acc", "accuracy", palette=plots.arm_palette())
    assert "random reinit" in [text.get_text() for text in ax.get_legend().get_texts()]  # a control keeps its label


def test_every_arm_of_the_review_keeps_one_colour_and_the_ticket_that_of_large_final():
    from lthlib.analysis import plots

    palette = plots.arm_palette()
    assert list(palette)[:2] == ["winning ticket", "rewound"] and "mask from the source" in palette
    assert len(set(palette.values())) == len(palette) == len(plots.ARM_ORDER)
    assert palette["winning ticket"] == plots.criterion_palette()["large_final"]
    extended = plots.extended_palette(plots.criterion_palette(), ["movement", "another θ0"])
    assert extended["movement"] == plots.criterion_palette()["movement"] and "another θ0" in extended


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


def test_every_experiment_has_a_name_for_the_settings_box():
    assert set(chapter.EXPERIMENT_KINDS) == set(config.EXPERIMENTS)


def test_the_masks_compared_with_a_ticket_are_told_apart_and_the_criteria_keep_their_colours():
    from lthlib.analysis import plots

    palette = plots.comparison_palette()
    assert list(palette) == list(plots.COMPARISON_ORDER)
    assert min(math.dist(a, b) for a, b in itertools.combinations(palette.values(), 2)) > 0.15
    for criterion in ("magnitude_increase", "movement"):
        assert palette[criterion] == plots.criterion_palette()[criterion]


def test_a_narrow_panel_labels_fewer_sizes_and_always_the_sparsest():
    import matplotlib

    matplotlib.use("Agg")
    from lthlib.analysis import plots

    sizes = [100 * 0.8**k for k in range(23)]
    labels = {}
    for panels, width in ((3, 12.0), (1, 8.0)):
        fig, axes = plots.side_by_side(panels, width=width)
        plots._percent_axis(axes[0], sizes)
        labels[panels] = [float(t.get_text()) for t in axes[0].get_xticklabels()]
    assert 3 <= len(labels[3]) < len(labels[1]) <= 9
    assert all(shown[0] == 100 and shown[-1] == round(sizes[-1], 1) for shown in labels.values())
    ratios = [a / b for shown in labels.values() for a, b in zip(shown, shown[1:])]
    assert min(ratios) > 1.5  # no two labels crowd each other on the log axis


def test_the_verdict_bars_stack_each_point_s_counts_in_the_verdicts_colours():
    from lthlib.analysis import plots

    counts = pd.DataFrame(
        {stats.SUPPORTED: [2, 0], stats.NOT_SUPPORTED: [1, 0], stats.INCONCLUSIVE: [0, 3]}, index=["Signs", "Zeros"]
    )
    ax = plots.verdict_counts(counts)
    bars = {container.get_label(): container for container in ax.containers}
    assert list(bars) == list(plots.VERDICT_COLOURS)
    # the first point on top: barh draws its rows bottom-up, so "Signs" is the second bar of each verdict
    assert [bar.get_width() for bar in bars[stats.SUPPORTED]] == [0, 2]
    assert [bar.get_x() for bar in bars[stats.NOT_SUPPORTED]] == [0, 2]  # stacked after the supported
    assert [bar.get_x() for bar in bars[stats.INCONCLUSIVE]] == [0, 3]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["Zeros", "Signs"]
