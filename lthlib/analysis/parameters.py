"""The chapters' parameters: what each left at ``None`` becomes at each scale, and how each is checked.

A chapter parameter left at ``None`` means "the scale decides": its value
comes from :data:`SCALE_DEFAULTS`, one table per scale (``book`` holds the
values the committed results were computed with, so the book reads the
committed store; ``smoke`` runs in seconds; ``paper`` is the papers'
settings), after the chapter's own defaults where its entry in
:mod:`lthlib.analysis.chapters` has some.

Checks follow the config's idiom (:mod:`lthlib.engine.config`): a check
``check(name, value)`` returns a one-line message naming the value and what
is valid, or ``None``; :data:`CHECKS` has one per parameter, and
:func:`refuse` is the one place that turns a message into a
:class:`ParameterError` (:func:`lthlib.analysis.chapter.open` calls it before
any work). The parsers of the parameters written as text
(:func:`parse_conv_runs`, :func:`parse_names`, :func:`parse_run`) read values
those checks passed, and refuse any other with the check's message.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..engine import actions, data, masks, supermask
from ..engine.config import DEFAULT_LEVELS, PRECISIONS, SCALE_SETTINGS, ConfigError

CONV_NETWORKS = ("conv2", "conv4", "conv6")

# The nine mask criteria of Zhou et al. (large_final_same_sign, their supermask criterion, is not among them),
# and the mask-1 and mask-0 actions other than the ticket's own (original values, pruned weights at zero).
ZHOU_CRITERIA = tuple(name for name in masks.CRITERIA if name != "large_final_same_sign")
MASK1_VARIANTS = tuple(name for name in actions.MASK1_ACTIONS if name != "original")
MASK0_VARIANTS = tuple(name for name in actions.MASK0_ACTIONS if name != "zero")
ZHOU_MASK0 = ("freeze_init", "freeze_init_zero_mask")  # Zhou et al.'s own; the others are the book's

# The parameters every chapter has, beside its own (papermill sets them all); trials is checked with its own.
COMMON = ("dataset", "scale", "trials", "device", "store", "allow_train")


class ParameterError(ConfigError):
    """A chapter parameter has a bad value; the message names it and the valid values."""


def refuse(problem: str | None) -> None:
    """Raise :class:`ParameterError` with ``problem``, a check's message, if there is one."""
    if problem:
        raise ParameterError(problem)


# What a chapter parameter left at None becomes, per scale. A value of None in
# this table leaves the matching experiment setting unset, so lthlib.engine.config
# resolves it from the scale and the network (e.g. the paper's iterations of
# each convolutional network at scale paper).
#
# book: exactly the settings of the committed results in book/results. The conv networks learn from 10,000 training
#   images, so that their runs reach their lowest validation loss well inside 2,000 iterations (dense Conv-2 stops
#   at 1,200 to 1,600, dense Conv-6 at 800 to 1,100): 5 trials of 6 rounds of Conv-2, and of the costlier Conv-6
#   the 3 trials of 4 rounds a CPU afforded. With dropout, dense Conv-2 stops at 1,600 to 2,300, so it trains
#   3,000 iterations.
# smoke: seconds on a CPU (tests, CI): one Conv-2 run, as short as the smoke evaluation interval
#   allows (50 iterations), judged on 100 validation and 100 test images.
# paper: Frankle & Carbin's settings (lthlib.engine.config.PAPER_SETTINGS and the
#   paper scale of SCALE_SETTINGS): full training length and data, 5 trials,
#   float32, Conv-2/4/6 with and without dropout.
# iterations and eval_every set the LeNet-300-100 runs (None: the scale's own; smoke 200/50,
# book 50,000/500, paper 50,000/100). rewind is 5 % of LeNet's training length at every scale. extra_trials and
# extra_levels set the one-shot and rewinding runs (at book scale they stop two rounds short of the main sweep, which
# goes on until tickets fall below dense). short_run is the shorter
# LeNet run the main one is compared with (iterations/eval_every/levels; "" for none);
# probe_run a long dense LeNet run that shows where early stopping happens (iterations/eval_every).
# The Zhou et al. and review chapters' knobs that every scale sets alike: all of the paper's criteria, actions and
# supermask methods, and transfers between variants of the chapter's dataset ("{dataset}" is filled in).
ZHOU_AND_REVIEW = dict(
    network="lenet",
    criteria=",".join(ZHOU_CRITERIA),
    conv_criteria=",".join(ZHOU_CRITERIA),
    mask1_actions=",".join(MASK1_VARIANTS),
    mask0_actions=",".join(ZHOU_MASK0),
    supermask_methods=",".join(supermask.MODES),
    supermask_starts="original,signed_constant",
    transfer_source="{dataset}:classes=0-4",
    transfer_target="{dataset}:classes=5-9",
    shift_target="{dataset}:tilted",
)

