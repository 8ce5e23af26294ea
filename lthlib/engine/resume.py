"""Where a run starts and how it ends: its checkpoint, a stored shorter sweep extended, or level 0; its record.

An interrupted run resumes from its last finished level (its checkpoint in
the store). A longer iterative sweep extends a shorter one: when the store
holds the same config with fewer pruning levels, the sweep goes on from the
tickets of its last level. Their trained weights come from the record when
it keeps them; otherwise they train again and must reproduce the stored
curves exactly.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from . import actions, data, kind
from .config import ExperimentConfig, config_hash
from .levels import (
    LevelState,
    checkpoint,
    dense_level,
    dense_start,
    first_level,
    level_cohort,
    stored_tickets,
    train_cohort,
)
from .provenance import code_version, note_fresh_start, note_resume, provenance
from .store import StoreError
from .train import Trained, effective_weights


def resume_or_start(config, store, arch, dataset, device, progress) -> tuple[LevelState, float]:
    """The checkpointed state of an interrupted run, a stored shorter sweep extended, or level 0 trained.

    Also returns the origin of this process's clock from which the run's
    cumulative training time is measured across interruptions.
    """
    saved = store.load_checkpoint(config) if store is not None else None
    if saved is not None:
        state = LevelState.from_checkpoint(saved, device)
        if progress is not None:
            progress.resumed(state.level)
        note_resume(state)
        return state, time.perf_counter() - state.seconds
    state = extend_shorter(config, store, arch, dataset, device)
    if state is not None:
        if progress is not None:
            progress.resumed(state.level)
        checkpoint(store, config, state, time.perf_counter() - state.seconds)
        return state, time.perf_counter() - state.seconds
    clock = time.perf_counter()
    state = first_level(config, arch, dataset, device, progress)
    checkpoint(store, config, state, clock)
    return state, clock


def shorter_sweep(config, store, report) -> tuple[ExperimentConfig, dict] | None:
    """The stored iterative sweep of ``config`` with the most levels short of ``config.levels``, or ``None``.

    Only an iterative sweep whose pruned weights do not depend on the previous
    level's trained weights (``mask0`` not in :data:`lthlib.engine.actions.FROM_TRAINING`)
    can be extended. A stored sweep that fails the store's checks is reported and passed over.
    """
    if store is None or not kind.of(config).extendable or config.mask0 in actions.FROM_TRAINING:
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
        trained = train_cohort(config, arch, dataset, cohort, level=level)
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


def save(config, store, device, state: LevelState, clock: float, finished: float | None = None) -> dict:
    """The record of a finished ``state``, saved in ``store`` (returned unsaved without one); ``finished``: when
    its training ended (``time.perf_counter()``; default now)."""
    note_fresh_start(state)
    record = {
        "experiment": config.experiment,
        "hash": config_hash(config),
        "config": config.to_dict(),
        "layers": state.layers,
        "runs": state.runs,
        # the data it was trained on: reading the record where the data differs is refused (Store.load)
        "provenance": {**provenance(device, state, clock, finished), "data_sha256": data.digest(config.dataset)},
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
    return kind.of(config).extendable and config.mask0 not in actions.FROM_TRAINING and config.network == "lenet"


def final_weights(config, state: LevelState) -> dict[str, np.ndarray] | None:
    """``{"weights/<layer>" | "biases/<layer>": (T, ...) float32}``: the tickets' trained weights at the last
    level, for :data:`keeps_final_weights` configs (``None`` for others)."""
    if not keeps_final_weights(config):
        return None
    return {
        **{f"weights/{name}": w.cpu().numpy() for name, w in state.final.items()},
        **{f"biases/{name}": b.cpu().numpy() for name, b in state.final_biases.items()},
    }
