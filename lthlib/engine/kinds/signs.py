"""The sign probe: the source sweep's networks trained again, counting sign changes and magnitude growth."""

from __future__ import annotations

import sys
import time

import torch

from .. import experiments, kind, probes
from ..levels import (
    LevelState,
    architecture,
    checkpoint,
    cohort_levels,
    concat_cohorts,
    dense_level,
    dense_start,
    level_cohort,
    load_data,
    masks_to_store,
    summaries,
    train_cohort,
)
from ..provenance import note_resume
from ..train import effective_weights
from .borrowed import SourceMismatch, check_reproduces, source_masks, source_sweep, source_tickets


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
        experiments.result(source, store.without_fallback(), device)
        store.remove_checkpoints(config)
        return _probe_signs(config, store, device, progress)


def _probe_signs(config, store, device, progress=None) -> tuple[LevelState, float]:
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    layers = [layer.name for layer in arch.layers]
    masks, source_runs = source_masks(config, store, device)
    trials = range(config.trials)
    reset = dense_start(config, arch, device)
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in reset[0].items()}
    saved = store.load_checkpoint(config) if store is not None else None
    if saved is not None:
        state = LevelState.from_checkpoint(saved, device)
        note_resume(state)
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
        trained = train_cohort(config, arch, dataset, cohort, progress=progress, probe=probe, level=list(levels))
        for index, level in enumerate(levels):
            runs = summaries(level, {"ticket": alive[level]}, trained, config, offset=index * config.trials)
            check_reproduces(config, runs, source_runs)
            state.runs += runs
            state.masks.update(masks_to_store(level, {"ticket": alive[level]}))
        state.level = levels[-1]
        checkpoint(store, config, state, clock)
    return state, clock


SIGNS = kind.Kind(
    "signs",
    "sign probe",
    run=run_signs,
    first_level=dense_level,
    borrows=True,
    levels_together=True,
    last_level=lambda config: config.levels - 1,  # up to the last mask whose next round it probes
)