SCALE_DEFAULTS = {
    "smoke": dict(
        trials=SCALE_SETTINGS["smoke"]["trials"],
        iterations=None,
        eval_every=None,
        levels=SCALE_SETTINGS["smoke"]["levels"],
        rewind=10,
        extra_trials=2,
        extra_levels=SCALE_SETTINGS["smoke"]["levels"],
        short_run="100/50/2",
        probe_run="400/50",
        conv_network="conv2",
        conv_runs="conv2:0",
        conv_trials=1,
        conv_levels=1,
        conv_iterations=20,  # a Conv-2 step takes 0.15 s on 2 cores without native bfloat16, even in float32
        conv_eval_every=10,
        # float32 where the book scale has bfloat16: a smoke run must take seconds on any CPU, and bfloat16 is fast
        # only where the CPU multiplies it natively (train.BFLOAT16_EMULATED); unit tests cover the bfloat16 path
        conv_precision="float32",
        conv_val_size=100,  # a conv evaluation costs as much as training: smoke runs evaluate on few images
        conv_test_subset=100,
        conv_train_subset=None,
        action_levels=1,
        supermask_iterations=100,
        supermask_eval_every=50,
        criteria_conv="conv2",
        **ZHOU_AND_REVIEW,
    ),
    "book": dict(
        trials=5,
        iterations=50_000,
        eval_every=500,
        levels=22,
        rewind=2500,
        extra_trials=5,
        extra_levels=20,
        short_run="5000/100/18",
        probe_run="",
        conv_network="conv2",
        conv_runs="conv2:0,conv6:0:trials=3:levels=4,conv2:0.5:iterations=3000",
        conv_trials=5,
        conv_levels=6,
        conv_iterations=2000,
        conv_eval_every=100,
        conv_precision="bfloat16",
        conv_val_size=1000,
        conv_test_subset=2000,
        conv_train_subset=10_000,
        action_levels=8,
        supermask_iterations=15_000,
        supermask_eval_every=250,
        criteria_conv="",
        **ZHOU_AND_REVIEW,
    ),
    "paper": dict(
        trials=SCALE_SETTINGS["paper"]["trials"],
        iterations=None,
        eval_every=None,
        levels=None,  # each network's own (lthlib.engine.config.DEFAULT_LEVELS)
        rewind=2500,
        extra_trials=SCALE_SETTINGS["paper"]["trials"],
        extra_levels=DEFAULT_LEVELS["lenet"],
        short_run="",
        probe_run="",
        conv_network="conv2",
        conv_runs="conv2:0,conv2:0.5,conv4:0,conv4:0.5,conv6:0,conv6:0.5",
        conv_trials=SCALE_SETTINGS["paper"]["trials"],
        conv_levels=None,
        conv_iterations=None,
        conv_eval_every=None,
        conv_precision="float32",
        conv_val_size=None,
        conv_test_subset=None,
        conv_train_subset=None,
        action_levels=None,
        supermask_iterations=None,
        supermask_eval_every=None,
        criteria_conv="conv2",
        **ZHOU_AND_REVIEW,
    ),
}


# The experiment settings of the LeNet-300-100 runs that chapter parameters of the same name set.
LENET_FIELDS = ("iterations", "eval_every", "levels")

# The experiment setting each convolutional parameter sets.
CONV_FIELDS = {
    "conv_trials": "trials",
    "conv_levels": "levels",
    "conv_iterations": "iterations",
    "conv_eval_every": "eval_every",
    "conv_precision": "precision",
    "conv_val_size": "val_size",
    "conv_test_subset": "test_subset",
    "conv_train_subset": "train_subset",
}


def check_choice(name: str, value, valid) -> str | None:
    if value not in valid:
        return f"parameter {name}={value!r} is not valid; valid: {', '.join(map(str, valid))}"
    return None


def check_positive_int(name: str, value) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return f"parameter {name}={value!r} is not valid; valid: a positive integer"
    return None


def check_non_negative_int(name: str, value) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return f"parameter {name}={value!r} is not valid; valid: an integer >= 0"
    return None


def check_fraction(name: str, value, low_inclusive: bool = True) -> str | None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 <= value < 1 if low_inclusive else 0 < value < 1)
    )
    if not ok:
        interval = "[0, 1)" if low_inclusive else "(0, 1)"
        return f"parameter {name}={value!r} is not valid; valid: a number in {interval}"
    return None


