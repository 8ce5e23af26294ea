"""What a chapter notebook needs: checked parameters, results from the store, and a note on provenance.

A chapter opens with ``book = chapter.open(...)`` on its papermill
parameters. A parameter left at ``None`` means "the scale decides": its value
comes from :data:`SCALE_DEFAULTS`, one table per scale (``book`` holds the
values the committed results were computed with, so the book reads the
committed store; ``smoke`` runs in seconds; ``paper`` is the papers'
settings). Every parameter is checked there, alone and together with the
others (the rewinding iteration against the training length at that scale,
the convolutional runs against the dataset), so a bad value stops the
notebook in its first cells with a :class:`ParameterError` that names it and
the valid values.

Results come from the store; a missing one is computed only when
``allow_train`` is true, with a progress bar, and is otherwise an error naming
the command that computes it. When ``store`` names another directory than the
book's committed store, the committed store is still read first and new
results go to ``store``.
"""

from __future__ import annotations

import pathlib
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NamedTuple

import pandas as pd

from ..engine import actions, data, experiments, masks, supermask
from ..engine.config import (
    DEFAULT_LEVELS,
    DEVICES,
    PAPER_SETTINGS,
    PRECISIONS,
    SCALE_SETTINGS,
    SCALES,
    ConfigError,
    ExperimentConfig,
    config_hash,
    resolve,
    resolve_device,
)
from ..engine.models import NETWORK_NAMES
from ..engine.store import Store, StoreError, default_root

CONV_NETWORKS = ("conv2", "conv4", "conv6")
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST", "cifar10": "CIFAR-10", "mnist1d": "MNIST-1D"}

# Frankle & Carbin's own setting for each row of the settings box (their Figure 2 and Section 2).
PAPER_BOX = {
    "dataset": "MNIST (LeNet-300-100); CIFAR-10 (Conv-2, -4, -6)",
    "networks": "LeNet-300-100, Conv-2, Conv-4, Conv-6",
    "training length": "; ".join(
        f"{NETWORK_NAMES[n]}: {s['iterations']:,} iterations" for n, s in PAPER_SETTINGS.items()
    )
    + "; batch 60, evaluated every 100",
    "training images": "the training set less a 5,000-example validation set (55,000 on MNIST)",
    "trials": "5 per experiment",
    "precision": "float32 (not stated; TensorFlow's default)",
    "hardware": "not stated in the paper",
}


# The nine mask criteria of Zhou et al. (large_final_same_sign, their supermask criterion, is not among them),
# and the mask-1 and mask-0 actions other than the ticket's own (original values, pruned weights at zero).
ZHOU_CRITERIA = tuple(name for name in masks.CRITERIA if name != "large_final_same_sign")
MASK1_VARIANTS = tuple(name for name in actions.MASK1_ACTIONS if name != "original")
MASK0_VARIANTS = tuple(name for name in actions.MASK0_ACTIONS if name != "zero")
ZHOU_MASK0 = ("freeze_init", "freeze_init_zero_mask")  # Zhou et al.'s own; the others are the book's


# Zhou et al.'s settings, from their code (the lottery-ticket runs follow Frankle & Carbin's); the numbers the
# chapters' prose quotes are glued from ZHOU_NUMBERS.
ZHOU_NUMBERS = dict(lenet_iterations=50_000, rounds=24, supermask_epochs=2_000, supermask_iterations=440_000)
ZHOU_BOX = {
    **PAPER_BOX,
    "networks": "their FC 300-100 (LeNet-300-100), Conv-2, Conv-4, Conv-6",
    "training length": "LeNet-300-100: 55 epochs (about {lenet_iterations:,} iterations), batch 60, evaluated every "
    "100; {rounds} rounds of iterative pruning".format(**ZHOU_NUMBERS),
    "training images": "MNIST's training set less a validation set (55 epochs make about 50,000 iterations)",
    "trials": "not stated in the parts of the paper checked here",
}
SUPERMASK_BOX = {
    **ZHOU_BOX,
    "training length": "masks at initialisation: one-shot from the trained network, kept fractions 0.8^k (hidden) "
    "and 0.9^k (output), k = 0..{rounds}; learned supermasks: SGD (lr 100, momentum 0.9), batch 250, "
    "{supermask_epochs:,} epochs (about {supermask_iterations:,} iterations)".format(**ZHOU_NUMBERS),
}
# Each chapter's paper and that paper's settings, for the settings box (Frankle & Carbin unless named here).
PAPER_BOXES = {
    "deconstructing": ("Zhou et al.", ZHOU_BOX),
    "supermasks": ("Zhou et al.", SUPERMASK_BOX),
    "review": ("Zhou et al.", ZHOU_BOX),  # the review's runs extend theirs
    "transfer": ("Zhou et al.", ZHOU_BOX),
}


class ParameterError(ConfigError):
    """A chapter parameter has a bad value; the message names it and the valid values."""


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

# The chapters whose main sweeps can run on another network than LeNet-300-100 (parameter ``network``).
NETWORK_CHAPTERS = ("deconstructing", "supermasks")

