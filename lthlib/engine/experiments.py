"""Pruning procedures: dense training, iterative pruning (IMP) and one-shot pruning, with controls.

Each experiment takes a resolved config and returns a record (see
:mod:`lthlib.engine.store`). Every trained network is a *run*, identified by its
level (pruning round; 0 = dense), its *arm* and its trial:

- ``ticket``: the mask from ``config.criterion``, kept weights started by
  ``config.mask1`` (``original`` = the winning-ticket reset), pruned weights
  set by ``config.mask0``;
- ``reinit``: the ticket's mask, kept weights randomly reinitialised
  (a permutation of the layer's initial values);
- ``random_prune``: a random mask with the ticket's per-layer counts,
  original initialisation.

All runs of a level train together as one cohort; the trials of one level
share their data order (and dropout noise) across arms, so ticket and
controls are paired. After each level the :class:`LevelState` is
checkpointed in the store, so an interrupted run resumes from its last
finished level; one process at a time computes a result (a file lock).

A longer iterative sweep extends a shorter one: when the store holds the
same config with fewer pruning levels, only the tickets of its last level
are trained again (to recover the weights the next mask is pruned from) and
must reproduce the stored curves exactly; the sweep then goes on from there.

Iterative sweeps that differ only in their criterion, mask actions, controls
or levels can train together (:func:`compute_together`): one dense level for
all, then each round of all their levels as one cohort, each still its own
record. Learned supermasks (``supermask``) train level 0 only, with the
training modes of :mod:`lthlib.engine.supermask`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import pathlib
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from .. import __version__
from . import actions, data, masks, models, probes, supermask
from .config import (
    LEVELS_TOGETHER,
    MAX_COHORT,
    ExperimentConfig,
    canonical_json,
    config_hash,
    layer_rates,
    memory_estimate,
    physical_memory,
    resolve,
)
from .seeds import derive_seed, generator
from .store import MissingResult, Store, StoreError
from .train import Cohort, Trained, TrainSettings, check_finite, effective_weights, train

PACKAGE = pathlib.Path(__file__).resolve().parent.parent  # lthlib itself, all layers

# Where each arm's kept weights start and at what learning rate: (source, mask-1 action, learning-rate factor).
# Sources: "reset" (θ0, or θk when the tickets rewind), "rewound" (the dense network at iteration
# control_rewind), "final" (the trained weights the mask was computed from); None: the config's mask1.
FINETUNE_LOW = 0.1
ARM_STARTS = {
    "ticket": ("reset", None, 1.0),
    "reinit": ("reset", "reinit", 1.0),
    "random_prune": ("reset", "original", 1.0),
    "rewind": ("rewound", "original", 1.0),
    "finetune": ("final", "original", 1.0),
    "finetune_low": ("final", "original", FINETUNE_LOW),
}


@dataclass
class LevelState:
    """Where an experiment stands after finishing ``level``; also the checkpoint's contents.

    Tensors are per trial, ``{layer: (T, ...)}``: ``reset_weights``/``reset_biases``
    are what kept weights reset to (θ0, or θk when rewinding), ``alive`` the
    ticket masks of ``level``, ``start``/``final`` the tickets' weights before
    and after training at ``level`` (the next mask is computed from them).
    ``runs`` and ``masks`` accumulate what the record stores. ``seconds`` is the
    cumulative training time across interruptions. ``code`` says which
    library source computed which levels (see :func:`code_version`): one entry
    per process, from the level it started at; levels computed by a process
    that did not record it are left out rather than guessed.
    """

    level: int
    reset_weights: dict
    reset_biases: dict
    alive: dict
    start: dict
    final: dict
    runs: list
    masks: dict
    layers: dict
    seconds: float = 0.0
    resumed_after_levels: list = field(default_factory=list)
    extended_from: dict | None = None
    trained_with: list = field(default_factory=list)
    final_biases: dict = field(default_factory=dict)
    rewound_weights: dict = field(default_factory=dict)
    rewound_biases: dict = field(default_factory=dict)
    code: list = field(default_factory=list)

    @property
    def reset(self) -> tuple[dict, dict]:
        return self.reset_weights, self.reset_biases

    def starts(self) -> dict[str, tuple[dict, dict]]:
        """The weights and biases arms can start from besides the reset ones (see :data:`ARM_STARTS`)."""
        found = {"final": (self.final, self.final_biases)}
        if self.rewound_weights:
            found["rewound"] = (self.rewound_weights, self.rewound_biases)
        return found

    def to_checkpoint(self) -> dict:
        return {f.name: _to(getattr(self, f.name), "cpu") for f in fields(self)}

    @classmethod
    def from_checkpoint(cls, saved: dict, device) -> LevelState:
        return cls(**{name: _to(value, device) for name, value in saved.items()})


def mask_key(level: int, arm: str, trial: int, layer: str) -> str:
    return f"level{level}/{arm}/{trial}/{layer}"


# The arm whose masks a record stores per level, where it is not "ticket".
STORED_ARM = {"swap": "swapped", "transfer": "transferred"}


def stored_tickets(stored_masks: dict, config, level: int, layers, device) -> dict:
    """The masks ``level`` trained (its tickets', or a swap's borrowed ones) from a record's unpacked masks:
    ``{layer: (T, ...) bool}`` on ``device``."""
    arm = STORED_ARM.get(config.experiment, "ticket")
    return {
        name: torch.stack(
            [torch.from_numpy(stored_masks[mask_key(level, arm, t, name)]) for t in range(config.trials)]
        ).to(device)
        for name in layers
    }


def load_data(config, device):
    return data.load(
        config.dataset,
        device,
        val_size=config.val_size,
        split_seed=config.split_seed,
        train_subset=config.train_subset,
        test_subset=config.test_subset,
    )


def architecture(config, dataset) -> models.Architecture:
    return models.build(config.network, dataset.input_shape, dataset.num_classes)


def stack(per_member: list[dict]) -> dict:
    """``[{layer: tensor}] * K`` -> ``{layer: (K, ...)}``."""
    return {name: torch.stack([m[name] for m in per_member]) for name in per_member[0]}


def member(batched: dict, k: int) -> dict:
    return {name: tensor[k] for name, tensor in batched.items()}


def select(batched: dict, members) -> dict:
    return {name: tensor[list(members)] for name, tensor in batched.items()}


def dense_start(config, arch, device) -> tuple[dict, dict]:
    """θ0 of every trial: Glorot-normal weights seeded by (seed, trial), zero biases."""
    gens = [generator(config.seed, "init", t) for t in range(config.trials)]
    return models.initialise(arch, gens, device)


def data_seeds(config, level: int, count: int) -> list[int]:
    """Each trial's seed of its data order (and dropout, sampled masks) at ``level``: from ``data_seed`` if set."""
    master = config.seed if config.data_seed is None else config.data_seed
    return [derive_seed(master, "data", level, t) for t in range(count)]