def check_dataset(name: str, value) -> str | None:
    problem = data.check_name(value)
    return f"parameter {name}={value!r} is not valid: {problem}" if problem else None


class ConvRun(NamedTuple):
    """One run of the parameter conv_runs: a convolutional network, its dropout rate, and the settings this run
    alone takes instead of the conv_* parameters (``own``: ``(setting, value)`` pairs, see :data:`CONV_RUN_OWN`)."""

    network: str
    dropout: float
    own: tuple = ()


# The settings one convolutional run may take for itself, e.g. a longer training with dropout or fewer trials for
# a slower network: conv_runs="conv2:0,conv2:0.5:iterations=10000,conv6:0:trials=1".
CONV_RUN_OWN = ("trials", "levels", "iterations")


def _read_conv_runs(text) -> tuple[list[ConvRun], str | None]:
    """The runs of conv_runs ``text`` and ``None``, or the runs read before the first problem and its message."""
    if not isinstance(text, str):
        return [], (
            f"parameter conv_runs={text!r} is not valid; valid: network:dropout pairs separated "
            f"by commas, e.g. 'conv2:0,conv4:0.5' (networks: {', '.join(CONV_NETWORKS)}), each optionally "
            f"followed by :setting=value for {', '.join(CONV_RUN_OWN)}, or '' for none"
        )
    runs = []
    for item in text.split(","):
        if not item.strip():
            continue
        network, dropout, *own = item.strip().split(":") + ([] if ":" in item else ["0"])
        problem = check_choice("conv_runs network", network, CONV_NETWORKS)
        if problem:
            return runs, problem
        try:
            rate = float(dropout or 0)
        except ValueError:
            return runs, f"parameter conv_runs has dropout {dropout!r} in {item!r}; valid: a number in [0, 1)"
        problem = check_fraction("conv_runs dropout", rate)
        if problem:
            return runs, problem
        settings = []
        for entry in own:
            setting, problem = _read_conv_run_setting(item, entry.strip())
            if problem:
                return runs, problem
            settings.append(setting)
        run = ConvRun(network, rate, tuple(settings))
        named = [setting for setting, _ in run.own]
        if len(set(named)) < len(named):
            return runs, (
                f"parameter conv_runs sets {max(named, key=named.count)} twice in {item.strip()!r}; valid: each "
                f"setting once"
            )
        if any((other.network, other.dropout) == (network, rate) for other in runs):
            return runs, (
                f"parameter conv_runs names {network} with dropout {rate:g} twice; valid: each network and dropout "
                f"rate once"
            )
        runs.append(run)
    return runs, None


def _read_conv_run_setting(item: str, entry: str) -> tuple[tuple[str, int] | None, str | None]:
    """``"trials=3"`` in the conv_runs item ``item`` -> ``(("trials", 3), None)``, or ``(None, message)``."""
    setting, _, value = entry.partition("=")
    if setting not in CONV_RUN_OWN:
        return None, (
            f"parameter conv_runs has {entry!r} in {item!r}; valid after network:dropout: "
            f"{', '.join(name + '=<integer>' for name in CONV_RUN_OWN)}"
        )
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        return None, f"parameter conv_runs has {setting}={value!r} in {item!r}; valid: an integer >= 1"
    return (setting, number), None


def check_conv_runs(name: str, text) -> str | None:
    return _read_conv_runs(text)[1]


def parse_conv_runs(text: str) -> list[ConvRun]:
    """``"conv2:0,conv4:0.5:trials=1"`` -> ``[ConvRun("conv2", 0.0), ConvRun("conv4", 0.5, (("trials", 1),))]``
    (network, dropout rate, then any of :data:`CONV_RUN_OWN` as ``setting=value``); ``""`` -> ``[]``."""
    runs, problem = _read_conv_runs(text)
    refuse(problem)
    return runs


def _read_names(name: str, text, valid, allow_empty: bool) -> tuple[list[str], str | None]:
    shape = f"names separated by commas, each one of {', '.join(valid)}" + (", or '' for none" if allow_empty else "")
    if not isinstance(text, str):
        return [], f"parameter {name}={text!r} is not valid; valid: {shape}"
    names = [item.strip() for item in text.split(",") if item.strip()]
    for item in names:
        if item not in valid:
            return names, f"parameter {name} names {item!r}; valid: {shape}"
    if len(set(names)) < len(names):
        return names, f"parameter {name}={text!r} names one twice; valid: {shape}"
    if not names and not allow_empty:
        return names, f"parameter {name}={text!r} names none; valid: {shape}"
    return names, None