# Where a chapter's own defaults differ from SCALE_DEFAULTS, per scale. The Zhou et al. chapters train
# LeNet-300-100 for 15,000 iterations at scale book (long enough for the slow criteria to stop early well
# inside training) and prune 10 rounds, so that ten criteria and eight actions fit a few CPU-hours.
ZHOU_DEFAULTS = {"smoke": {}, "book": dict(iterations=15_000, eval_every=250, levels=10), "paper": {}}
# The deconstructing chapter also runs criteria on Conv-2 at the Lottery Ticket chapter's convolutional scale,
# three rounds deep (about half of its weights left): five of the nine, since each costs a Conv-2 sweep of 5 trials
# (over an hour of CPU time each with bfloat16 products on a CPU with matrix units; many times that without them).
CONV_CRITERIA_BOOK = "large_final,small_final,magnitude_increase,movement,random"
CHAPTER_DEFAULTS = {
    "foundations": {},
    "lottery-ticket": {},
    "deconstructing": {
        **ZHOU_DEFAULTS,
        "book": {
            **ZHOU_DEFAULTS["book"],
            "criteria_conv": "conv2",
            "conv_levels": 3,
            "conv_criteria": CONV_CRITERIA_BOOK,
        },
    },
    "supermasks": ZHOU_DEFAULTS,
    "review": ZHOU_DEFAULTS,
    "transfer": ZHOU_DEFAULTS,
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


def check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: {', '.join(map(str, valid))}")


def check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: a positive integer")


def check_non_negative_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: an integer >= 0")


def check_fraction(name: str, value, low_inclusive: bool = True) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 <= value < 1 if low_inclusive else 0 < value < 1)
    )
    if not ok:
        interval = "[0, 1)" if low_inclusive else "(0, 1)"
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: a number in {interval}")


class ConvRun(NamedTuple):
    """One run of the parameter conv_runs: a convolutional network, its dropout rate, and the settings this run
    alone takes instead of the conv_* parameters (``own``: ``(setting, value)`` pairs, see :data:`CONV_RUN_OWN`)."""

    network: str
    dropout: float
    own: tuple = ()


# The settings one convolutional run may take for itself, e.g. a longer training with dropout or fewer trials for
# a slower network: conv_runs="conv2:0,conv2:0.5:iterations=10000,conv6:0:trials=1".
CONV_RUN_OWN = ("trials", "levels", "iterations")


def parse_conv_runs(text: str) -> list[ConvRun]:
    """``"conv2:0,conv4:0.5:trials=1"`` -> ``[ConvRun("conv2", 0.0), ConvRun("conv4", 0.5, (("trials", 1),))]``
    (network, dropout rate, then any of :data:`CONV_RUN_OWN` as ``setting=value``); ``""`` -> ``[]``."""
    if not isinstance(text, str):
        raise ParameterError(
            f"parameter conv_runs={text!r} is not valid; valid: network:dropout pairs separated "
            f"by commas, e.g. 'conv2:0,conv4:0.5' (networks: {', '.join(CONV_NETWORKS)}), each optionally "
            f"followed by :setting=value for {', '.join(CONV_RUN_OWN)}, or '' for none"
        )
    runs = []
    for item in text.split(","):
        if not item.strip():
            continue
        network, dropout, *own = item.strip().split(":") + ([] if ":" in item else ["0"])
        check_choice("conv_runs network", network, CONV_NETWORKS)
        try:
            rate = float(dropout or 0)
        except ValueError:
            raise ParameterError(
                f"parameter conv_runs has dropout {dropout!r} in {item!r}; valid: a number in [0, 1)"
            ) from None
        check_fraction("conv_runs dropout", rate)
        run = ConvRun(network, rate, tuple(_conv_run_setting(item, entry.strip()) for entry in own))
        named = [setting for setting, _ in run.own]
        if len(set(named)) < len(named):
            raise ParameterError(
                f"parameter conv_runs sets {max(named, key=named.count)} twice in {item.strip()!r}; valid: each "
                f"setting once"
            )
        if any((other.network, other.dropout) == (network, rate) for other in runs):
            raise ParameterError(
                f"parameter conv_runs names {network} with dropout {rate:g} twice; valid: each network and dropout "
                f"rate once"
            )
        runs.append(run)
    return runs


def _conv_run_setting(item: str, entry: str) -> tuple[str, int]:
    """``"trials=3"`` in the conv_runs item ``item`` -> ``("trials", 3)``, checked."""
    setting, _, value = entry.partition("=")
    if setting not in CONV_RUN_OWN:
        raise ParameterError(
            f"parameter conv_runs has {entry!r} in {item!r}; valid after network:dropout: "
            f"{', '.join(name + '=<integer>' for name in CONV_RUN_OWN)}"
        )
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ParameterError(f"parameter conv_runs has {setting}={value!r} in {item!r}; valid: an integer >= 1")
    return setting, number