def ticket_masks(config, arch, level_from: int, rounds: int, alive: dict, w_init: dict, w_final: dict) -> dict:
    """Every trial's ticket mask after ``rounds`` more rounds of ``config.criterion`` from ``alive``."""
    rates = layer_rates(config, arch.layers)
    per_trial = []
    for t in range(config.trials):
        live = member(alive, t)
        counts = masks.keep_counts(live, rates, config.pruning, rounds)
        gen = generator(config.seed, "prune", level_from + rounds, t)
        per_trial.append(masks.prune(config.criterion, member(w_init, t), member(w_final, t), live, counts, gen))
    return stack(per_trial)


def random_masks(config, level: int, reference: dict) -> dict:
    """Random masks with the same per-layer kept counts as ``reference`` (K, ...) masks."""
    per_trial = []
    for t in range(config.trials):
        ref = member(reference, t)
        full = {name: torch.ones_like(m, dtype=torch.bool) for name, m in ref.items()}
        counts = {(name,): int(m.sum()) for name, m in ref.items()}
        gen = generator(config.seed, "random_prune", level, t)
        per_trial.append(masks.prune("random", full, full, full, counts, gen))
    return stack(per_trial)


def level_cohort(
    config,
    level: int,
    arm_masks: dict,
    reset: tuple[dict, dict],
    previous_final: dict | None,
    sources: dict | None = None,
    previous_alive: dict | None = None,
) -> Cohort:
    """The cohort of one level: for each arm (ticket first) and trial, start weights, mask, frozen values.

    ``arm_masks``: arm -> {layer: (T, ...) bool}; ``reset``: the (T, ...)
    weights and biases that kept weights reset to (θ0 or the rewound θk);
    ``previous_final``: the trained weights the ticket mask came from (needed
    by the mask-0 actions of :data:`lthlib.engine.actions.FROM_TRAINING`), with
    weights pruned earlier at their frozen values; ``sources``: the other
    starts arms may need (:meth:`LevelState.starts`); ``previous_alive``: the
    (T, ...) masks ``previous_final`` trained under. A weight pruned before
    keeps the frozen value it was given when it was pruned.
    """
    sources = {"reset": reset, **(sources or {})}
    reset_weights = reset[0]
    starts, frozen_layers, mask_list, biases, scales = [], [], [], [], []
    for arm, arm_mask in arm_masks.items():
        source, start_action, scale = ARM_STARTS[arm]
        if source not in sources:
            raise ValueError(f"arm {arm!r} starts from the {source} weights, which this level was not given")
        from_weights, from_biases = sources[source]
        for t in range(config.trials):
            w0, mask = member(reset_weights, t), member(arm_mask, t)
            origin = member(from_weights, t)
            start = {
                name: actions.kept_start(
                    start_action or config.mask1,
                    origin[name],
                    mask[name],
                    generator(config.seed, "mask1", level, arm, t, name),
                )
                for name in w0
            }
            final = member(previous_final, t) if previous_final is not None else w0
            frozen = {name: actions.pruned_value(config.mask0, w0[name], final[name], mask[name]) for name in w0}
            if previous_alive is not None and config.mask0 in actions.FROM_TRAINING:
                before = member(previous_alive, t)
                frozen = {name: torch.where(before[name], value, final[name]) for name, value in frozen.items()}
            starts.append(start)
            frozen_layers.append(frozen)
            mask_list.append(mask)
            biases.append(member(from_biases, t))
            scales.append(scale)
    frozen = {}
    if config.mask0 != "zero":
        frozen = stack(frozen_layers)
    seeds = data_seeds(config, level, config.trials) * len(arm_masks)
    return Cohort(stack(starts), stack(biases), stack(mask_list), frozen, seeds, scales if set(scales) != {1.0} else [])


def concat_cohorts(cohorts: list[Cohort]) -> Cohort:
    """One cohort of all members; where only some cohorts freeze pruned weights, the others' frozen values are 0."""
    cat = lambda key: {n: torch.cat([getattr(c, key)[n] for c in cohorts]) for n in getattr(cohorts[0], key)}
    frozen = {}
    if any(c.frozen for c in cohorts):
        names = cohorts[0].weights
        frozen = {
            n: torch.cat([c.frozen[n] if c.frozen else torch.zeros_like(c.weights[n]) for c in cohorts]) for n in names
        }
    scales = [scale for c in cohorts for scale in (c.lr_scale or [1.0] * c.size)]
    return Cohort(
        cat("weights"),
        cat("biases"),
        cat("masks"),
        frozen,
        [s for c in cohorts for s in c.data_seeds],
        scales if set(scales) != {1.0} else [],
    )


