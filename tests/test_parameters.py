"""The chapters' parameters: the scale tables, and each parameter checked alone (:mod:`lthlib.analysis.parameters`).

A check returns a message naming the value and what is valid, or ``None``; :func:`lthlib.analysis.chapter.open`
raises the first as a ``ParameterError``.
"""

from __future__ import annotations

import pytest

from lthlib.analysis import chapter, parameters
from lthlib.analysis.parameters import ParameterError


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
    with pytest.raises(ParameterError, match="valid:") as error:
        chapter.open(**kwargs)
    assert expected in str(error.value)


def test_conv_runs_are_parsed_and_checked():
    assert parameters.parse_conv_runs("conv2:0, conv4:0.5,conv6") == [
        parameters.ConvRun("conv2", 0.0),
        parameters.ConvRun("conv4", 0.5),
        parameters.ConvRun("conv6", 0.0),
    ]
    assert parameters.parse_conv_runs("conv2:0.5: iterations=10000:trials=3 , conv6:0:levels=2") == [
        parameters.ConvRun("conv2", 0.5, (("iterations", 10_000), ("trials", 3))),
        parameters.ConvRun("conv6", 0.0, (("levels", 2),)),
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
        message = parameters.check_conv_runs("conv_runs", text)
        for part in named:
            assert part in message, (text, message)
        with pytest.raises(ParameterError) as error:  # read from a value no check passed
            parameters.parse_conv_runs(text)
        assert str(error.value) == message
    assert parameters.check_conv_runs("conv_runs", "conv2:0,conv4:0.5") is None


@pytest.mark.parametrize("scale", ["smoke", "book", "paper"])
def test_parameters_left_at_none_take_the_scale_s_values(scale):
    knobs = {name: None for name in parameters.CHECKS if name != "trials"}
    book = chapter.open(scale=scale, **knobs)
    # a default that names a variant of the chapter's dataset is filled with it
    expected = {
        name: value.format(dataset="fashion-mnist") if isinstance(value, str) else value
        for name, value in parameters.SCALE_DEFAULTS[scale].items()
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

    smoke, paper = parameters.SCALE_DEFAULTS["smoke"], parameters.SCALE_DEFAULTS["paper"]
    assert smoke["trials"] == SCALE_SETTINGS["smoke"]["trials"] and smoke["levels"] == SCALE_SETTINGS["smoke"]["levels"]
    assert paper["levels"] is None and paper["conv_precision"] == "float32"  # each network's own rounds
    assert chapter.open(scale="paper", levels=None).lenet_config().levels == DEFAULT_LEVELS["lenet"]
    book = chapter.open(scale="paper", conv_runs=None, conv_iterations=None, conv_levels=None)
    for run in book.conv_runs:  # unset: each network's own iterations from the paper
        network = run.network
        config = book.config(experiment="imp", network=network, **book.conv_run_settings(run))
        assert config.iterations == PAPER_SETTINGS[network]["iterations"]
        assert config.levels == DEFAULT_LEVELS[network] and config.val_size is None and config.test_subset is None
    for scale, table in parameters.SCALE_DEFAULTS.items():  # rewind is 5 % of LeNet's training at every scale
        iterations = chapter.open(scale=scale, iterations=None, levels=None).lenet_config().iterations
        assert table["rewind"] == iterations // 20


def test_the_short_run_is_parsed_into_experiment_settings():
    assert chapter.open(scale="smoke", short_run=None).short_run == {"iterations": 100, "eval_every": 50, "levels": 2}
    assert chapter.open(scale="smoke", short_run="").short_run is None
    assert parameters.parse_short_run(" 5000/100/18 ") == {"iterations": 5000, "eval_every": 100, "levels": 18}


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("levels", 0, "parameter levels=0 is not valid; valid: a positive integer"),
        ("levels", True, "parameter levels=True is not valid; valid: a positive integer"),
        ("rewind", -1, "parameter rewind=-1 is not valid; valid: an integer >= 0"),
        ("network", "resnet", "parameter network='resnet' is not valid; valid: lenet, conv2, conv4, conv6"),
        ("criteria", "random,random", "parameter criteria='random,random' names one twice"),
        ("shift_target", "imagenet", "parameter shift_target='imagenet' is not valid: "),
        ("probe_run", "50000", "parameter probe_run='50000' is not valid; valid: '' (none) or ITERATIONS/EVAL_EVERY"),
        ("short_run", "100/50/²", "parameter short_run='100/50/²' is not valid; valid: '' (none) or ITERATIONS/"),
    ],
)
def test_every_check_returns_a_message_naming_the_value_and_what_is_valid(name, value, expected):
    message = parameters.CHECKS[name](name, value)
    assert message.startswith(expected), message
    with pytest.raises(ParameterError) as error:
        parameters.refuse(message)
    assert str(error.value) == message
    assert parameters.refuse(None) is None


def test_every_parameter_left_at_none_has_a_value_at_every_scale():
    for scale, table in parameters.SCALE_DEFAULTS.items():
        assert set(table) == set(parameters.CHECKS), scale
        for name, value in table.items():
            if value is not None and not (isinstance(value, str) and "{dataset}" in value):
                assert parameters.CHECKS[name](name, value) is None, (scale, name, value)