def parse_names(name: str, text, valid, allow_empty: bool = False) -> list[str]:
    """``"large_final,random"`` -> ``["large_final", "random"]``, each one of ``valid``; ``""`` -> ``[]`` if allowed."""
    shape = f"names separated by commas, each one of {', '.join(valid)}" + (", or '' for none" if allow_empty else "")
    if not isinstance(text, str):
        raise ParameterError(f"parameter {name}={text!r} is not valid; valid: {shape}")
    names = [item.strip() for item in text.split(",") if item.strip()]
    for item in names:
        if item not in valid:
            raise ParameterError(f"parameter {name} names {item!r}; valid: {shape}")
    if len(set(names)) < len(names):
        raise ParameterError(f"parameter {name}={text!r} names one twice; valid: {shape}")
    if not names and not allow_empty:
        raise ParameterError(f"parameter {name}={text!r} names none; valid: {shape}")
    return names


def _names_check(valid, allow_empty: bool = False):
    return lambda name, value: parse_names(name, value, valid, allow_empty)


def parse_run(name: str, text: str, fields: tuple[str, ...], example: str) -> dict | None:
    """``"5000/100/18"`` -> ``dict(zip(fields, (5000, 100, 18)))``; ``""`` -> ``None`` (no such run).

    ``fields`` are experiment settings whose first two are ``iterations`` and ``eval_every``.
    """
    shape = "/".join(field.upper() for field in fields)
    valid = f"'' (none) or {shape}, {len(fields)} positive integers, e.g. '{example}'"
    if not isinstance(text, str):
        raise ParameterError(f"parameter {name}={text!r} is not valid; valid: {valid}")
    if not text.strip():
        return None
    parts = text.strip().split("/")
    if len(parts) != len(fields) or not all(part.strip().isdigit() and int(part) > 0 for part in parts):
        raise ParameterError(f"parameter {name}={text!r} is not valid; valid: {valid}")
    run = dict(zip(fields, map(int, parts)))
    if run["eval_every"] > run["iterations"]:
        raise ParameterError(
            f"parameter {name}={text!r} is not valid: it evaluates every {run['eval_every']:,} iterations "
            f"but trains for {run['iterations']:,}; valid: EVAL_EVERY <= ITERATIONS"
        )
    return run


def parse_short_run(text: str) -> dict | None:
    """The shorter LeNet run to compare with: ``"5000/100/18"`` -> iterations, eval_every, levels."""
    return parse_run("short_run", text, ("iterations", "eval_every", "levels"), "5000/100/18")


def parse_probe_run(text: str) -> dict | None:
    """The long dense LeNet run that shows where early stopping happens: ``"50000/250"``."""
    return parse_run("probe_run", text, ("iterations", "eval_every"), "50000/250")


def _check_dataset(name, value) -> None:
    problem = data.check_name(value)
    if problem:
        raise ParameterError(f"parameter {name}={value!r} is not valid: {problem}")


def _check_precision(name, value):
    check_choice(name, value, PRECISIONS)


def _check_conv_network(name, value):
    check_choice(name, value, CONV_NETWORKS)


# Each chapter parameter beyond dataset, scale, device, store and allow_train, with its check.
CHECKS = {
    "trials": check_positive_int,
    "iterations": check_positive_int,
    "eval_every": check_positive_int,
    "levels": check_positive_int,
    "rewind": check_non_negative_int,
    "extra_trials": check_positive_int,
    "extra_levels": check_positive_int,
    "short_run": lambda name, value: parse_short_run(value),
    "probe_run": lambda name, value: parse_probe_run(value),
    "conv_network": _check_conv_network,
    "conv_runs": lambda name, value: parse_conv_runs(value),
    "conv_trials": check_positive_int,
    "conv_levels": check_positive_int,
    "conv_iterations": check_positive_int,
    "conv_eval_every": check_positive_int,
    "conv_precision": _check_precision,
    "conv_val_size": check_positive_int,
    "conv_test_subset": check_positive_int,
    "conv_train_subset": check_positive_int,
    "criteria": _names_check(ZHOU_CRITERIA),
    "conv_criteria": _names_check(ZHOU_CRITERIA),
    "action_levels": check_positive_int,
    "mask1_actions": _names_check(MASK1_VARIANTS, allow_empty=True),
    "mask0_actions": _names_check(MASK0_VARIANTS, allow_empty=True),
    "supermask_methods": _names_check(tuple(supermask.MODES), allow_empty=True),
    "supermask_starts": _names_check(tuple(actions.MASK1_ACTIONS)),
    "supermask_iterations": check_positive_int,
    "supermask_eval_every": check_positive_int,
    "criteria_conv": lambda name, value: check_choice(name, value, ("", *CONV_NETWORKS)),
    "network": lambda name, value: check_choice(name, value, ("lenet", *CONV_NETWORKS)),
    "transfer_source": lambda name, value: _check_dataset(name, value),
    "transfer_target": lambda name, value: _check_dataset(name, value),
    "shift_target": lambda name, value: value == "" or _check_dataset(name, value),
}


def is_image_dataset(name: str) -> bool:
    """Whether ``name``'s examples are images (convolutional networks need them); mnist1d's are 1-D sequences."""
    return len(data.info(name).input_shape) == 3