def run_summary(level: int, arm: str, trial: int, mask: dict, trained, k: int) -> dict:
    kept = {name: int(m.sum()) for name, m in mask.items()}
    total = sum(m.numel() for m in mask.values())
    return {
        "level": level,
        "arm": arm,
        "trial": trial,
        "remaining": sum(kept.values()) / total,
        "kept": kept,
        "curve": trained.curves[k],
        "early_stop": trained.early_stop(k),
        "final": trained.final(k),
    }


def train_cohort(
    config, arch, dataset, cohort, snapshot_at=None, progress=None, iterations=None, mode=None, probe=None
):
    """Train one cohort with ``config``'s settings (``iterations`` overrides its length); refuse a diverged run."""
    settings = TrainSettings.from_config(config)
    if iterations is not None:
        settings = dataclasses.replace(settings, iterations=iterations, horizon=config.iterations)
    on_step = (lambda done: progress.advance(1)) if progress is not None else None
    trained = train(arch, dataset, cohort, settings, snapshot_at=snapshot_at, progress=on_step, mode=mode, probe=probe)
    check_finite(trained)
    return trained


def _summaries(level, arm_masks, trained, config, offset=0):
    out, k = [], offset
    for arm, arm_mask in arm_masks.items():
        for t in range(config.trials):
            out.append(run_summary(level, arm, t, member(arm_mask, t), trained, k))
            k += 1
    return out


def _masks_to_store(level, arm_masks, arm="ticket") -> dict:
    """The ``arm`` masks of a level, per trial and layer (controls' masks are rebuilt from them and seeds)."""
    return {
        mask_key(level, arm, t, name): tensor[t].cpu().clone()
        for name, tensor in arm_masks[arm].items()
        for t in range(tensor.shape[0])
    }


def dense_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    """Level 0: every trial's dense network from θ0, with a snapshot at ``config.rewind`` if rewinding (or at
    ``config.control_rewind`` for the rewind control)."""
    weights, biases = dense_start(config, arch, device)
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    cohort = Cohort(weights, biases, full, {}, data_seeds(config, 0, config.trials))
    snapshot_at = config.rewind or config.control_rewind or None
    trained = train_cohort(
        config, arch, dataset, cohort, snapshot_at=snapshot_at, progress=progress, iterations=iterations
    )
    reset = trained.snapshot if config.rewind else (weights, biases)
    rewound = trained.snapshot if config.control_rewind else ({}, {})
    return LevelState(
        level=0,
        reset_weights=reset[0],
        reset_biases=reset[1],
        alive=full,
        start=reset[0],
        final=trained.weights,
        runs=_summaries(0, {"ticket": full}, trained, config),
        masks=_masks_to_store(0, {"ticket": full}),
        layers={layer.name: list(layer.shape) for layer in arch.layers},
        final_biases=trained.biases,
        rewound_weights=rewound[0],
        rewound_biases=rewound[1],
    )


def supermask_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    """Every trial's learned supermask (arm ``supermask``): weights frozen at ``mask1`` of θ0, scores trained.

    ``alive`` and the stored masks are the masks the runs end with
    (:mod:`lthlib.engine.supermask`); ``start`` holds the frozen weights.
    """
    weights, biases = dense_start(config, arch, device)
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    frozen = stack(
        [
            {
                name: actions.kept_start(
                    config.mask1, w0, full[name][t], generator(config.seed, "mask1", 0, "supermask", t, name)
                )
                for name, w0 in member(weights, t).items()
            }
            for t in range(config.trials)
        ]
    )
    cohort = Cohort(frozen, biases, full, {}, data_seeds(config, 0, config.trials))
    trained = train_cohort(
        config, arch, dataset, cohort, progress=progress, iterations=iterations, mode=supermask.mode(config)
    )
    learned = {"supermask": trained.masks}
    return LevelState(
        level=0,
        reset_weights=weights,
        reset_biases=biases,
        alive=trained.masks,
        start=frozen,
        final=trained.weights,
        runs=_summaries(0, learned, trained, config),
        masks=_masks_to_store(0, learned, arm="supermask"),
        layers={layer.name: list(layer.shape) for layer in arch.layers},
    )


_SHARED_DENSE: dict[str, LevelState] = {}


def shared_dense_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    """The dense level of an untrained-supermask config, trained once per process and device for every criterion
    and start that shares its settings (it depends on none of them), and copied for each. A shortened level
    (``iterations``, as :mod:`lthlib.engine.verify` asks for) is trained afresh and never kept."""
    if iterations is not None:
        return dense_level(config, arch, dataset, device, progress, iterations)
    settings = {name: value for name, value in shared_settings(config).items() if name != "experiment"}
    key = canonical_json({**settings, "device": str(device)})
    if key not in _SHARED_DENSE:
        _SHARED_DENSE.clear()  # one set of dense networks in memory at a time
        _SHARED_DENSE[key] = dense_level(config, arch, dataset, device, progress, iterations)
    return _fresh_copy(_SHARED_DENSE[key])


# What level 0 of each experiment trains: the dense networks, or the learned supermasks.
FIRST_LEVEL = {
    "dense": dense_level,
    "imp": dense_level,
    "oneshot": dense_level,
    "untrained": shared_dense_level,
    "supermask": supermask_level,
    "swap": dense_level,
    "transfer": dense_level,
    "signs": dense_level,
}


def first_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    return FIRST_LEVEL[config.experiment](config, arch, dataset, device, progress=progress, iterations=iterations)


def with_controls(config, level: int, ticket: dict) -> dict:
    """``{arm: masks}`` for the ticket and each control of ``config.controls``, all (T, ...) boolean."""
    builders = {arm: (lambda: ticket) for arm in ARM_STARTS}
    builders["random_prune"] = lambda: random_masks(config, level, ticket)
    return {"ticket": ticket, **{arm: builders[arm]() for arm in config.controls}}


