"""One-shot pruning (Frankle & Carbin), and Zhou et al.'s supermasks at initialisation.

One-shot pruning trains the dense networks once, prunes them straight to
each level's size, resets and trains every level; the levels do not depend
on each other, so several train as one cohort. Supermasks at initialisation
prune the same way and evaluate each mask on the untrained network.
"""

from __future__ import annotations

from .. import kind
from ..config import ConfigError, ExperimentConfig, canonical_json
from ..joint import shared_settings
from ..levels import (
    LevelState,
    architecture,
    checkpoint,
    cohort_levels,
    concat_cohorts,
    dense_level,
    fresh_copy,
    level_cohort,
    load_data,
    masks_to_store,
    oneshot_masks,
    summaries,
    train_cohort,
)
from ..resume import resume_or_start


def run_oneshot(config, store, device, progress=None, iterations=None) -> tuple[LevelState, float]:
    """One-shot pruning: train once, prune straight to each level's size, reset, train every level (``iterations``
    overrides how long; 0 evaluates each level's network untrained)."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    state, clock = resume_or_start(config, store, arch, dataset, device, progress)
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
        trained = train_cohort(
            config, arch, dataset, cohort, progress=progress, iterations=iterations, level=list(levels)
        )
        per_level = config.trials * (1 + len(config.controls))
        for index, level in enumerate(levels):
            state.runs += summaries(level, arm_masks[level], trained, config, offset=index * per_level)
            state.masks.update(masks_to_store(level, arm_masks[level]))
        state.level = levels[-1]
        checkpoint(store, config, state, clock)
    return state, clock


def run_untrained(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Zhou et al.'s supermasks at initialisation: the dense networks trained once, pruned one-shot to each level's
    size by ``config.criterion``, and each mask evaluated on the untrained network (kept weights by ``mask1``,
    pruned ones at zero), never trained. Each level's curve is its one evaluation at iteration 0."""
    return run_oneshot(config, store, device, progress, iterations=0)


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
    return fresh_copy(_SHARED_DENSE[key])


def settle_untrained(config: ExperimentConfig) -> dict:
    """Zhou et al.'s supermasks at initialisation evaluate each mask on the untrained network: no controls, and
    pruned weights at zero; returns the settings it fixes (no controls)."""
    if config.controls not in ((), ExperimentConfig().controls):
        raise ConfigError(
            f"controls={','.join(config.controls)!r} does not apply to experiment='untrained' (it evaluates each "
            f"mask without training); valid: leave it out"
        )
    if config.mask0 != "zero":
        raise ConfigError(
            f"mask0={config.mask0!r} does not apply to experiment='untrained' (its pruned weights are zero); "
            f"valid: zero"
        )
    if config.rewind:
        raise ConfigError(
            f"rewind={config.rewind} does not apply to experiment='untrained' (its kept weights are the untrained "
            f"θ0); valid: 0"
        )
    return {"controls": ()}


ONESHOT = kind.Kind(
    "oneshot",
    "one-shot pruning",
    run=run_oneshot,
    first_level=dense_level,
    levels_together=True,
    trials_independent=True,
)
UNTRAINED = kind.Kind(
    "untrained",
    "untrained masked networks",
    run=run_untrained,
    first_level=shared_dense_level,
    levels_together=True,
    trains_pruned_levels=False,
    settle=settle_untrained,
)