@dataclass
class Chapter:
    """A chapter's shared settings, its resolved parameters and its access to the store."""

    dataset: str
    scale: str
    trials: int
    device: str
    store: Store
    allow_train: bool
    committed: Store | None = None
    used: list = field(default_factory=list)
    parameters: SimpleNamespace = field(default_factory=SimpleNamespace)
    given: frozenset = frozenset()
    name: str | None = None

    @property
    def images(self) -> bool:
        """Whether the dataset is made of images; if not, sections on convolutional networks are skipped."""
        return is_image_dataset(self.dataset)

    @property
    def main_network(self) -> str:
        """The network of the chapter's main sweeps: its parameter ``network`` where it has one, else LeNet-300-100.
        The parameters iterations, eval_every and levels set its runs."""
        return getattr(self.parameters, "network", "lenet")

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks this dataset can feed: LeNet always, the convolutional networks on images only."""
        return ("lenet", *CONV_NETWORKS) if self.images else ("lenet",)

    @property
    def conv_runs(self) -> list[ConvRun]:
        """The convolutional runs: ``conv_runs`` parsed, empty on a dataset without images."""
        if not self.images or not hasattr(self.parameters, "conv_runs"):
            return []
        return parse_conv_runs(self.parameters.conv_runs)

    @property
    def short_run(self) -> dict | None:
        """The settings of the shorter LeNet run the chapter compares with (``short_run`` parsed), or ``None``."""
        return parse_short_run(getattr(self.parameters, "short_run", ""))

    @property
    def probe_run(self) -> dict | None:
        """The settings of the long dense LeNet run (``probe_run`` parsed), or ``None``."""
        return parse_probe_run(getattr(self.parameters, "probe_run", ""))

    @property
    def conv_skipped(self) -> str | None:
        """Why the sections on convolutional networks are skipped (a clause), or ``None`` when they run."""
        if not self.images:
            shape = data.info(self.dataset).input_shape
            return (
                f"the convolutional networks need images, and the examples of {self.dataset} are "
                f"one-dimensional sequences of length {shape[0]}"
            )
        if hasattr(self.parameters, "conv_runs") and not self.conv_runs:
            return "the parameter conv_runs is empty"
        return None

    def conv_settings(self, experiment: str = "imp") -> dict:
        """The experiment settings of the convolutional runs set by the conv_* parameters (unset ones omitted)."""
        settings = {}
        for name, setting in CONV_FIELDS.items():
            value = getattr(self.parameters, name, None)
            if value is None or (setting == "levels" and experiment == "dense"):
                continue
            settings[setting] = value
        return settings

    def conv_run_settings(self, run: ConvRun) -> dict:
        """The experiment settings of one of the ``conv_runs``: the conv_* parameters, then the run's own."""
        return {**self.conv_settings(), "dropout": run.dropout, **dict(run.own)}

    def lenet_settings(self, experiment: str = "imp") -> dict:
        """The experiment settings of the main network's runs (LeNet-300-100 unless the chapter has a ``network``
        parameter) set by the chapter's parameters iterations, eval_every and levels (unset ones omitted)."""
        names = [name for name in LENET_FIELDS if not (name == "levels" and experiment == "dense")]
        return {
            name: getattr(self.parameters, name) for name in names if getattr(self.parameters, name, None) is not None
        }

    def lenet_config(self, experiment: str = "imp", **fields) -> ExperimentConfig:
        """The resolved config of a run of this chapter's main network (its parameters, then ``fields``)."""
        settings = {"network": self.main_network, **self.lenet_settings(experiment), **fields}
        return self.config(experiment=experiment, **settings)

    def config(self, **fields) -> ExperimentConfig:
        """The resolved config of an experiment with this chapter's dataset, scale and trials."""
        base = dict(dataset=self.dataset, scale=self.scale, trials=self.trials)
        base.update(fields)
        try:
            return resolve(ExperimentConfig(**base))
        except ConfigError as error:
            raise ParameterError(str(error)) from None

    def dense_config(self, network: str) -> ExperimentConfig:
        """The resolved config of ``network``'s dense run here (conv_* parameters for conv nets, LeNet's for LeNet)."""
        settings = self.conv_settings("dense") if network in CONV_NETWORKS else self.lenet_settings("dense")
        return self.config(experiment="dense", network=network, **settings)

    def result(self, **fields) -> dict:
        """The record of ``config(**fields)``: from the committed store, else this chapter's store.

        A record computed here shows a progress bar while it trains; a stored one shows nothing.
        """
        config = self.config(**fields)
        record = self.committed.load(config) if self.committed is not None else None
        if record is None and self.allow_train:
            record = self.store.load(config)
            if record is None:
                with ProgressBar(config) as bar:
                    record = experiments.result(config, self.store, self.device, allow_train=True, progress=bar)
        if record is None:
            record = experiments.result(config, self.store, self.device, allow_train=False)  # or names the command
        self.used.append(record)
        return record

    def results_together(self, *field_sets: dict) -> list[dict]:
        """The records of ``config(**fields)`` for each of ``field_sets``: iterative sweeps that differ only in
        :data:`lthlib.engine.experiments.ARM_FIELDS`; the missing ones are trained together, with one progress bar.

        Read from the committed store first, then this chapter's store; without
        ``allow_train`` a missing one is an error naming the command.
        """
        configs = [self.config(**fields) for fields in field_sets]
        try:
            experiments.check_joint(configs)
        except experiments.JointError as error:
            raise ParameterError(str(error)) from None
        records = [
            (self.committed.load(c) if self.committed is not None else None) or self.store.load(c) for c in configs
        ]
        missing = [c for c, record in zip(configs, records) if record is None]
        if missing and self.allow_train:
            with ProgressBar(max(missing, key=lambda c: c.levels)) as bar:
                computed = experiments.compute_together(missing, self.store, self.device, progress=bar)
            found = {config_hash(c): record for c, record in zip(missing, computed)}
            records = [record or found[config_hash(c)] for c, record in zip(configs, records)]
        records = [
            record or experiments.result(c, self.store, self.device, allow_train=False)
            for c, record in zip(configs, records)
        ]
        self.used += records
        return records

    def provenance_note(self) -> str:
        """One sentence: scale, device and total training time of the records used so far.

        Records trained together (provenance ``trained_with``) share one wall time, counted once.
        """
        if not self.used:
            return "No stored results were used."
        seconds, devices, _, untimed = _compute(self.used)
        scales = sorted({r["config"]["scale"] for r in self.used})
        return (
            f"The results in this chapter were computed at scale {' and '.join(scales)} on "
            f"{'; '.join(devices)}, in {format_duration(seconds)} of training in all "
            f"({len(self.used)} stored experiments).{_untimed(untimed)}"
        )

    def settings_table(self) -> pd.DataFrame:
        """This chapter's settings beside its paper's (:data:`PAPER_BOXES`), from the configs of the records used.

        One row per setting (dataset, networks, training length, training images, trials, precision,
        hardware); where networks differ, the value is given per network. The row *training images* is shown only
        where a run learns from a subset of the training set.
        """
        records = self.used
        here = {
            "dataset": DATASET_NAMES.get(self.dataset, self.dataset),
            "networks": ", ".join(dict.fromkeys(NETWORK_NAMES[r["config"]["network"]] for r in records)),
            "training length": _per_network(
                records,
                lambda c: f"{c['iterations']:,} iterations, evaluated every {c['eval_every']:,}",
            ),
            "training images": _per_network(records, _training_images),
            "trials": _per_network(records, lambda c: f"{c['trials']}", kind=True),
            "precision": _per_network(records, lambda c: c["precision"]),
            "hardware": "; ".join(
                sorted({f"{r['provenance']['device']}, {r['provenance']['threads']} threads" for r in records})
            ),
        }
        if not any(record["config"]["train_subset"] for record in records):
            del here["training images"]
        paper, box = PAPER_BOXES.get(self.name, ("Frankle & Carbin", PAPER_BOX))
        return pd.DataFrame(
            [{"setting": name, "this chapter": value, paper: box[name]} for name, value in here.items()]
        )

    def parameters_table(self) -> pd.DataFrame:
        """The value of every scale-driven parameter and where it came from (given, or the scale's table)."""
        rows = []
        conv_networks = list(dict.fromkeys(run.network for run in self.conv_runs))
        if not conv_networks and self.images and getattr(self.parameters, "conv_network", None):
            conv_networks = [self.parameters.conv_network]
        for name, value in self.parameter_values().items():
            if name.startswith("conv_") and not self.images:
                shown = "not used: no images"
            elif name.startswith("conv_") and name != "conv_runs" and self.conv_skipped:
                shown = "not used: conv_runs is empty"
            elif name in CONV_FIELDS and value is None:
                shown = self._describe_unset(name, conv_networks)
            elif name in LENET_FIELDS and value is None:
                shown = f"{getattr(self.lenet_config(), name):,}"
            else:
                shown = "none" if value == "" else f"{value:,}" if isinstance(value, int) else str(value)
                shown = shown.replace(",", ", ") if isinstance(value, str) else shown  # lists wrap in a narrow column
            rows.append(
                {"parameter": name, "value": shown, "from": "given" if name in self.given else f"scale {self.scale}"}
            )
        return pd.DataFrame(rows)

    def parameter_values(self) -> dict:
        """Every scale-driven parameter of this chapter as resolved: ``trials`` first, then the chapter's own."""
        return {"trials": self.trials, **vars(self.parameters)}

    def _describe_unset(self, name: str, networks: list[str]) -> str:
        """An unset convolutional setting as the configs resolve it, per network when they differ."""
        setting = CONV_FIELDS[name]
        values = {}
        for network in networks:
            value = getattr(self.config(experiment="imp", network=network, **self.conv_settings()), setting)
            if value is None and setting == "val_size":
                value = f"{data.info(self.dataset).default_val_size:,} (the dataset's default)"
            elif value is None and setting == "test_subset":
                value = "the full test set"
            values[network] = f"{value:,}" if isinstance(value, int) else str(value)
        if len(set(values.values())) <= 1:
            return next(iter(values.values()), "the experiment's default")
        return "; ".join(f"{network} {value}" for network, value in values.items())