def _resume_or_start(config, store, arch, dataset, device, progress) -> tuple[LevelState, float]:
    """The checkpointed state of an interrupted run, a stored shorter sweep extended, or level 0 trained.

    Also returns the origin of this process's clock from which the run's
    cumulative training time is measured across interruptions.
    """
    saved = store.load_checkpoint(config) if store is not None else None
    if saved is not None:
        state = LevelState.from_checkpoint(saved, device)
        if progress is not None:
            progress.resumed(state.level)
        _note_resume(state)
        return state, time.perf_counter() - state.seconds
    state = extend_shorter(config, store, arch, dataset, device)
    if state is not None:
        if progress is not None:
            progress.resumed(state.level)
        _checkpoint(store, config, state, time.perf_counter() - state.seconds)
        return state, time.perf_counter() - state.seconds
    clock = time.perf_counter()
    state = first_level(config, arch, dataset, device, progress)
    _checkpoint(store, config, state, clock)
    return state, clock


def shorter_sweep(config, store, report) -> tuple[ExperimentConfig, dict] | None:
    """The stored iterative sweep of ``config`` with the most levels short of ``config.levels``, or ``None``.

    Only an iterative sweep whose pruned weights do not depend on the previous
    level's trained weights (``mask0`` not in :data:`lthlib.engine.actions.FROM_TRAINING`)
    can be extended. A stored sweep that fails the store's checks is reported and passed over.
    """
    if store is None or config.experiment != "imp" or config.mask0 in actions.FROM_TRAINING:
        return None
    for levels in range(config.levels - 1, 0, -1):
        shorter = config.replace(levels=levels)
        try:
            record = store.load(shorter)
        except StoreError as error:
            report(f"lthlib: not extending a stored sweep that fails its checks: {error}")
            continue
        if record is not None:
            return shorter, record
    return None


def extend_shorter(config, store, arch, dataset, device, report=None) -> LevelState | None:
    """The state after the last level of :func:`shorter_sweep`; ``None`` if none.

    Its tickets' trained weights come from the record when it keeps them
    (:func:`keeps_final_weights`). Otherwise the tickets of that level train
    again, bit-identically to the stored run (same θ0 or θk, mask, data
    order), which recovers their final weights; a curve that differs by a
    single bit means the stored sweep cannot be continued here, and ``None``
    is returned after saying so through ``report``.
    """
    report = report or (lambda message: print(message, file=sys.stderr))
    found = shorter_sweep(config, store, report)
    if found is None:
        return None
    shorter, record = found
    clock = time.perf_counter()
    level = shorter.levels
    stored = store.load_masks(shorter)
    if config.rewind:
        reset = dense_level(config, arch, dataset, device, iterations=config.rewind).reset
    else:
        reset = dense_start(config, arch, device)
    layers = {layer.name: list(layer.shape) for layer in arch.layers}  # the network's order, as a fresh run
    rewound = ({}, {})
    if config.control_rewind:  # the rewind control's start: the dense networks at that iteration, trained again
        first = dense_level(config, arch, dataset, device, iterations=config.control_rewind)
        rewound = (first.rewound_weights, first.rewound_biases)
    alive = stored_tickets(stored, config, level, layers, device)
    cohort = level_cohort(config, level, {"ticket": alive}, reset, previous_final=None)
    kept = store.load_weights(shorter)
    if kept is not None:
        trained = Trained(
            weights={name: torch.from_numpy(kept[f"weights/{name}"]).to(device) for name in layers},
            biases={name: torch.from_numpy(kept[f"biases/{name}"]).to(device) for name in layers},
            curves=[],
        )
        report(f"lthlib: extending the stored {level}-level sweep {record['hash']} from its kept weights")
    else:
        trained = train_cohort(config, arch, dataset, cohort)
    tickets = sorted(
        (run for run in record["runs"] if run["level"] == level and run["arm"] == "ticket"),
        key=lambda run: run["trial"],
    )
    # compared on the stored curves' own keys: records from before a metric was added still extend
    if kept is None and [run["curve"] for run in tickets] != [
        {key: fresh[key] for key in run["curve"]} for run, fresh in zip(tickets, trained.curves)
    ]:
        report(
            f"lthlib: the stored {level}-level sweep {record['hash']} does not reproduce here (its level-{level} "
            f"tickets train to other curves); computing all {config.levels} levels from the start"
        )
        return None
    return LevelState(
        level=level,
        reset_weights=reset[0],
        reset_biases=reset[1],
        alive=alive,
        start=effective_weights(cohort.weights, cohort.masks, cohort.frozen),
        final=trained.weights,
        runs=list(record["runs"]),
        masks={key: torch.from_numpy(mask) for key, mask in stored.items()},
        layers=layers,
        seconds=record["provenance"]["wall_seconds"] + time.perf_counter() - clock,
        resumed_after_levels=list(record["provenance"].get("resumed_after_levels", [])),
        code=[*record["provenance"].get("code", []), {"from_level": level + 1, **code_version()}],
        extended_from={
            "hash": record["hash"],
            "levels": level,
            **{
                key: record["provenance"][key]
                for key in ("wall_seconds", "untimed_levels")
                if key in record["provenance"]
            },
        },
        final_biases=trained.biases,
        rewound_weights=rewound[0],
        rewound_biases=rewound[1],
    )


def imp_level(config, arch, state: LevelState, level: int) -> tuple[dict, Cohort]:
    """The arms' masks and the cohort of IMP level ``level``, pruned from ``state`` (level ``level - 1``)."""
    ticket = ticket_masks(config, arch, level - 1, 1, state.alive, state.start, state.final)
    arm_masks = with_controls(config, level, ticket)
    return arm_masks, level_cohort(
        config, level, arm_masks, state.reset, state.final, state.starts(), previous_alive=state.alive
    )