def parse_names(name: str, text, valid, allow_empty: bool = False) -> list[str]:
    """``"large_final,random"`` -> ``["large_final", "random"]``, each one of ``valid``; ``""`` -> ``[]`` if allowed."""
    names, problem = _read_names(name, text, valid, allow_empty)
    refuse(problem)
    return names


def names_check(valid, allow_empty: bool = False):
    """The check of a parameter that names some of ``valid``, separated by commas (none if ``allow_empty``)."""
    return lambda name, value: _read_names(name, value, valid, allow_empty)[1]


def _read_run(name: str, text, fields: tuple[str, ...], example: str) -> tuple[dict | None, str | None]:
    shape = "/".join(field.upper() for field in fields)
    valid = f"'' (none) or {shape}, {len(fields)} positive integers, e.g. '{example}'"
    if not isinstance(text, str):
        return None, f"parameter {name}={text!r} is not valid; valid: {valid}"
    if not text.strip():
        return None, None
    parts = text.strip().split("/")
    # ASCII digits only: str.isdigit admits "²", which int() then refuses
    if len(parts) != len(fields) or not all(re.fullmatch(r"[0-9]+", part.strip()) and int(part) > 0 for part in parts):
        return None, f"parameter {name}={text!r} is not valid; valid: {valid}"
    run = dict(zip(fields, map(int, parts)))
    if run["eval_every"] > run["iterations"]:
        return None, (
            f"parameter {name}={text!r} is not valid: it evaluates every {run['eval_every']:,} iterations "
            f"but trains for {run['iterations']:,}; valid: EVAL_EVERY <= ITERATIONS"
        )
    return run, None


def parse_run(name: str, text: str, fields: tuple[str, ...], example: str) -> dict | None:
    """``"5000/100/18"`` -> ``dict(zip(fields, (5000, 100, 18)))``; ``""`` -> ``None`` (no such run).

    ``fields`` are experiment settings whose first two are ``iterations`` and ``eval_every``.
    """
    run, problem = _read_run(name, text, fields, example)
    refuse(problem)
    return run


# The runs written as ITERATIONS/EVAL_EVERY[/LEVELS]: their fields and an example.
SHORT_RUN = (("iterations", "eval_every", "levels"), "5000/100/18")
PROBE_RUN = (("iterations", "eval_every"), "50000/250")


def parse_short_run(text: str) -> dict | None:
    """The shorter LeNet run to compare with: ``"5000/100/18"`` -> iterations, eval_every, levels."""
    return parse_run("short_run", text, *SHORT_RUN)


def parse_probe_run(text: str) -> dict | None:
    """The long dense LeNet run that shows where early stopping happens: ``"50000/250"``."""
    return parse_run("probe_run", text, *PROBE_RUN)


# Each chapter parameter beyond dataset, scale, device, store and allow_train, with its check.
CHECKS = {
    "trials": check_positive_int,
    "iterations": check_positive_int,
    "eval_every": check_positive_int,
    "levels": check_positive_int,
    "rewind": check_non_negative_int,
    "extra_trials": check_positive_int,
    "extra_levels": check_positive_int,
    "short_run": lambda name, value: _read_run(name, value, *SHORT_RUN)[1],
    "probe_run": lambda name, value: _read_run(name, value, *PROBE_RUN)[1],
    "conv_network": lambda name, value: check_choice(name, value, CONV_NETWORKS),
    "conv_runs": check_conv_runs,
    "conv_trials": check_positive_int,
    "conv_levels": check_positive_int,
    "conv_iterations": check_positive_int,
    "conv_eval_every": check_positive_int,
    "conv_precision": lambda name, value: check_choice(name, value, PRECISIONS),
    "conv_val_size": check_positive_int,
    "conv_test_subset": check_positive_int,
    "conv_train_subset": check_positive_int,
    "criteria": names_check(ZHOU_CRITERIA),
    "conv_criteria": names_check(ZHOU_CRITERIA),
    "action_levels": check_positive_int,
    "mask1_actions": names_check(MASK1_VARIANTS, allow_empty=True),
    "mask0_actions": names_check(MASK0_VARIANTS, allow_empty=True),
    "supermask_methods": names_check(tuple(supermask.MODES), allow_empty=True),
    "supermask_starts": names_check(tuple(actions.MASK1_ACTIONS)),
    "supermask_iterations": check_positive_int,
    "supermask_eval_every": check_positive_int,
    "criteria_conv": lambda name, value: check_choice(name, value, ("", *CONV_NETWORKS)),
    "network": lambda name, value: check_choice(name, value, ("lenet", *CONV_NETWORKS)),
    "transfer_source": check_dataset,
    "transfer_target": check_dataset,
    "shift_target": lambda name, value: None if value == "" else check_dataset(name, value),
}
