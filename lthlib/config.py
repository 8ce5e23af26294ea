"""Experiment settings: one frozen dataclass, its defaults per scale, validation and hash.

A config names *what* to compute. Fields left at ``None`` are filled by
:func:`resolve` from the network's paper settings and the chosen scale, so a
reader can write ``ExperimentConfig(network="conv2", scale="paper")`` and get
Frankle & Carbin's optimiser, learning rate, batch size, iterations and
pruning rates. The store keys results by :func:`config_hash` of the resolved
config, which ignores fields still at their class default: a field added
later with a default that means "as before" does not orphan stored results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, fields

from . import actions, data, masks, models

EXPERIMENTS = ("dense", "imp", "oneshot")
SCALES = ("smoke", "book", "paper")
OPTIMIZERS = ("adam", "sgd")
PRUNING = ("layerwise", "global")
CONTROLS = ("reinit", "random_prune")
PRECISIONS = ("float32", "bfloat16")

# Frankle & Carbin, Figure 2: optimiser, learning rate, batch, iterations and
# pruning rate per round for convolutional / fully-connected / output layers.
PAPER_SETTINGS = {
    "lenet": dict(optimizer="adam", lr=1.2e-3, batch_size=60, iterations=50_000,
                  conv_rate=0.0, fc_rate=0.2, output_rate=0.1),
    "conv2": dict(optimizer="adam", lr=2e-4, batch_size=60, iterations=20_000,
                  conv_rate=0.1, fc_rate=0.2, output_rate=0.1),
    "conv4": dict(optimizer="adam", lr=3e-4, batch_size=60, iterations=25_000,
                  conv_rate=0.1, fc_rate=0.2, output_rate=0.1),
    "conv6": dict(optimizer="adam", lr=3e-4, batch_size=60, iterations=30_000,
                  conv_rate=0.15, fc_rate=0.2, output_rate=0.1),
}

# What each scale changes. ``iterations_factor`` shrinks the paper's training
# length; the subsets keep smoke runs to seconds on a CPU.
SCALE_SETTINGS = {
    "smoke": dict(iterations=200, eval_every=50, trials=2, levels=2,
                  train_subset=5_000, test_subset=2_000, val_size=1_000),
    "book": dict(iterations_factor=0.1, eval_every=100, trials=5, levels=None,
                 train_subset=None, test_subset=None, val_size=None),
    "paper": dict(iterations_factor=1.0, eval_every=100, trials=5, levels=None,
                  train_subset=None, test_subset=None, val_size=None),
}

# Rounds of iterative pruning by default: LeNet down to about 2 % (0.8**18),
# the conv nets to about the smallest level the paper plots.
DEFAULT_LEVELS = {"lenet": 18, "conv2": 12, "conv4": 12, "conv6": 12}


class ConfigError(ValueError):
    """A setting has a bad value; the message names it and the valid ones."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines one stored result.

    Units: ``lr`` per step, ``iterations``/``eval_every``/``rewind``/``warmup``
    in optimiser steps, rates as the fraction of live weights pruned per round.
    """

    experiment: str = "imp"
    network: str = "lenet"
    dataset: str = "fashion-mnist"
    scale: str = "book"
    trials: int | None = None
    seed: int = 0
    optimizer: str | None = None
    lr: float | None = None
    momentum: float = 0.9
    warmup: int = 0
    batch_size: int | None = None
    iterations: int | None = None
    eval_every: int | None = None
    levels: int | None = None
    conv_rate: float | None = None
    fc_rate: float | None = None
    output_rate: float | None = None
    pruning: str = "layerwise"
    criterion: str = "large_final"
    mask1: str = "original"
    mask0: str = "zero"
    rewind: int = 0
    controls: tuple[str, ...] = ("reinit", "random_prune")
    dropout: float = 0.0
    precision: str = "float32"
    train_subset: int | None = None
    test_subset: int | None = None
    val_size: int | None = None
    split_seed: int = 0

    def replace(self, **changes) -> "ExperimentConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; valid: {', '.join(field_names())}")
        values = dict(values)
        if isinstance(values.get("controls"), list):
            values["controls"] = tuple(values["controls"])
        return cls(**values)


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def field_names() -> list[str]:
    return [f.name for f in fields(ExperimentConfig)]


def field_types() -> dict[str, str]:
    """Field name -> its annotation as written ("int | None", ...), for the command line."""
    return {f.name: str(f.type) for f in fields(ExperimentConfig)}


def _one_of(valid):
    def check(name, value):
        if value not in valid:
            return f"{name}={value!r} is not valid; valid: {', '.join(map(str, valid))}"
    return check


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return f"{name}={value!r} must be a positive integer"


def _non_negative_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return f"{name}={value!r} must be a non-negative integer"


def _rate(name, value):
    if not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        return f"{name}={value!r} must lie strictly between 0 and 1"


def _conv_rate(name, value):
    # LeNet has no conv layers, so its conv rate is 0 by definition.
    if value != 0.0:
        return _rate(name, value)


def _dropout(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        return f"{name}={value!r} must lie in [0, 1)"


def _positive_float(name, value):
    if not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value):
        return f"{name}={value!r} must be a positive number"


def _momentum(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        return f"{name}={value!r} must lie in [0, 1)"


def _controls(name, value):
    bad = [c for c in value if c not in CONTROLS]
    if bad:
        return f"{name} has {bad[0]!r}, which is not valid; valid: {', '.join(CONTROLS)}"


def _optional(check):
    def wrapped(name, value):
        if value is not None:
            return check(name, value)
    return wrapped


VALIDATORS = {
    "experiment": _one_of(EXPERIMENTS),
    "network": _one_of(tuple(models.ARCHITECTURES)),
    "dataset": _one_of(data.DATASETS),
    "scale": _one_of(SCALES),
    "trials": _optional(_positive_int),
    "seed": _non_negative_int,
    "optimizer": _optional(_one_of(OPTIMIZERS)),
    "lr": _optional(_positive_float),
    "momentum": _momentum,
    "warmup": _non_negative_int,
    "batch_size": _optional(_positive_int),
    "iterations": _optional(_positive_int),
    "eval_every": _optional(_positive_int),
    "levels": _optional(_non_negative_int),
    "conv_rate": _optional(_conv_rate),
    "fc_rate": _optional(_rate),
    "output_rate": _optional(_rate),
    "pruning": _one_of(PRUNING),
    "criterion": _one_of(tuple(masks.CRITERIA)),
    "mask1": _one_of(tuple(actions.MASK1_ACTIONS)),
    "mask0": _one_of(tuple(actions.MASK0_ACTIONS)),
    "rewind": _non_negative_int,
    "controls": _controls,
    "dropout": _dropout,
    "precision": _one_of(PRECISIONS),
    "train_subset": _optional(_positive_int),
    "test_subset": _optional(_positive_int),
    "val_size": _optional(_positive_int),
    "split_seed": _non_negative_int,
}


def validate(config: ExperimentConfig) -> ExperimentConfig:
    """Raise :class:`ConfigError` on the first bad setting; return ``config`` unchanged."""
    for name, check in VALIDATORS.items():
        message = check(name, getattr(config, name))
        if message:
            raise ConfigError(message)
    if config.network != "lenet" and config.dataset == "mnist1d":
        raise ConfigError(f"network={config.network!r} needs images; mnist1d is one-dimensional, use network='lenet'")
    return config


def resolve(config: ExperimentConfig) -> ExperimentConfig:
    """Fill every ``None`` from the network's paper settings and the scale; validate."""
    validate(config)
    paper = PAPER_SETTINGS[config.network]
    scale = SCALE_SETTINGS[config.scale]
    if "iterations" in scale:
        iterations = scale["iterations"]
    else:
        iterations = max(1, round(paper["iterations"] * scale["iterations_factor"]))
    filled = dict(
        trials=scale["trials"],
        optimizer=paper["optimizer"],
        lr=paper["lr"],
        batch_size=paper["batch_size"],
        iterations=iterations,
        eval_every=scale["eval_every"],
        levels=scale["levels"] if scale["levels"] is not None else DEFAULT_LEVELS[config.network],
        conv_rate=paper["conv_rate"],
        fc_rate=paper["fc_rate"],
        output_rate=paper["output_rate"],
        train_subset=scale["train_subset"],
        test_subset=scale["test_subset"],
        val_size=scale["val_size"],
    )
    changes = {name: value for name, value in filled.items() if getattr(config, name) is None}
    if config.experiment == "dense":
        changes.update(levels=0, controls=())
    resolved = validate(config.replace(**changes))
    if resolved.eval_every > resolved.iterations:
        raise ConfigError(f"eval_every={resolved.eval_every} must not exceed iterations={resolved.iterations}")
    if resolved.rewind >= resolved.iterations:
        raise ConfigError(f"rewind={resolved.rewind} must be smaller than iterations={resolved.iterations}")
    return resolved