def experiment_kind(config: dict) -> str:
    """What a record's experiment is called in the text: dense, iterative or one-shot pruning, rewinding."""
    if config["experiment"] == "imp" and config["rewind"]:
        return f"rewinding to {config['rewind']:,}"
    return EXPERIMENT_KINDS[config["experiment"]]


# What each experiment is called in the text (the settings box's trials row, for one).
EXPERIMENT_KINDS = {
    "dense": "dense",
    "imp": "iterative pruning",
    "oneshot": "one-shot pruning",
    "untrained": "untrained masked networks",
    "supermask": "learned supermasks",
    "swap": "masks swapped between trials",
    "transfer": "transferred masks",
    "signs": "sign probe",
}


def _training_images(config: dict) -> str:
    """How many training examples a run of ``config`` learns from, and how they were chosen."""
    meta = data.info(config["dataset"])
    left = meta.train_size - data.check_sizes(config["dataset"], config["val_size"])
    if config["train_subset"] is None or config["train_subset"] >= left:
        return f"all {left:,} outside the validation set"
    return f"{config['train_subset']:,} of the {left:,} outside the validation set"


def _per_network(records: list[dict], describe, kind: bool = False) -> str:
    """``describe(config)`` for each record, merged: one value, or "value (who); other (who)" when they differ.

    who is the network (and, with ``kind``, the experiment) of the records that share a value.
    """
    groups: dict[str, list[str]] = {}
    for record in records:
        config = record["config"]
        who = NETWORK_NAMES[config["network"]] + (f" {experiment_kind(config)}" if kind else "")
        names = groups.setdefault(describe(config), [])
        if who not in names:
            names.append(who)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} ({', '.join(who)})" for value, who in groups.items())


