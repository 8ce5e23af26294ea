"""Stored ticket masks trained again from other starts: swapped between trials, or transferred between datasets.

Each trial trains, from its own θ0, the ticket masks of another sweep (its
*source*, the iterative sweep with the same settings, on the dataset
``mask_from`` names if any), every level. Whose masks trial t of T trains is
the kind's *donor*: the next trial's for a swap, its own for a transfer.
"""

from __future__ import annotations

import torch

from .. import experiments, kind
from ..config import ExperimentConfig, config_hash, resolve
from ..levels import (
    LevelState,
    architecture,
    checkpoint,
    cohort_levels,
    concat_cohorts,
    dense_level,
    level_cohort,
    load_data,
    mask_key,
    masks_to_store,
    summaries,
    train_cohort,
)
from ..resume import resume_or_start
from .imp import run_imp


def source_sweep(config) -> ExperimentConfig:
    """The iterative sweep whose ticket masks a borrowing experiment ``config`` trains again: its own resolved
    settings (no controls) as experiment imp, on the dataset ``mask_from`` names if any."""
    resolved = resolve(config)
    return resolve(resolved.replace(experiment="imp", dataset=resolved.mask_from or resolved.dataset, mask_from=None))


def source_masks(config, store, device) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """Every stored mask of ``config``'s source sweep and its runs (the sweep computed first when the store lacks
    it)."""
    source = source_sweep(config)
    if store is None:
        state, _ = run_imp(source, None, device)
        return {key: mask.cpu() for key, mask in state.masks.items()}, state.runs
    record = experiments.result(source, store, device)
    return {key: torch.from_numpy(mask) for key, mask in store.load_masks(source).items()}, record["runs"]


class SourceMismatch(RuntimeError):
    """A run trained again does not reproduce the stored run it repeats, so what it measures is not that run's."""


def check_reproduces(config, runs: list[dict], source_runs: list[dict]) -> None:
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


def borrowed_masks(config, masks: dict, level: int, layers, device, donor) -> dict:
    """``{layer: (T, ...) bool}``: the source's ticket masks of ``level`` each trial trains; trial t of T trains
    those of trial ``donor(t, T)``."""
    donors = [donor(t, config.trials) for t in range(config.trials)]
    return source_tickets(masks, level, donors, layers, device)


def borrowing(donor):
    """The run of a kind whose trial t of T trains the source's masks of trial ``donor(t, T)``."""

    def run_borrowed(config, store, device, progress=None) -> tuple[LevelState, float]:
        """Each trial trains, from its own θ0, the ticket masks of the source sweep's donor trial, every level.

        Level 0 is the dense network of each trial; the pruned levels' arm is the kind's stored arm
        (``swapped``, ``transferred``).
        """
        dataset = load_data(config, device)
        arch = architecture(config, dataset)
        masks, _ = source_masks(config, store, device)
        state, clock = resume_or_start(config, store, arch, dataset, device, progress)
        layers = [layer.name for layer in arch.layers]
        label = kind.of(config).stored_arm
        for levels in cohort_levels(config)[1:]:
            if levels[-1] <= state.level:
                continue
            borrowed = {level: borrowed_masks(config, masks, level, layers, device, donor) for level in levels}
            cohort = concat_cohorts(
                [level_cohort(config, level, {"ticket": borrowed[level]}, state.reset, state.final) for level in levels]
            )
            trained = train_cohort(config, arch, dataset, cohort, progress=progress, level=list(levels))
            for index, level in enumerate(levels):
                arm = {label: borrowed[level]}
                state.runs += summaries(level, arm, trained, config, offset=index * config.trials)
                state.masks.update(masks_to_store(level, arm, arm=label))
            state.level = levels[-1]
            checkpoint(store, config, state, clock)
        return state, clock

    return run_borrowed


SWAP = kind.Kind(
    "swap",
    "masks swapped between trials",
    run=borrowing(lambda t, trials: (t + 1) % trials),
    first_level=dense_level,
    borrows=True,
    levels_together=True,
    stored_arm="swapped",
)
TRANSFER = kind.Kind(
    "transfer",
    "transferred masks",
    run=borrowing(lambda t, trials: t),
    first_level=dense_level,
    borrows=True,
    takes_mask_from=True,
    levels_together=True,
    stored_arm="transferred",
)