def canonical_json(values: dict) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def hashed_fields(config: ExperimentConfig) -> dict:
    """The fields that identify a result: those differing from the class defaults."""
    defaults = ExperimentConfig().to_dict()
    return {k: v for k, v in config.to_dict().items() if v != defaults[k]}


def config_hash(config: ExperimentConfig) -> str:
    """A 16-hex-digit hash of the resolved config, blind to fields at their defaults."""
    payload = canonical_json(hashed_fields(resolve(config)))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def command_line(config: ExperimentConfig) -> str:
    """The shortest ``python -m lthlib run`` command that computes ``config`` (resolved or not)."""
    defaults = ExperimentConfig()
    baseline = resolve(ExperimentConfig(experiment=config.experiment, network=config.network, scale=config.scale))
    parts = ["python -m lthlib run", config.experiment]
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in ("network", "scale"):
            if value == getattr(defaults, f.name):
                continue
        elif f.name == "experiment" or value is None or value == getattr(baseline, f.name):
            continue
        text = ",".join(value) if isinstance(value, tuple) else str(value)
        parts.append(f"--{f.name.replace('_', '-')} {text if text else 'none'}")
    return " ".join(parts)


def layer_rates(config: ExperimentConfig, layers) -> dict[str, float]:
    """Per-layer pruning rate per round: conv, fc and output rates by layer kind."""
    by_kind = {"conv": config.conv_rate, "fc": config.fc_rate, "output": config.output_rate}
    return {layer.name: by_kind[layer.kind] for layer in layers}

