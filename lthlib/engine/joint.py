"""Iterative sweeps trained together: one dense level for all, then each round of all their levels as one cohort.

Sweeps that differ only in their criterion, mask actions, controls or levels
(:data:`ARM_FIELDS`) share every setting their dense networks depend on, so
those train once, and each round of their pruning levels trains as one
cohort; each sweep is still its own record, equal to the one it computes
alone.
"""

from __future__ import annotations

import time

from . import data, kind, models
from .config import ExperimentConfig, config_hash, memory_estimate, physical_memory, resolve
from .levels import (
    LevelState,
    architecture,
    checkpoint,
    concat_cohorts,
    dense_level,
    finish_level,
    fresh_copy,
    imp_level,
    load_data,
    train_cohort,
)
from .provenance import note_resume
from .resume import save
from .store import Store

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
        if not kind.of(config).extendable:
            valid = " or ".join(repr(own.name) for own in kind.KINDS.values() if own.extendable)
            raise JointError(f"experiment={config.experiment!r} cannot train with others; valid: {valid}")
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
        records = {config_hash(c): store.load_or_set_aside(c) for c in joint}
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
        store.prepare_directory(config)
        store.remove_orphans(config)
        saved = store.load_checkpoint(config)
        if saved is not None:
            states[key] = LevelState.from_checkpoint(saved, device)
            note_resume(states[key])
            origins[key] = start - states[key].seconds
            continue
        if dense is None:
            dense = dense_level(shared, arch, dataset, device, progress)
        states[key], origins[key] = fresh_copy(dense), start
        if not config.control_rewind:  # only a sweep with the rewind control keeps the snapshot
            states[key].rewound_weights, states[key].rewound_biases = {}, {}
    for config in configs:
        key = config_hash(config)
        states[key].trained_with = sorted(config_hash(other) for other in configs if other is not config)
        checkpoint(store, config, states[key], origins[key])
    if progress is not None:  # the bar starts at the rounds already done (the dense level, or resumed ones)
        rounds_left = max(c.levels - states[config_hash(c)].level for c in configs)
        progress.resumed(max(c.levels for c in configs) - rounds_left)
    while unfinished := [c for c in configs if states[config_hash(c)].level < c.levels]:
        levels = [(config, states[config_hash(config)].level + 1) for config in unfinished]
        built = [imp_level(config, arch, states[config_hash(config)], level) for config, level in levels]
        cohort = concat_cohorts([one for _, one in built])
        per_member = [level for (_, level), (_, own) in zip(levels, built) for _ in range(own.size)]
        trained = train_cohort(shared, arch, dataset, cohort, progress=progress, level=per_member)
        offset = 0
        for (config, level), (arm_masks, own) in zip(levels, built):
            finish_level(config, states[config_hash(config)], level, arm_masks, own, trained, offset)
            checkpoint(store, config, states[config_hash(config)], origins[config_hash(config)])
            offset += own.size
    finished = time.perf_counter()  # one end for all: saving one record must not add to the next one's time
    return [save(c, store, device, states[config_hash(c)], origins[config_hash(c)], finished) for c in configs]
