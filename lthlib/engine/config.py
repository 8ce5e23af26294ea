"""Experiment settings resolved: their defaults per scale, validation, one spelling per value, and hash.

A config names *what* to compute. Fields left at ``None`` are filled by
:func:`resolve` from the network's paper settings and the chosen scale, so a
reader can write ``ExperimentConfig(network="conv2", scale="paper")`` and get
Frankle & Carbin's optimiser, learning rate, batch size, iterations and
pruning rates. The store keys results by :func:`config_hash` of the resolved
config, which ignores fields still at their class default: a field added
later with a default that means "as before" does not orphan stored results.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import fields

from . import actions, data, kind, masks, models, supermask
from .settings import (  # noqa: F401  (the config's types, imported from here by most of the library)
    ConfigError,
    ExperimentConfig,
    Resolved,
    field_help,
    field_names,
    field_types,
)

# Kinds whose pruned levels do not depend on each other train several as one cohort of at most MAX_COHORT
# members (to bound memory).
MAX_COHORT = 48
SCALES = ("smoke", "book", "paper")
OPTIMIZERS = ("adam", "sgd")
PRUNING = ("layerwise", "global")
# Control arms of a pruning experiment, each with the ticket's mask (random_prune: a random one of its size):
# reinit and random_prune as in Frankle & Carbin; rewind (kept weights from the dense network at iteration
# control_rewind) and finetune / finetune_low (kept weights from the trained weights the mask came from, at the
# learning rate and at a tenth of it) for the comparison of Renda et al. (2020).
CONTROLS = ("reinit", "random_prune", "rewind", "finetune", "finetune_low")
PRECISIONS = ("float32", "bfloat16")
SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda")

# Frankle & Carbin, Figure 2: optimiser, learning rate, batch, iterations and
# pruning rate per round for convolutional / fully-connected / output layers.
PAPER_SETTINGS = {
    "lenet": dict(
        optimizer="adam", lr=1.2e-3, batch_size=60, iterations=50_000, conv_rate=0.0, fc_rate=0.2, output_rate=0.1
    ),
    "conv2": dict(
        optimizer="adam", lr=2e-4, batch_size=60, iterations=20_000, conv_rate=0.1, fc_rate=0.2, output_rate=0.1
    ),
    "conv4": dict(
        optimizer="adam", lr=3e-4, batch_size=60, iterations=25_000, conv_rate=0.1, fc_rate=0.2, output_rate=0.1
    ),
    "conv6": dict(
        optimizer="adam", lr=3e-4, batch_size=60, iterations=30_000, conv_rate=0.15, fc_rate=0.2, output_rate=0.1
    ),
}

# What each scale changes. ``iterations_factor`` shrinks the paper's training
# length; the subsets keep smoke runs to seconds on a CPU.
SCALE_SETTINGS = {
    "smoke": dict(
        iterations=200, eval_every=50, trials=2, levels=2, train_subset=5_000, test_subset=2_000, val_size=1_000
    ),
    "book": dict(
        iterations_factor=0.1, eval_every=100, trials=5, levels=None, train_subset=None, test_subset=None, val_size=None
    ),
    "paper": dict(
        iterations_factor=1.0, eval_every=100, trials=5, levels=None, train_subset=None, test_subset=None, val_size=None
    ),
}

# Rounds of iterative pruning by default: LeNet down to about 2 % (0.8**18),
# the conv nets to about the smallest level the paper plots.
DEFAULT_LEVELS = {"lenet": 18, "conv2": 12, "conv4": 12, "conv6": 12}


def _one_of(valid):
    def check(name, value):
        if value not in valid:
            return f"{name}={value!r} is not valid; valid: {', '.join(map(str, valid))}"

    return check


# Upper bounds that no sensible run reaches; they stop overflowing or memory-exhausting values early.
# Learning rates, per optimiser, for what a run trains. Adam's step is about lr per weight whatever the
# gradient's scale, so lr > 1 moves weights of size ~0.1 by ten times their size each step; SGD's step
# scales with the gradient, and 10 is a hundred times the largest rate the papers train weights with (0.1).
# A learned mask (experiment supermask) trains scores whose gradients are tiny: Zhou et al. use SGD at
# lr 100, so there the bounds are a hundred times wider. Values above diverge or overflow, wasting the run.
MAX_LR = {"adam": 1.0, "sgd": 10.0}
MAX_LR_MASK_SCORES = {"adam": 100.0, "sgd": 10_000.0}
MAX_SEED = 2**63 - 1
MAX_TRIALS = 10_000
MAX_ITERATIONS = 10_000_000
MAX_LEVELS = 200


def _int_in(low: int, high: int):
    def check(name, value):
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"{name}={value!r} is not valid; valid: an integer from {low:,} to {high:,}"

    return check


_positive_int = _int_in(1, MAX_ITERATIONS)
_non_negative_int = _int_in(0, MAX_ITERATIONS)


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


def _non_negative_float(name, value):
    if not isinstance(value, (int, float)) or not value >= 0 or not math.isfinite(value):
        return f"{name}={value!r} must be a number >= 0"


def _momentum(name, value):
    if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        return f"{name}={value!r} must lie in [0, 1)"


def _controls(name, value):
    bad = [c for c in value if c not in CONTROLS]
    if bad:
        return f"{name} has {bad[0]!r}, which is not valid; valid: {', '.join(CONTROLS)}"
    twice = [c for i, c in enumerate(value) if c in value[:i]]
    if twice:
        return f"{name} names {twice[0]!r} twice; valid: each control once, from {', '.join(CONTROLS)}"


def _optional(check):
    def wrapped(name, value):
        if value is not None:
            return check(name, value)

    return wrapped


VALIDATORS = {
    "experiment": lambda name, value: _one_of(kind.names())(name, value),
    "network": _one_of(tuple(models.ARCHITECTURES)),
    "dataset": lambda name, value: data.check_name(value),
    "scale": _one_of(SCALES),
    "trials": _optional(_int_in(1, MAX_TRIALS)),
    "seed": _int_in(0, MAX_SEED),
    "optimizer": _optional(_one_of(OPTIMIZERS)),
    "lr": _optional(_positive_float),
    "momentum": _momentum,
    "warmup": _non_negative_int,
    "batch_size": _optional(_positive_int),
    "iterations": _optional(_positive_int),
    "eval_every": _optional(_positive_int),
    "levels": _optional(_int_in(0, MAX_LEVELS)),
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
    "train_subset": _optional(_int_in(1, MAX_SEED)),
    "test_subset": _optional(_int_in(1, MAX_SEED)),
    "val_size": _optional(_int_in(1, MAX_SEED)),
    "split_seed": _int_in(0, MAX_SEED),
    "data_seed": _optional(_int_in(0, MAX_SEED)),
    "control_rewind": _optional(_positive_int),
    "mask_from": lambda name, value: None if value is None else data.check_name(value),
    "supermask": _optional(_one_of(tuple(supermask.MODES))),
    "density": _optional(_rate),
    "weight_decay": _optional(_non_negative_float),
    "schedule": _optional(_one_of(SCHEDULES)),
}

# Settings that mean nothing for some experiments or networks: giving them is refused rather than
# stored as a second record of the same computation.
PRUNING_ONLY = (
    "levels",
    "conv_rate",
    "fc_rate",
    "output_rate",
    "pruning",
    "criterion",
    "mask1",
    "mask0",
    "rewind",
    "controls",
)
SUPERMASK_ONLY = ("supermask", "density")


def validate(config: ExperimentConfig) -> ExperimentConfig:
    """Raise :class:`ConfigError` on the first bad setting; return ``config`` unchanged."""
    for name, check in VALIDATORS.items():
        message = check(name, getattr(config, name))
        if message:
            raise ConfigError(message)
    if config.network != "lenet" and len(data.info(config.dataset).input_shape) != 3:
        raise ConfigError(
            f"network={config.network!r} needs images; {config.dataset} is one-dimensional; valid: network='lenet'"
        )
    if config.network == "lenet" and config.conv_rate not in (None, 0.0):
        raise ConfigError(
            f"conv_rate={config.conv_rate!r} does not apply to network='lenet' (no convolutions); "
            f"valid: leave it out, or a conv network"
        )
    if config.optimizer == "adam" and config.momentum != ExperimentConfig().momentum:
        raise ConfigError(f"momentum={config.momentum!r} does not apply to optimizer='adam'; valid: optimizer='sgd'")
    if config.lr is not None and config.optimizer is not None:
        learned = kind.of(config).learned
        most = (MAX_LR_MASK_SCORES if learned else MAX_LR)[config.optimizer]
        if config.lr > most:
            raise ConfigError(
                f"lr={config.lr!r} cannot train with optimizer={config.optimizer!r} (it diverges); "
                f"valid: a positive number up to {most:g}" + (" for learned mask scores" if learned else "")
            )
    return config


FLOAT_FIELDS = tuple(name for name, annotation in field_types().items() if annotation.startswith("float"))


def canonical(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` with one spelling per value, so that one computation has one hash: numbers of float settings as
    floats with signed zero as 0.0 (-0.0 and 0 are 0.0), controls in the order of :data:`CONTROLS` (a set of
    arms), dataset variants spelled one way (:func:`lthlib.engine.data.canonical_name`). Values of the wrong type
    are left for :func:`validate` to refuse."""
    changes = {}
    for name in FLOAT_FIELDS:
        value = getattr(config, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                continue
            number = 0.0 if number == 0 else number
            if repr(number) != repr(value):
                changes[name] = number
    controls = config.controls
    if isinstance(controls, tuple) and all(c in CONTROLS for c in controls):
        ordered = tuple(sorted(controls, key=CONTROLS.index))
        if ordered != controls:
            changes["controls"] = ordered
    for name in ("dataset", "mask_from"):
        spelled = data.canonical_name(getattr(config, name))
        if spelled != getattr(config, name):
            changes[name] = spelled
    return config.replace(**changes) if changes else config


def resolve(config: ExperimentConfig) -> Resolved:
    """Fill every ``None`` from the network's (or the supermask method's) paper settings and the scale; validate.

    A :class:`Resolved` config is returned as it is."""
    if isinstance(config, Resolved):
        return config
    validate(config)
    config = canonical(config)
    own = kind.of(config)
    paper = dict(PAPER_SETTINGS[config.network])
    learned = own.learned
    if learned:
        method = config.supermask or "bernoulli"
        paper.update(supermask.PAPER_SETTINGS[method])
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
    if learned:
        filled.update(
            supermask=method,
            weight_decay=paper["weight_decay"],
            schedule=paper["schedule"],
            density=paper.get("density"),
        )
    changes = {name: value for name, value in filled.items() if getattr(config, name) is None}
    changes.update(_scale_subsets_that_fit(config, changes))
    if config.data_seed == config.seed:
        changes.update(data_seed=None)  # the same computation as leaving it out, so the same record
    _check_mask_from(config)
    if own.borrows:
        _check_borrowing(config)
        changes.update(controls=())
    changes.update(own.settle(config))
    if own.unpruned:
        _refuse_settings(
            config, PRUNING_ONLY if not learned else tuple(n for n in PRUNING_ONLY if n != "mask1"), filled
        )
        changes.update(levels=0, controls=())
    if not learned:
        _refuse_settings(config, SUPERMASK_ONLY, filled)
        # no weight decay and a constant rate are what every pruning result was trained with
        changes.update(
            weight_decay=None if config.weight_decay == 0 else config.weight_decay,
            schedule=None if config.schedule == "constant" else config.schedule,
        )
    elif method != "edge_popup" and config.density is not None:
        raise ConfigError(
            f"density={config.density!r} does not apply to supermask={method!r} (its density is learned); "
            f"valid: leave it out, or supermask='edge_popup'"
        )
    resolved = validate(config.replace(**changes))
    for name in ("eval_every", "warmup"):
        if getattr(resolved, name) > resolved.iterations:
            raise ConfigError(
                f"{name}={getattr(resolved, name)} must not exceed iterations={resolved.iterations}; "
                f"valid: 0..{resolved.iterations}"
            )
    resolved = _resolve_control_rewind(resolved)
    if resolved.rewind >= resolved.iterations:
        raise ConfigError(
            f"rewind={resolved.rewind} must be smaller than iterations={resolved.iterations}; "
            f"valid: 0..{resolved.iterations - 1}"
        )
    _check_against_data(resolved)
    return Resolved(**{f.name: getattr(resolved, f.name) for f in fields(ExperimentConfig)})


def _scale_subsets_that_fit(config: ExperimentConfig, changes: dict) -> dict:
    """The scale's train and test subsets (smoke: 5,000 and 2,000) cut to what the dataset holds, so that a
    smaller dataset or variant still runs at that scale; subsets given explicitly are checked, never cut."""
    fitted = {}
    if changes.get("train_subset") is None and changes.get("test_subset") is None:
        return fitted
    info = data.info(config.dataset)
    val_size = changes.get("val_size", config.val_size)
    left = info.train_size - (info.default_val_size if val_size is None else val_size)
    if changes.get("train_subset") is not None and 0 < left < changes["train_subset"]:
        fitted["train_subset"] = left
    if changes.get("test_subset") is not None and changes["test_subset"] > info.test_size:
        fitted["test_subset"] = info.test_size
    return fitted


def _resolve_control_rewind(config: ExperimentConfig) -> ExperimentConfig:
    """``control_rewind`` filled (5 % of the training) when the rewind control is asked for, refused otherwise."""
    if "rewind" not in config.controls:
        if config.control_rewind is not None:
            raise ConfigError(
                f"control_rewind={config.control_rewind} applies only with the rewind control; valid: leave it out, "
                f"or add rewind to controls"
            )
        return config
    if config.rewind:
        raise ConfigError(
            f"controls rewind compares rewound tickets with tickets reset to θ0, but rewind={config.rewind} rewinds "
            f"the tickets themselves; valid: rewind=0 with the rewind control (its iteration is control_rewind)"
        )
    iteration = config.control_rewind or max(1, round(0.05 * config.iterations))
    if iteration >= config.iterations:
        raise ConfigError(
            f"control_rewind={iteration} must be smaller than iterations={config.iterations}; "
            f"valid: 1..{config.iterations - 1}"
        )
    return validate(config.replace(control_rewind=iteration))


def _check_mask_from(config: ExperimentConfig) -> None:
    """``mask_from`` names another dataset with networks of the same shape, for experiment transfer only."""
    if not kind.of(config).takes_mask_from:
        if config.mask_from is not None:
            takers = " or ".join(repr(own.name) for own in kind.KINDS.values() if own.takes_mask_from)
            raise ConfigError(
                f"mask_from={config.mask_from!r} applies only to experiment={takers}; valid: leave it out"
            )
        return
    if config.mask_from is None or config.mask_from == config.dataset:
        raise ConfigError(
            f"experiment={config.experiment!r} trains on dataset={config.dataset!r} the masks found on another "
            f"dataset; mask_from={config.mask_from!r}; valid: another dataset or variant, e.g. "
            f"mask_from='{config.dataset.partition(':')[0]}:half=a'"
        )
    mine, theirs = data.info(config.dataset), data.info(config.mask_from)
    if (mine.input_shape, mine.num_classes) != (theirs.input_shape, theirs.num_classes):
        raise ConfigError(
            f"mask_from={config.mask_from!r} has {theirs.num_classes} classes of shape {theirs.input_shape}, "
            f"dataset={config.dataset!r} {mine.num_classes} of shape {mine.input_shape}: their networks differ, so "
            f"masks cannot move between them; valid: a dataset with the same example shape and class count"
        )


def _check_borrowing(config: ExperimentConfig) -> None:
    """A swap, a transfer or a sign probe trains stored ticket masks again, nothing else: no controls, no pruned
    values that depend on the training the mask came from."""
    if config.controls not in ((), ExperimentConfig().controls):
        raise ConfigError(
            f"controls={','.join(config.controls)!r} does not apply to experiment={config.experiment!r} (it trains "
            f"stored ticket masks only); valid: leave it out"
        )
    if config.mask0 in actions.FROM_TRAINING:
        raise ConfigError(
            f"mask0={config.mask0!r} does not apply to experiment={config.experiment!r} (it needs the training the "
            f"mask came from); valid: "
            + ", ".join(name for name in actions.MASK0_ACTIONS if name not in actions.FROM_TRAINING)
        )


def _refuse_settings(config: ExperimentConfig, names, filled: dict) -> None:
    """Refuse ``names`` that mean nothing for ``config.experiment`` (they would only duplicate a record)."""
    defaults = ExperimentConfig()
    for name in names:
        value = getattr(config, name)
        if value in (None, getattr(defaults, name), filled.get(name)) or (name, value) in (
            ("levels", 0),
            ("controls", ()),
        ):
            continue
        if name in SUPERMASK_ONLY:
            raise ConfigError(
                f"{name}={value!r} does not apply to experiment={config.experiment!r}; "
                f"valid: leave it out, or experiment='supermask'"
            )
        raise ConfigError(
            f"{name}={value!r} does not apply to experiment={config.experiment!r} ({kind.of(config).unpruned}); "
            f"valid: leave it out, or experiment='imp' or 'oneshot'"
        )


def _check_against_data(config: ExperimentConfig) -> None:
    """Sizes against the dataset, pruning rounds against layer sizes, memory against the machine."""
    try:
        val_size = data.check_sizes(config.dataset, config.val_size, config.train_subset, config.test_subset)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    info = data.info(config.dataset)
    n_train = config.train_subset or info.train_size - val_size
    if config.batch_size > n_train:
        raise ConfigError(
            f"batch_size={config.batch_size} exceeds the {n_train:,} training examples; valid: 1..{n_train:,}"
        )
    arch = models.build(config.network, info.input_shape, info.num_classes)
    rates = layer_rates(config, arch.layers)
    for layer in arch.layers:
        total = math.prod(layer.shape)
        if config.levels and masks.surviving_after(total, rates[layer.name], config.levels) < 1:
            most = next(n for n in range(config.levels) if masks.surviving_after(total, rates[layer.name], n + 1) < 1)
            raise ConfigError(
                f"levels={config.levels} would prune every weight of layer {layer.name}; valid: at most {most}"
            )
    needed, available = memory_estimate(config, arch), physical_memory()
    if available and needed > 0.8 * available:
        raise ConfigError(
            f"trials={config.trials} would need about {needed / 2**30:,.1f} GiB for one cohort of "
            f"{cohort_size(config)} networks; this machine has {available / 2**30:,.1f} GiB; "
            f"valid: fewer trials or controls"
        )


def cohort_size(config: ExperimentConfig) -> int:
    """Networks trained at once by the resolved ``config`` (one-shot trains several levels together)."""
    per_level = config.trials * (1 + len(config.controls))
    if kind.of(config).levels_together:
        return per_level * max(1, min(config.levels, MAX_COHORT // per_level))
    return per_level


def memory_estimate(config: ExperimentConfig, arch) -> int:
    """Bytes one cohort needs, roughly: about 16 float32 copies of every weight per member, and the trials' state."""
    weights = sum(math.prod(layer.shape) for layer in arch.layers)
    return 4 * weights * (16 * cohort_size(config) + 8 * config.trials)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


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
    # what the run needs to be valid at all (a transfer needs where its masks come from), and what it sets by itself
    given = ("network", "scale", "dataset", "mask_from")
    needed = {name: getattr(config, name) for name in given}
    baseline = resolve(ExperimentConfig(experiment=config.experiment, **needed))
    parts = ["python -m lthlib run", config.experiment]
    for f in fields(config):
        value = getattr(config, f.name)
        if f.name in given:
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


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is there, else ``cpu``; ``cuda`` without a GPU is a :class:`ConfigError`."""
    import torch

    if name not in DEVICES:
        raise ConfigError(f"device={name!r} is not valid; valid: {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' is not valid here: no CUDA device is available; valid here: auto, cpu")
    return name
