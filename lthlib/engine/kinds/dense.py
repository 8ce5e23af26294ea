"""Dense training: level 0 only, ``trials`` networks, nothing pruned."""

from __future__ import annotations

from .. import kind
from ..levels import LevelState, architecture, dense_level, load_data
from ..resume import resume_or_start


def run_single(config, store, device, progress=None) -> tuple[LevelState, float]:
    """Level 0 only, ``trials`` networks: dense training, or learned supermasks."""
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    return resume_or_start(config, store, arch, dataset, device, progress)


DENSE = kind.Kind(
    "dense",
    "dense",
    run=run_single,
    first_level=dense_level,
    unpruned="it prunes nothing",
    trials_independent=True,
)
