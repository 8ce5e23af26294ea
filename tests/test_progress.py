"""The one progress bar of training (:mod:`lthlib.analysis.progress`), in a chapter and on the command line."""

from __future__ import annotations

from lthlib.analysis import chapter
from lthlib.analysis.progress import ProgressBar
from lthlib.engine import experiments
from lthlib.engine.config import ExperimentConfig, resolve
from lthlib.engine.levels import cohort_levels


def test_a_result_computed_here_shows_a_progress_bar_and_a_stored_one_does_not(tmp_path, capsys, fashion):
    book = chapter.open(scale="smoke", trials=1, store=str(tmp_path), allow_train=True)
    first = book.result(experiment="dense", network="lenet")
    bar = capsys.readouterr().err
    assert "training dense lenet" in bar and "200/200" in bar
    again = book.result(experiment="dense", network="lenet")
    assert capsys.readouterr().err == "" and again == first


def test_the_bar_counts_the_steps_of_the_levels_that_train_together_and_is_drawn_only_once_training_starts(capsys):
    config = resolve(ExperimentConfig(experiment="oneshot", scale="smoke", levels=4))
    groups = cohort_levels(config)
    assert groups == [[0], [1, 2, 3, 4]]  # the one-shot levels train as one cohort
    with ProgressBar(config) as bar:
        assert not bar.started and capsys.readouterr().err == ""
        assert bar.total == experiments.total_steps(config) == len(groups) * config.iterations
        bar.resumed(0)  # the dense level was finished: one group of the two
        assert bar.started and bar.bar.n == config.iterations
        bar.advance(config.iterations)  # the pruned levels, one cohort
        assert bar.bar.n == bar.total
    err = capsys.readouterr().err
    assert "resuming after finished level" in err and "training oneshot lenet (fashion-mnist, smoke)" in err


def test_the_command_line_draws_the_same_bar(tmp_path, capsys, fashion):
    from lthlib.cli.commands import main

    assert main(["run", "dense", "--scale", "smoke", "--trials", "1", "--store", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "training dense lenet (fashion-mnist, smoke)" in captured.err and "200/200" in captured.err
    assert "computed" in captured.out
    assert main(["run", "dense", "--scale", "smoke", "--trials", "1", "--store", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "already stored" in captured.out
