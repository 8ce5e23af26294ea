"""The chapter helpers: parameter checks, tidy frames, and the rules that turn numbers into verdicts."""

from __future__ import annotations

import pandas as pd
import pytest

from lthlib import chapter, claims, summary


def frame(rows):
    """rows: (level, arm, percent, early-stop iteration, accuracy) -> a runs frame with two trials each."""
    out = []
    for level, arm, percent, iteration, accuracy in rows:
        for trial, jitter in enumerate((-0.001, 0.001)):
            out.append({"level": level, "arm": arm, "trial": trial, "percent": percent,
                        "early_stop_iteration": iteration, "early_stop_test_acc": accuracy + jitter})
    return pd.DataFrame(out)


GOOD = frame([(0, "ticket", 100, 1000, 0.88), (1, "ticket", 51.3, 800, 0.89), (2, "ticket", 21.1, 600, 0.895),
              (3, "ticket", 7.0, 700, 0.885), (4, "ticket", 3.6, 900, 0.87),
              (2, "reinit", 21.1, 1100, 0.86), (3, "reinit", 7.0, 1300, 0.84)])


def test_tickets_exist_below_reads_the_deepest_matching_level():
    verdict = claims.tickets_exist_below(GOOD)
    assert verdict.verdict == "supported" and verdict.ours.startswith("7.0 %")
    shallow = GOOD[~((GOOD["level"] == 3) & (GOOD["arm"] == "ticket"))].copy()
    shallow.loc[(shallow["level"] == 2) & (shallow["arm"] == "ticket"), "early_stop_test_acc"] = 0.80
    assert claims.tickets_exist_below(shallow).verdict == "not supported"


def test_faster_and_better_and_reinit_loses():
    faster = claims.faster_and_better_at(GOOD, 2)
    assert faster.verdict == "supported" and "40 % sooner" in faster.ours and "+1.50 points" in faster.ours
    assert claims.reinit_loses(GOOD, 2).verdict == "supported"
    better_reinit = GOOD.copy()
    better_reinit.loc[better_reinit["arm"] == "reinit", "early_stop_test_acc"] = 0.95
    assert claims.reinit_loses(better_reinit, 2).verdict == "partly: slower only"


def test_iterative_against_oneshot():
    oneshot = frame([(0, "ticket", 100, 1000, 0.88), (1, "ticket", 51.3, 900, 0.885), (2, "ticket", 21.1, 900, 0.87)])
    verdict = claims.iterative_beats_oneshot(GOOD, oneshot)
    assert verdict.verdict == "supported" and "one-shot down to 51.3 %" in verdict.ours
    assert claims.iterative_beats_oneshot(oneshot, GOOD).verdict == "not supported"
    assert list(claims.table([verdict]).columns) == ["claim", "paper", "this book", "verdict"]


def test_runs_frame_starts_every_arm_at_the_dense_network(smoke_record):
    runs = summary.runs_frame(smoke_record)
    for arm in ("ticket", "reinit", "random_prune"):
        assert summary.mean(runs, "percent", arm=arm, level=0) == 100
    assert len(runs) == 2 * 3 + 2 * 3 * 2  # level 0 shown under each arm, then 2 levels x 3 arms x 2 trials
    assert summary.level_nearest(smoke_record, 64.0) == 2
    with pytest.raises(KeyError):
        summary.mean(runs, "percent", arm="ticket", level=9)


@pytest.mark.parametrize("kwargs, expected", [
    (dict(trials=0), "trials=0"),
    (dict(scale="tiny"), "scale='tiny'"),
    (dict(dataset="svhn"), "dataset='svhn'"),
    (dict(device="gpu"), "device='gpu'"),
    (dict(allow_train="yes"), "allow_train='yes'"),
])
def test_chapter_parameters_are_checked(kwargs, expected):
    with pytest.raises(chapter.ParameterError, match="valid:") as error:
        chapter.open(**kwargs)
    assert expected in str(error.value)


def test_conv_runs_are_parsed_and_checked():
    assert chapter.parse_conv_runs("conv2:0, conv4:0.5,conv6") == [("conv2", 0.0), ("conv4", 0.5), ("conv6", 0.0)]
    with pytest.raises(chapter.ParameterError, match="'lenet'.*conv2"):
        chapter.parse_conv_runs("lenet:0")
    with pytest.raises(chapter.ParameterError, match="1.5"):
        chapter.parse_conv_runs("conv2:1.5")


def test_a_chapter_reads_a_read_only_store_and_names_the_missing_command(tmp_path):
    book = chapter.open(scale="smoke", trials=3, store=str(tmp_path))
    with pytest.raises(Exception, match="python -m lthlib run imp --scale smoke --trials 3 --criterion movement"):
        book.result(experiment="imp", criterion="movement")
    with pytest.raises(chapter.ParameterError, match="criterion='best'"):
        book.result(experiment="imp", criterion="best")