def run_imp(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Iterative pruning: train, prune ``criterion`` among live weights, reset, repeat ``levels`` times."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    state, clock = _resume_or_start(config, store, arch, dataset, device, progress)
    for level in range(state.level + 1, config.levels + 1):
        arm_masks, cohort = imp_level(config, arch, state, level)
        trained = train_cohort(config, arch, dataset, cohort, progress=progress)
        _finish_level(config, state, level, arm_masks, cohort, trained)
        _checkpoint(store, config, state, clock)
    return state, clock


def _finish_level(config, state: LevelState, level: int, arm_masks: dict, cohort, trained, offset: int = 0) -> None:
    """Move ``state`` to ``level``: its tickets' masks, start and trained weights, runs and stored masks.

    ``cohort`` is this config's own; its members sit from ``offset`` on in ``trained`` (a joint cohort).
    """
    state.level, state.alive = level, arm_masks["ticket"]
    state.start = select(effective_weights(cohort.weights, cohort.masks, cohort.frozen), range(config.trials))
    state.final = select(trained.weights, range(offset, offset + config.trials))
    state.final_biases = select(trained.biases, range(offset, offset + config.trials))
    state.runs += _summaries(level, arm_masks, trained, config, offset=offset)
    state.masks.update(_masks_to_store(level, arm_masks))


def run_oneshot(config, store, device, progress=None, iterations=None) -> tuple[LevelState, float]:
    """One-shot pruning: train once, prune straight to each level's size, reset, train every level (``iterations``
    overrides how long; 0 evaluates each level's network untrained)."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    state, clock = _resume_or_start(config, store, arch, dataset, device, progress)
    for levels in cohort_levels(config)[1:]:
        if levels[-1] <= state.level:
            continue
        arm_masks = {level: oneshot_masks(config, arch, level, state) for level in levels}
        cohort = concat_cohorts(
            [
                level_cohort(config, level, arm_masks[level], state.reset, state.final, state.starts())
                for level in levels
            ]
        )
        trained = train_cohort(config, arch, dataset, cohort, progress=progress, iterations=iterations)
        per_level = config.trials * (1 + len(config.controls))
        for index, level in enumerate(levels):
            state.runs += _summaries(level, arm_masks[level], trained, config, offset=index * per_level)
            state.masks.update(_masks_to_store(level, arm_masks[level]))
        state.level = levels[-1]
        _checkpoint(store, config, state, clock)
    return state, clock


def run_untrained(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Zhou et al.'s supermasks at initialisation: the dense networks trained once, pruned one-shot to each level's
    size by ``config.criterion``, and each mask evaluated on the untrained network (kept weights by ``mask1``,
    pruned ones at zero), never trained. Each level's curve is its one evaluation at iteration 0."""
    return run_oneshot(config, store, device, progress, iterations=0)


def oneshot_masks(config, arch, level: int, dense: LevelState) -> dict:
    """Masks of one one-shot level: pruned from the dense network straight to ``level`` rounds' size."""
    ticket = ticket_masks(config, arch, 0, level, dense.alive, dense.start, dense.final)
    return with_controls(config, level, ticket)


def cohort_levels(config) -> list[list[int]]:
    """Which levels train together: one per cohort for IMP; for one-shot and swaps, as many as fit ``MAX_COHORT``."""
    if config.experiment not in LEVELS_TOGETHER:
        return [[level] for level in range(config.levels + 1)]
    per_level = config.trials * (1 + len(config.controls))
    chunk = max(1, MAX_COHORT // per_level)
    last = config.levels - 1 if config.experiment == "signs" else config.levels  # signs probes up to the last mask
    pruned = list(range(1, last + 1))
    return [[0]] + [pruned[i : i + chunk] for i in range(0, len(pruned), chunk)]


def source_sweep(config) -> ExperimentConfig:
    """The iterative sweep whose ticket masks a borrowing experiment ``config`` trains again: its own resolved
    settings (no controls) as experiment imp, on the dataset ``mask_from`` names if any."""
    resolved = resolve(config)
    return resolve(resolved.replace(experiment="imp", dataset=resolved.mask_from or resolved.dataset, mask_from=None))


def _source(config, store, device) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Every stored mask of ``config``'s source sweep and its runs (the sweep computed first when the store lacks
    it)."""
    source = source_sweep(config)
    if store is None:
        state, _ = run_imp(source, None, device)
        return {key: mask.cpu() for key, mask in state.masks.items()}, state.runs
    record = result(source, store, device)
    return {key: torch.from_numpy(mask) for key, mask in store.load_masks(source).items()}, record["runs"]


class SourceMismatch(RuntimeError):
    """A run trained again does not reproduce the stored run it repeats, so what it measures is not that run's."""


def _check_reproduces(config, runs: list[dict], source_runs: list[dict]) -> None:
    """Raise :class:`SourceMismatch` if any of ``runs`` has a validation curve other than its source twin's (same
    level and trial, the ticket arm)."""
    stored = {(r["level"], r["trial"]): r["curve"]["val_loss"] for r in source_runs if r["arm"] == "ticket"}
    for run in runs:
        if run["curve"]["val_loss"] != stored[run["level"], run["trial"]]:
            raise SourceMismatch(
                f"the {config.experiment} run of level {run['level']}, trial {run['trial']} does not reproduce the "
                f"stored run of its source sweep {config_hash(source_sweep(config))} (its validation losses differ), "
                f"so the next round's masks are not this run's; give a store of your own (the source sweep is then "
                f"trained there, on this machine), or run {config.experiment} where the source was made"
            )


def source_tickets(masks: dict, level: int, trials, layers, device) -> dict:
    """``{layer: (T, ...) bool}``: the source's ticket masks of ``level``, of ``trials`` in that order."""
    return {
        name: torch.stack([masks[mask_key(level, "ticket", t, name)] for t in trials]).to(device) for name in layers
    }


# The experiments that train every level of another sweep's tickets from their own θ0: which trial's mask trial t
# of T trains (swap: the next trial's; transfer: its own, found on the dataset mask_from).
DONORS = {"swap": lambda t, trials: (t + 1) % trials, "transfer": lambda t, trials: t}


def borrowed_masks(config, masks: dict, level: int, layers, device) -> dict:
    """``{layer: (T, ...) bool}``: the source's ticket masks of ``level`` each trial trains (see :data:`DONORS`)."""
    donors = [DONORS[config.experiment](t, config.trials) for t in range(config.trials)]
    return source_tickets(masks, level, donors, layers, device)


def run_borrowed(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Each trial trains, from its own θ0, the ticket masks of another sweep (:data:`DONORS`), every level.

    Level 0 is the dense network of each trial; the pruned levels' arm is
    :data:`STORED_ARM` of the experiment (``swapped``, ``transferred``).
    """
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    masks, _ = _source(config, store, device)
    state, clock = _resume_or_start(config, store, arch, dataset, device, progress)
    layers = [layer.name for layer in arch.layers]
    label = STORED_ARM[config.experiment]
    for levels in cohort_levels(config)[1:]:
        if levels[-1] <= state.level:
            continue
        borrowed = {level: borrowed_masks(config, masks, level, layers, device) for level in levels}
        cohort = concat_cohorts(
            [level_cohort(config, level, {"ticket": borrowed[level]}, state.reset, state.final) for level in levels]
        )
        trained = train_cohort(config, arch, dataset, cohort, progress=progress)
        for index, level in enumerate(levels):
            arm = {label: borrowed[level]}
            state.runs += _summaries(level, arm, trained, config, offset=index * config.trials)
            state.masks.update(_masks_to_store(level, arm, arm=label))
        state.level = levels[-1]
        _checkpoint(store, config, state, clock)
    return state, clock


def run_signs(config, store, device, progress=None) -> tuple[LevelState, float]:
    """The source sweep's dense networks and tickets of levels 0 .. levels - 1, trained again with a sign probe.

    Every run is the source's own (same θ0, mask and data order), checked
    against the source's stored curve; its curve adds, at every evaluation
    point, the fractions of weights whose sign differs from the start and
    whose magnitude grew (:func:`lthlib.engine.probes.signs`), in two groups: the
    weights the next pruning round keeps (``kept_*``) and those it removes
    (``pruned_*``). A source read from the store's fallback (made on another
    machine) that this machine does not reproduce is trained again in the
    store itself, and the probe starts over from it.
    """
    try:
        return _probe_signs(config, store, device, progress)
    except SourceMismatch as mismatch:
        source = source_sweep(config)
        if store is None or store.fallback is None or (store.directory(source) / "record.json").exists():
            raise
        print(f"lthlib: {mismatch}; training the source sweep here, in {store.root}", file=sys.stderr)
        result(source, store.without_fallback(), device)
        store.remove_checkpoints(config)
        return _probe_signs(config, store, device, progress)


def _probe_signs(config, store, device, progress=None) -> tuple[LevelState, float]:
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    layers = [layer.name for layer in arch.layers]
    masks, source_runs = _source(config, store, device)
    trials = range(config.trials)
    reset = dense_start(config, arch, device)
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in reset[0].items()}
    saved = store.load_checkpoint(config) if store is not None else None
    if saved is not None:
        state = LevelState.from_checkpoint(saved, device)
        _note_resume(state)
    else:
        state = LevelState(-1, {}, {}, {}, {}, {}, [], {}, {layer.name: list(layer.shape) for layer in arch.layers})
    clock = time.perf_counter() - state.seconds
    for levels in cohort_levels(config):
        if levels[-1] <= state.level:
            continue
        alive = {
            level: full if level == 0 else source_tickets(masks, level, trials, layers, device) for level in levels
        }
        after = {level: source_tickets(masks, level + 1, trials, layers, device) for level in levels}
        cohort = concat_cohorts(
            [level_cohort(config, level, {"ticket": alive[level]}, reset, None) for level in levels]
        )
        groups = {
            "kept": {name: torch.cat([after[level][name] for level in levels]) for name in layers},
            "pruned": {
                name: torch.cat([alive[level][name] & ~after[level][name] for level in levels]) for name in layers
            },
        }
        probe = probes.signs(effective_weights(cohort.weights, cohort.masks, cohort.frozen), groups)
        trained = train_cohort(config, arch, dataset, cohort, progress=progress, probe=probe)
        for index, level in enumerate(levels):
            runs = _summaries(level, {"ticket": alive[level]}, trained, config, offset=index * config.trials)
            _check_reproduces(config, runs, source_runs)
            state.runs += runs
            state.masks.update(_masks_to_store(level, {"ticket": alive[level]}))
        state.level = levels[-1]
        _checkpoint(store, config, state, clock)
    return state, clock


def run_single(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Level 0 only, ``trials`` networks: dense training, or learned supermasks."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    return _resume_or_start(config, store, arch, dataset, device, progress)


EXPERIMENTS = {
    "dense": run_single,
    "imp": run_imp,
    "oneshot": run_oneshot,
    "untrained": run_untrained,
    "supermask": run_single,
    "swap": run_borrowed,
    "transfer": run_borrowed,
    "signs": run_signs,
}


def _to(tree, device):
    """Move every tensor in a nested dict/list/tuple to ``device``."""
    if isinstance(tree, torch.Tensor):
        return tree.to(device)
    if isinstance(tree, dict):
        return {k: _to(v, device) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to(v, device) for v in tree)
    return tree


def _checkpoint(store, config, state: LevelState, clock: float) -> None:
    state.seconds = time.perf_counter() - clock
    _note_fresh_start(state)
    if store is not None and not store.read_only:
        store.save_checkpoint(config, state.level, state.to_checkpoint())


def _note_fresh_start(state: LevelState) -> None:
    """A run computed from level 0 by this process: its code is this process's."""
    if not state.code and not state.resumed_after_levels and not state.extended_from:
        state.code.append({"from_level": 0, **code_version()})


def _note_resume(state: LevelState) -> None:
    """This process goes on from ``state.level``: the levels after it are its code's."""
    state.resumed_after_levels.append(state.level)
    state.code.append({"from_level": state.level + 1, **code_version()})


def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=PACKAGE)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _git_commit() -> str | None:
    return _git("rev-parse", "--verify", "-q", "HEAD")


