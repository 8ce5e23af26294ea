"""The checks of a chapter's parameters together (:mod:`lthlib.analysis.checks`), as
:func:`lthlib.analysis.chapter.open` runs them: each stops the chapter with one message naming the values and what is
valid at that scale."""

from __future__ import annotations

import pytest

from lthlib.analysis import chapter, chapters, checks
from lthlib.analysis.parameters import ParameterError


def test_the_one_shot_and_rewinding_levels_stay_within_the_main_sweep():
    with pytest.raises(ParameterError) as error:
        chapter.open(scale="smoke", levels=2, extra_levels=3)
    assert "extra_levels=3" in str(error.value) and "valid: an integer from 1 to 2" in str(error.value)
    assert chapter.open(scale="book", levels=4, extra_levels=None).parameters.extra_levels == 4  # the default shrinks
    book = chapter.open(scale="book", levels=None, extra_levels=None).parameters
    assert book.extra_levels < book.levels  # the main sweep goes deeper, to where tickets fall below dense


def test_a_conv_run_takes_its_own_settings_over_the_conv_parameters():
    book = chapter.open(scale="smoke", conv_runs="conv2:0,conv2:0.5:iterations=120:trials=1", conv_iterations=60)
    plain, own = (
        book.config(experiment="imp", **book.conv_run_settings(run), network="conv2") for run in book.conv_runs
    )
    assert (plain.dropout, plain.iterations, plain.trials) == (0.0, 60, book.trials)
    assert (own.dropout, own.iterations, own.trials) == (0.5, 120, 1)
    with pytest.raises(ParameterError, match="conv_runs iterations=50 .* valid: an integer >= 100"):
        chapter.open(scale="book", conv_runs="conv2:0:iterations=50")
    with pytest.raises(ParameterError, match="conv_runs item conv2:0:levels=100 .* would prune every weight"):
        chapter.open(scale="book", conv_runs="conv2:0:levels=100")


def test_rewind_must_fall_within_lenet_training_at_the_scale():
    with pytest.raises(ParameterError) as error:
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
    with pytest.raises(ParameterError) as error:
        chapter.open(**kwargs)
    for text in expected:
        assert text in str(error.value)


def test_lenet_length_parameters_set_every_lenet_run_and_are_checked_together():
    book = chapter.open(scale="smoke", iterations=300, eval_every=100, levels=None)
    assert (book.lenet_config().iterations, book.lenet_config().eval_every) == (300, 100)
    assert book.dense_config("lenet").iterations == 300 and book.dense_config("lenet").levels == 0
    paper = chapter.open(scale="paper", iterations=None, eval_every=None).parameters_table().set_index("parameter")
    assert paper.loc["iterations", "value"] == "50,000" and paper.loc["eval_every", "value"] == "100"
    with pytest.raises(ParameterError) as error:
        chapter.open(scale="smoke", iterations=100, eval_every=250)
    assert "iterations=100" in str(error.value) and "eval_every=250" in str(error.value)
    with pytest.raises(ParameterError) as error:  # the book's rewinding iteration, 2,500, no longer fits
        chapter.open(scale="book", iterations=2000, eval_every=None, rewind=None)
    assert "rewind=2500" in str(error.value) and "valid: an integer from 0 to 1,999" in str(error.value)


def test_each_chapter_runs_its_checks_in_the_order_of_all_of_them():
    for spec in chapters.CHAPTERS:
        assert list(spec.checks) == [check for check in checks.ALL if check in spec.checks], spec.name
    assert chapters.UNNAMED.checks == checks.ALL


def test_a_check_returns_its_message_and_passes_where_the_chapter_lacks_its_parameters():
    book = chapter.open(scale="smoke", rewind=None)
    book.parameters.rewind = 250  # as if given: the check alone, without open
    message = checks.rewind_within_training(book)
    assert message.startswith("parameter rewind=250 is not valid at scale smoke")
    assert checks.rewind_within_training(chapter.open(scale="smoke")) is None  # no rewind parameter
    assert all(check(chapter.open(scale="smoke")) is None for check in checks.ALL)
