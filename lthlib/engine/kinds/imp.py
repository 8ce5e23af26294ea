"""Iterative pruning (Frankle & Carbin): train, prune by the criterion among live weights, reset, repeat."""

from __future__ import annotations

from .. import kind
from ..levels import (
    LevelState,
    architecture,
    checkpoint,
    dense_level,
    finish_level,
    imp_level,
    load_data,
    train_cohort,
)
from ..resume import resume_or_start


def run_imp(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Iterative pruning: train, prune ``criterion`` among live weights, reset, repeat ``levels`` times."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    state, clock = resume_or_start(config, store, arch, dataset, device, progress)
    for level in range(state.level + 1, config.levels + 1):
        arm_masks, cohort = imp_level(config, arch, state, level)
        trained = train_cohort(config, arch, dataset, cohort, progress=progress, level=level)
        finish_level(config, state, level, arm_masks, cohort, trained)
        checkpoint(store, config, state, clock)
    return state, clock


IMP = kind.Kind(
    "imp",
    "iterative pruning",
    run=run_imp,
    first_level=dense_level,
    extendable=True,
    trials_independent=True,
)