def source_digest(package: pathlib.Path) -> str:
    """The first 16 hex digits of a SHA-256 over the paths (relative to ``package``) and contents of the ``*.py``
    files in ``package`` and its subfolders."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def code_version() -> dict:
    """The library source this process runs: ``lthlib_sha256``, a digest of the package's Python files (names and
    contents), which identifies it with or without git; the git commit, and whether the package's files differ
    from it (``None`` outside a git clone)."""
    status = _git("status", "--porcelain", "--", ".")
    return {
        "lthlib_sha256": source_digest(PACKAGE),
        "git_commit": _git_commit(),
        "lthlib_modified": None if status is None else bool(status),
    }


code_version()  # read once, at import: the source this process loaded, not what the files say hours later


def provenance(device, state: LevelState, clock: float, finished: float | None = None) -> dict:
    """Where and how long: library and torch versions, device, threads, cumulative wall time (s) from ``clock`` to
    ``finished`` (``time.perf_counter()`` values; ``finished`` defaults to now)."""
    device = torch.device(device)
    extended = {}
    if state.extended_from:
        extended["extended_from"] = state.extended_from
        if "untimed_levels" in state.extended_from:  # levels whose time the shorter sweep could not record
            extended["untimed_levels"] = state.extended_from["untimed_levels"]
    if state.trained_with:  # the records computed in the same batched cohorts; wall_seconds is their joint time
        extended["trained_with"] = state.trained_with
    return {
        "lthlib": __version__,
        "git_commit": _git_commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "processor": processor(),
        "threads": torch.get_num_threads(),
        "wall_seconds": round((finished or time.perf_counter()) - clock, 1),
        "resumed_after_levels": state.resumed_after_levels,
        "code": [entry for entry in state.code if entry["from_level"] <= state.level],  # not a resume with nothing left
        **extended,
    }


@functools.cache
def processor() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo, else the platform's word) and the vector instructions PyTorch's
    kernels use on it, e.g. ``"AMD EPYC (AVX2)"``: together they decide whether a run is reproduced to the last bit
    (:mod:`lthlib.engine.verify`). A virtual machine's model name alone may hide them: a LeNet record computed on one
    "AMD EPYC" drifted by 2e-3 within 250 steps on another that has AVX2 alone."""
    return f"{_model_name()} ({torch.backends.cpu.get_cpu_capability()})"


