"""Learned supermasks (Zhou et al., Ramanujan et al.): weights frozen at their start, a mask learned over them."""

from __future__ import annotations

import torch

from .. import actions, kind, supermask
from ..levels import LevelState, data_seeds, dense_start, masks_to_store, member, stack, summaries, train_cohort
from ..seeds import generator
from ..train import Cohort
from .dense import run_single


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
        config, arch, dataset, cohort, progress=progress, iterations=iterations, mode=supermask.mode(config), level=0
    )
    learned = {"supermask": trained.masks}
    return LevelState(
        level=0,
        reset_weights=weights,
        reset_biases=biases,
        alive=trained.masks,
        start=frozen,
        final=trained.weights,
        runs=summaries(0, learned, trained, config),
        masks=masks_to_store(0, learned, arm="supermask"),
        layers={layer.name: list(layer.shape) for layer in arch.layers},
    )


SUPERMASK = kind.Kind(
    "supermask",
    "learned supermasks",
    run=run_single,
    first_level=supermask_level,
    unpruned="it learns its mask instead of pruning",
    learned=True,
)