class ProgressBar:
    """A tqdm bar (``tqdm.auto``: a widget in Jupyter where available, else text) fed by an experiment.

    It has the two methods :func:`lthlib.engine.experiments.result` calls: ``advance(steps)``
    after training steps and ``resumed(level)`` when a run resumes after a
    finished pruning level. The bar is redrawn at most once a second.
    """

    def __init__(self, config: ExperimentConfig):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tqdm.auto warns when ipywidgets is missing, then uses text
            from tqdm.auto import tqdm
        self.config = config
        self.bar = tqdm(
            total=experiments.total_steps(config),
            unit="step",
            mininterval=1.0,
            desc=f"training {config.experiment} {config.network} ({config.dataset}, {config.scale})",
        )

    def advance(self, steps: int) -> None:
        self.bar.update(steps)

    def resumed(self, level: int) -> None:
        finished = [group for group in experiments.cohort_levels(self.config) if group[-1] <= level]
        self.bar.update(min(len(finished) * self.config.iterations, self.bar.total) - self.bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()


def _compute(records) -> tuple[float, list[str], int, int]:
    """The training seconds of ``records`` (each joint run's wall time once), their devices, how many records not in
    ``records`` were trained in the same runs, and how many levels went untimed."""
    joint, partners = {}, set()
    for r in records:
        together = frozenset([r["hash"], *r["provenance"].get("trained_with", [])])
        joint[together] = max(joint.get(together, 0.0), r["provenance"]["wall_seconds"])
        partners |= together
    others = len(partners - {r["hash"] for r in records})
    devices = sorted({f"{r['provenance']['device']}, {r['provenance']['threads']} threads" for r in records})
    untimed = sum(r["provenance"].get("untimed_levels", 0) for r in records)
    return sum(joint.values()), devices, others, untimed


def _untimed(levels: int) -> str:
    return f" The time of {levels} pruning levels finished before an interruption was not recorded." if levels else ""


def compute_note(records) -> str:
    """What ``records`` (e.g. those one figure shows) cost to compute, in one sentence: their training time on
    which device, each run's wall time counted once however many of the records it produced. When such a run also
    produced records not in ``records``, the sentence says how many, since their times cannot be told apart."""
    records = list({r["hash"]: r for r in records}.values())
    seconds, devices, others, untimed = _compute(records)
    count = lambda n: f"{n} stored experiment{'' if n == 1 else 's'}"  # noqa: E731
    shared = f", trained in the same runs as {count(others)} not shown here, whose time is included" if others else ""
    return (
        f"Compute: {format_duration(seconds)} of training on {'; '.join(devices)} "
        f"({count(len(records))}{shared}).{_untimed(untimed)}"
    )


def format_duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _check_together(book: Chapter) -> None:
    """The checks of parameters that combine: each names the parameter, its value at this scale and the valid ones."""
    p, scale = book.parameters, book.scale
    if book.main_network != "lenet" and not book.images:
        raise ParameterError(
            f"parameter network={book.main_network!r} is not valid for {book.dataset}: a convolutional network needs "
            f"images, and its examples are sequences; valid: lenet"
        )
    lenet = book.lenet_settings()
    try:
        iterations = resolve(
            ExperimentConfig(network=book.main_network, dataset=book.dataset, scale=scale, **lenet)
        ).iterations
    except ConfigError as error:
        named = ", ".join(f"{name}={value!r}" for name, value in lenet.items())
        raise ParameterError(f"the parameters {named} are not valid together at scale {scale}: {error}") from None
    if getattr(p, "rewind", None) is not None:
        if p.rewind >= iterations:
            raise ParameterError(
                f"parameter rewind={p.rewind} is not valid at scale {scale}: LeNet-300-100 trains for {iterations:,} "
                f"iterations there, and rewinding resets to an iteration before the end; "
                f"valid: an integer from 0 to {iterations - 1:,}"
            )
    _at_most_levels(book, "extra_levels", "the iterative tickets the one-shot and rewinding ones are compared with")
    _check_actions(book)
    _check_random_reference(book)
    if not hasattr(p, "mask1_actions"):  # the review chapters: their zeroing, fine-tuning and half-split sweeps
        _at_most_levels(book, "action_levels", "the large_final tickets their sweeps are compared with")
    _check_transfers(book)
    _check_joint_sweeps(book)
    runs = [(run.network, book.conv_run_settings(run), run) for run in book.conv_runs]
    networks = [run.network for run in book.conv_runs]
    if not networks and book.images and getattr(p, "conv_network", None):
        networks = [p.conv_network]
    if book.images and getattr(p, "criteria_conv", ""):
        networks.append(p.criteria_conv)
    checked = {network for network, _, _ in runs}
    runs += [(network, book.conv_settings(), None) for network in dict.fromkeys(networks) if network not in checked]
    if not runs:
        return
    eval_every = getattr(p, "conv_eval_every", None) or SCALE_SETTINGS[scale]["eval_every"]
    for network, settings, run in runs:
        iterations = settings.get("iterations")
        if iterations is not None and iterations < eval_every:
            named = "conv_runs iterations" if run is not None and "iterations" in dict(run.own) else "conv_iterations"
            raise ParameterError(
                f"parameter {named}={iterations} is not valid at scale {scale}: the convolutional networks are "
                f"evaluated every {eval_every} iterations there (conv_eval_every); valid: an integer >= {eval_every}"
            )
        try:
            config = resolve(
                ExperimentConfig(
                    **{
                        "experiment": "imp",
                        "network": network,
                        "dataset": book.dataset,
                        "scale": scale,
                        "trials": book.trials,
                        **settings,
                    }
                )
            )
            data.check_sizes(
                book.dataset, val_size=config.val_size, train_subset=config.train_subset, test_subset=config.test_subset
            )
        except (ConfigError, ValueError) as error:
            own = [f"{s}={v}" for s, v in (run.own if run is not None else ()) if str(error).startswith(f"{s}=")]
            named = (
                f"parameter conv_runs item {network}:{run.dropout:g}:{own[0]}"
                if own
                else _conv_parameter_named(book, str(error))
            )
            raise ParameterError(f"{named} is not valid for {book.dataset} at scale {scale}: {error}") from None


def _check_joint_sweeps(book: Chapter) -> None:
    """The Zhou et al. chapters' iterative sweeps train as one batched run per network: it must fit in memory."""
    if not hasattr(book.parameters, "criteria"):
        return
    from . import zhou

    fields = [f for members in zhou.sweeps(book).values() for f in members.values() if f["experiment"] == "imp"]
    for network in dict.fromkeys(f["network"] for f in fields):
        try:
            experiments.check_joint([book.config(**f) for f in fields if f["network"] == network])
        except experiments.JointError as error:
            raise ParameterError(
                f"the parameters network={network!r}, trials={book.trials} and the chosen criteria and actions are "
                f"not valid together at scale {book.scale}: {error}"
            ) from None


def _check_transfers(book: Chapter) -> None:
    """Masks move between datasets whose networks have the same shape (and the shift needs images)."""
    p = book.parameters
    pairs = []
    if hasattr(p, "transfer_source"):
        pairs.append(("transfer_source", p.transfer_source, "transfer_target", p.transfer_target))
    if getattr(p, "shift_target", "") and (book.images or "shift_target" in book.given):
        pairs.append(("dataset", book.dataset, "shift_target", p.shift_target))
    for source_name, source, target_name, target in pairs:
        try:
            resolve(ExperimentConfig(experiment="transfer", dataset=target, mask_from=source, scale=book.scale))
        except ConfigError as error:
            raise ParameterError(
                f"the parameters {source_name}={source!r} and {target_name}={target!r} are not valid together: {error}"
            ) from None


def _check_actions(book: Chapter) -> None:
    """The mask-1 and mask-0 actions are compared with large_final's tickets over at most its levels."""
    p = book.parameters
    if not (
        parse_names("mask1_actions", getattr(p, "mask1_actions", ""), MASK1_VARIANTS, True)
        or parse_names("mask0_actions", getattr(p, "mask0_actions", ""), MASK0_VARIANTS, True)
    ):
        return
    if "large_final" not in parse_names("criteria", p.criteria, ZHOU_CRITERIA):
        raise ParameterError(
            f"parameter criteria={p.criteria!r} is not valid with mask-1 or mask-0 actions: they are compared with "
            f"the large_final tickets; valid: criteria that include large_final, or mask1_actions='' and "
            f"mask0_actions=''"
        )
    _at_most_levels(book, "action_levels", "the large_final tickets they are compared with")


def _check_random_reference(book: Chapter) -> None:
    """The deconstructing chapter (the one with ``criteria_conv``) judges every criterion against random pruning in
    the same trials, on each network it runs them on: each list it runs must include random."""
    p = book.parameters
    if not hasattr(p, "criteria_conv"):
        return
    for name in ("criteria", "conv_criteria") if p.criteria_conv else ("criteria",):
        value = getattr(p, name, None)
        if value is not None and "random" not in parse_names(name, value, ZHOU_CRITERIA):
            raise ParameterError(
                f"parameter {name}={value!r} is not valid: each criterion is judged against random pruning in the "
                f"same trials; valid: a list that includes random, e.g. {value},random"
            )


def _at_most_levels(book: Chapter, name: str, compared_with: str) -> None:
    """Parameter ``name`` counts levels of a sweep compared with the main one: at most its ``levels``. Left at the
    scale's default, it shrinks to ``levels``; given, it is refused beyond them."""
    value, levels = getattr(book.parameters, name, None), book.lenet_config().levels
    if value is None or value <= levels:
        return
    if name not in book.given:
        setattr(book.parameters, name, levels)
        return
    raise ParameterError(
        f"parameter {name}={value} is not valid at scale {book.scale}: {compared_with} are pruned {levels} times "
        f"(levels); valid: an integer from 1 to {levels}"
    )


def _conv_parameter_named(book: Chapter, message: str) -> str:
    """``parameter conv_val_size=70000`` when ``message`` is about ``val_size=...``, else the conv parameters."""
    for name, setting in CONV_FIELDS.items():
        if message.startswith(f"{setting}="):
            return f"parameter {name}={getattr(book.parameters, name, None)!r}"
    return f"the parameters {', '.join(name for name in CONV_FIELDS if hasattr(book.parameters, name))}"


def open(
    dataset: str = "fashion-mnist",
    scale: str = "book",
    trials: int | None = None,
    device: str = "auto",
    store: str | None = None,
    allow_train: bool = False,
    name: str | None = None,
    **knobs,
) -> Chapter:
    """Check the parameters, fill those left at ``None`` from the scale's table, and return the :class:`Chapter`.

    ``knobs`` are the chapter's own parameters (names in :data:`CHECKS`, e.g.
    ``levels=None, rewind=None, conv_runs=None``); their resolved values are
    ``book.parameters.<name>``. ``name`` is the chapter's (its notebook's)
    name: where :data:`CHAPTER_DEFAULTS` has its own defaults, they come first.
    """
    _check_dataset("dataset", dataset)
    check_choice("scale", scale, SCALES)
    check_choice("device", device, DEVICES)
    check_choice("allow_train", allow_train, (True, False))
    unknown = sorted(set(knobs) - set(CHECKS))
    if unknown:
        raise ParameterError(f"unknown chapter parameter {unknown[0]!r}; valid: {', '.join(CHECKS)}")
    if store is not None and not isinstance(store, (str, pathlib.Path)):
        raise ParameterError(f"parameter store={store!r} is not valid; valid: None (the book's store) or a directory")
    check_choice("name", name, (None, *CHAPTER_DEFAULTS))
    if knobs.get("network") not in (None, "lenet") and name not in (None, *NETWORK_CHAPTERS):
        raise ParameterError(
            f"parameter network does not apply to chapter {name!r}, whose runs are LeNet-300-100 and, where it has "
            f"conv_* parameters, the convolutional networks they name; valid: leave it out, or a chapter among "
            f"{', '.join(NETWORK_CHAPTERS)}"
        )
    defaults = {**SCALE_DEFAULTS[scale], **CHAPTER_DEFAULTS.get(name, {}).get(scale, {})}
    given, values = set(), {}
    for knob, value in {"trials": trials, **knobs}.items():
        if value is None:
            value = defaults[knob]
            if isinstance(value, str):
                value = value.format(dataset=dataset)  # defaults that name a variant of the chapter's dataset
        else:
            CHECKS[knob](knob, value)
            given.add(knob)
        values[knob] = value
    try:
        resolved_device = resolve_device(device)
        committed_root = default_root()
        root = pathlib.Path(store).resolve() if store not in (None, "") else committed_root
        committed = Store(committed_root) if root != committed_root else None  # only ever read
        results = Store(root if store != "" else "", read_only=not allow_train, fallback=committed)
        if allow_train:
            results.check_writable()
    except (ConfigError, StoreError) as error:
        raise ParameterError(f"parameter {'store' if isinstance(error, StoreError) else 'device'}: {error}") from None
    trials = values.pop("trials")
    book = Chapter(
        dataset,
        scale,
        trials,
        resolved_device,
        results,
        allow_train,
        committed,
        parameters=SimpleNamespace(**values),
        given=frozenset(given),
        name=name,
    )
    _check_together(book)
    return book