def _model_name() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_steps(config) -> int:
    """Optimiser steps a full run of the resolved ``config`` takes (for progress bars)."""
    config = resolve(config)
    trained_levels = 1 if config.experiment == "untrained" else len(cohort_levels(config))
    return config.iterations * trained_levels


def compute(config: ExperimentConfig, store: Store | None, device="cpu", progress=None) -> dict:
    """Run ``config`` (resolved) from scratch or from its checkpoint; save and return its record.

    The caller holds the result's lock (see :func:`result`). ``progress``, if
    given, has ``advance(steps)`` and ``resumed(level)`` (the command line draws a bar).
    """
    config = resolve(config)
    if store is not None:
        store.remove_orphans(config)
    state, clock = EXPERIMENTS[config.experiment](config, store, device, progress)
    return _save(config, store, device, state, clock)


def _save(config, store, device, state: LevelState, clock: float, finished: float | None = None) -> dict:
    """The record of a finished ``state``, saved in ``store`` (returned unsaved without one); ``finished``: when
    its training ended (``time.perf_counter()``; default now)."""
    _note_fresh_start(state)
    record = {
        "experiment": config.experiment,
        "hash": config_hash(config),
        "config": config.to_dict(),
        "layers": state.layers,
        "runs": state.runs,
        "provenance": provenance(device, state, clock, finished),
    }
    masks_np = {key: mask.cpu().numpy() for key, mask in state.masks.items()}
    if store is None:
        return record
    return store.save(config, record, masks_np, final_weights(config, state))


def keeps_final_weights(config) -> bool:
    """Whether the record of ``config`` keeps its last level's trained tickets, so that a longer sweep goes on from
    them on any machine instead of training them again bit-identically: a sweep that can be extended (see
    :func:`shorter_sweep`), of the fully-connected network (1 MB a trial; a convolutional network's would be
    17 MB or more a trial)."""
    return config.experiment == "imp" and config.mask0 not in actions.FROM_TRAINING and config.network == "lenet"


def final_weights(config, state: LevelState) -> dict[str, np.ndarray] | None:
    """``{"weights/<layer>" | "biases/<layer>": (T, ...) float32}``: the tickets' trained weights at the last
    level, for :data:`keeps_final_weights` configs (``None`` for others)."""
    if not keeps_final_weights(config):
        return None
    return {
        **{f"weights/{name}": w.cpu().numpy() for name, w in state.final.items()},
        **{f"biases/{name}": b.cpu().numpy() for name, b in state.final_biases.items()},
    }


def result(
    config: ExperimentConfig, store: Store, device="cpu", allow_train: bool = True, progress=None, report=None
) -> dict:
    """The stored record of ``config``, computing it first if missing and ``allow_train``.

    One process computes a result at a time: a second one waits for the
    first (saying so through ``report``) and then returns what it stored.
    """
    config = resolve(config)
    record = store.load(config)
    if record is not None:
        return record
    if not allow_train:
        raise MissingResult(store.describe_miss(config))
    with store.lock(config, report):
        record = store.load(config)
        if record is not None:
            return record
        return compute(config, store, device, progress)


# The settings in which iterative sweeps may differ and still train together: every other setting (network,
# data, optimiser, length, trials, seed, rewinding) is shared, so their dense level is one computation and
# each round of their pruning levels trains as one cohort.
ARM_FIELDS = ("criterion", "mask1", "mask0", "controls", "levels", "control_rewind")


