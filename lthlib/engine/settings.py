"""What an experiment's settings are: one frozen dataclass, its fields and their help, and its resolved form.

:mod:`lthlib.engine.config` fills, checks and hashes these settings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

from . import supermask


class ConfigError(ValueError):
    """A setting has a bad value; the message names it and the valid ones."""


def _setting(default, help: str):
    """A config field with its help text (the command line's ``--help`` shows it)."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True, eq=False)
class ExperimentConfig:
    """Everything that determines one stored result.

    Units: ``lr`` per step, ``iterations``/``eval_every``/``rewind``/``warmup``
    in optimiser steps, rates as the fraction of live weights pruned per round.
    ``None`` means "the paper's setting for the network, at the scale".
    """

    experiment: str = _setting("imp", "what to compute: an experiment kind (lthlib.engine.kind.names())")
    network: str = _setting("lenet", "lenet, conv2, conv4 or conv6")
    dataset: str = _setting("fashion-mnist", "a dataset name (lthlib.engine.data.names()), or <name>:<variant>")
    scale: str = _setting("book", "smoke (seconds), book (the committed results) or paper")
    trials: int | None = _setting(None, "independent networks (seeds) per arm")
    seed: int = _setting(0, "master seed of initialisation, data order, pruning ties and controls")
    optimizer: str | None = _setting(None, "adam or sgd")
    lr: float | None = _setting(None, "learning rate per step")
    momentum: float = _setting(0.9, "SGD momentum (sgd only)")
    warmup: int = _setting(0, "steps of linear learning-rate warm-up")
    batch_size: int | None = _setting(None, "examples per step")
    iterations: int | None = _setting(None, "optimiser steps per training run")
    eval_every: int | None = _setting(None, "steps between evaluations on validation and test")
    levels: int | None = _setting(None, "pruning rounds after the dense network")
    conv_rate: float | None = _setting(None, "fraction of live conv weights pruned per round (conv networks)")
    fc_rate: float | None = _setting(None, "fraction of live hidden fully-connected weights pruned per round")
    output_rate: float | None = _setting(None, "fraction of live output-layer weights pruned per round")
    pruning: str = _setting("layerwise", "layerwise or global")
    criterion: str = _setting("large_final", "mask criterion (Zhou et al.)")
    mask1: str = _setting("original", "what kept weights start from")
    mask0: str = _setting("zero", "what pruned weights become")
    rewind: int = _setting(0, "reset kept weights to their values at this step (0 = θ0)")
    controls: tuple[str, ...] = _setting(("reinit", "random_prune"), "control arms, comma-separated, or none")
    dropout: float = _setting(0.0, "dropout probability after each hidden fully-connected layer")
    precision: str = _setting("float32", "float32 or bfloat16 products")
    train_subset: int | None = _setting(None, "train on the first N training examples only")
    test_subset: int | None = _setting(None, "test on the first N test examples only")
    val_size: int | None = _setting(None, "validation examples carved from the training set")
    split_seed: int = _setting(0, "seed of the train/validation split")
    mask_from: str | None = _setting(
        None, "transfer: the dataset (or variant) whose iterative sweep's ticket masks train on this dataset"
    )
    control_rewind: int | None = _setting(
        None, "iteration the rewind control's kept weights come from (None: a twentieth of the iterations)"
    )
    data_seed: int | None = _setting(
        None, "master seed of the data order, dropout and sampled masks (None: seed), to vary them alone"
    )
    supermask: str | None = _setting(
        None, "how experiment supermask learns its mask: " + ", ".join(supermask.MODES) + " (default bernoulli)"
    )
    density: float | None = _setting(None, "edge_popup: fraction of each layer's weights kept (default 0.5)")
    weight_decay: float | None = _setting(None, "L2 penalty on what the optimiser trains (None: the method's; 0)")
    schedule: str | None = _setting(None, "learning-rate schedule: constant or cosine (None: the method's)")

    def values(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(ExperimentConfig))

    def __eq__(self, other) -> bool:  # a resolved config equals a plain one with the same settings
        return isinstance(other, ExperimentConfig) and self.values() == other.values()

    def __hash__(self) -> int:
        return hash(self.values())

    def replace(self, **changes) -> ExperimentConfig:
        """A plain config with ``changes`` (one made from a :class:`Resolved` config must be resolved again)."""
        return ExperimentConfig(**{**{f.name: getattr(self, f.name) for f in fields(ExperimentConfig)}, **changes})

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict) -> ExperimentConfig:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; valid: {', '.join(field_names())}")
        values = dict(values)
        if isinstance(values.get("controls"), list):
            values["controls"] = tuple(values["controls"])
        return cls(**values)


class Resolved(ExperimentConfig):
    """A config :func:`resolve` filled from the paper's settings and the scale, and checked.

    Only :func:`resolve` makes one, at the boundary where a config comes in
    (the command line, a chapter, a sweep); below it, :func:`resolve` hands it
    back as it is, so a config is resolved once however many functions ask.
    """


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def field_names() -> list[str]:
    return [f.name for f in fields(ExperimentConfig)]


def field_types() -> dict[str, str]:
    """Field name -> its annotation as written ("int | None", ...), for the command line."""
    return {f.name: str(f.type) for f in fields(ExperimentConfig)}


def field_help() -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in fields(ExperimentConfig)}