class JointError(ValueError):
    """Configs that cannot be trained together; the message names the setting that differs."""


def shared_settings(config) -> dict:
    """The settings of a resolved config that sweeps trained together must share (all but :data:`ARM_FIELDS`)."""
    return {name: value for name, value in config.to_dict().items() if name not in ARM_FIELDS}


def check_joint(configs) -> list[ExperimentConfig]:
    """``configs`` resolved and each result once, if they are iterative sweeps differing only in :data:`ARM_FIELDS`."""
    resolved, seen = [], set()
    for config in map(resolve, configs):
        if config.experiment != "imp":
            raise JointError(f"experiment={config.experiment!r} cannot train with others; valid: 'imp'")
        if config_hash(config) not in seen:
            seen.add(config_hash(config))
            resolved.append(config)
    first = shared_settings(resolved[0])
    for config in resolved[1:]:
        for name, value in shared_settings(config).items():
            if value != first[name]:
                raise JointError(
                    f"{name}={value!r} differs from {name}={first[name]!r}: configs trained together may differ "
                    f"only in {', '.join(ARM_FIELDS)}"
                )
    snapshots = sorted({config.control_rewind for config in resolved if config.control_rewind is not None})
    if len(snapshots) > 1:
        raise JointError(
            f"control_rewind differs ({', '.join(map(str, snapshots))}): the dense networks trained once for all "
            f"sweeps keep one snapshot; valid: one control_rewind for every sweep with the rewind control"
        )
    info = data.info(resolved[0].dataset)
    arch = models.build(resolved[0].network, info.input_shape, info.num_classes)
    needed, available = sum(memory_estimate(config, arch) for config in resolved), physical_memory()
    if available and needed > 0.8 * available:
        raise JointError(
            f"{len(resolved)} sweeps trained together would need about {needed / 2**30:,.1f} GiB; this machine has "
            f"{available / 2**30:,.1f} GiB; valid: fewer sweeps together, or fewer trials"
        )
    return resolved


def _fresh_copy(state: LevelState) -> LevelState:
    """A state of its own for another config, sharing the (never modified in place) tensors."""
    return dataclasses.replace(state, runs=list(state.runs), masks=dict(state.masks), resumed_after_levels=[], code=[])


def compute_together(configs, store: Store, device="cpu", progress=None) -> list[dict]:
    """The records of iterative sweeps that differ only in :data:`ARM_FIELDS`, computed as one batched run, one per
    config in the order given (a config given twice is computed once and returned twice).

    The dense level is trained once for all of them; then every round, each
    unfinished sweep's next level joins one cohort. Members train exactly as
    they would alone (see :mod:`lthlib.engine.train`), so each record equals the one
    its config computes by itself; its provenance names the records it was
    trained with, and its wall time is the joint one. Each sweep is
    checkpointed after every round and resumes on its own; stored results are
    read, not recomputed. The caller's ``progress`` sees the joint steps.
    """
    if not configs:
        return []
    joint = check_joint(configs)  # each result once
    locks = [store.lock(config) for config in sorted(joint, key=config_hash)]
    try:
        records = {config_hash(c): store.load(c) for c in joint}
        todo = [c for c in joint if records[config_hash(c)] is None]
        if todo:
            for config, record in zip(todo, _train_together(todo, store, device, progress)):
                records[config_hash(config)] = record
        return [records[config_hash(c)] for c in configs]
    finally:
        for lock in locks:
            lock.release()


def _train_together(configs, store, device, progress) -> list[dict]:
    # the dense networks, trained once, keep the snapshot of the sweep with a rewind control (if any)
    snapshot = next((config.control_rewind for config in configs if config.control_rewind), None)
    shared = configs[0].replace(control_rewind=snapshot)
    dataset = load_data(shared, device)
    arch = architecture(shared, dataset)
    start = time.perf_counter()
    states, origins, dense = {}, {}, None  # origins: where each record's clock starts (earlier when resumed)
    for config in configs:
        key = config_hash(config)
        store.remove_orphans(config)
        saved = store.load_checkpoint(config)
        if saved is not None:
            states[key] = LevelState.from_checkpoint(saved, device)
            _note_resume(states[key])
            origins[key] = start - states[key].seconds
            continue
        if dense is None:
            dense = dense_level(shared, arch, dataset, device, progress)
        states[key], origins[key] = _fresh_copy(dense), start
        if not config.control_rewind:  # only a sweep with the rewind control keeps the snapshot
            states[key].rewound_weights, states[key].rewound_biases = {}, {}
    for config in configs:
        key = config_hash(config)
        states[key].trained_with = sorted(config_hash(other) for other in configs if other is not config)
        _checkpoint(store, config, states[key], origins[key])
    if progress is not None:  # the bar starts at the rounds already done (the dense level, or resumed ones)
        rounds_left = max(c.levels - states[config_hash(c)].level for c in configs)
        progress.resumed(max(c.levels for c in configs) - rounds_left)
    while unfinished := [c for c in configs if states[config_hash(c)].level < c.levels]:
        levels = [(config, states[config_hash(config)].level + 1) for config in unfinished]
        built = [imp_level(config, arch, states[config_hash(config)], level) for config, level in levels]
        cohort = concat_cohorts([one for _, one in built])
        trained = train_cohort(shared, arch, dataset, cohort, progress=progress)
        offset = 0
        for (config, level), (arm_masks, own) in zip(levels, built):
            _finish_level(config, states[config_hash(config)], level, arm_masks, own, trained, offset)
            _checkpoint(store, config, states[config_hash(config)], origins[config_hash(config)])
            offset += own.size
    finished = time.perf_counter()  # one end for all: saving one record must not add to the next one's time
    return [_save(c, store, device, states[config_hash(c)], origins[config_hash(c)], finished) for c in configs]
