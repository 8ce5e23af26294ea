"""The registry of experiment kinds: what each ``experiment`` of a config computes, declared once.

An experiment kind (dense, imp, oneshot, …) is one :class:`Kind`, declared by
its module in :mod:`lthlib.engine.kinds` and registered there. The config
reads its rules from here (which settings it refuses or fixes), the
procedures read how it runs, verification reads how it re-trains. A new kind
is one module in ``lthlib/engine/kinds/`` and its name in that package's list.

This module imports nothing of the engine, so that the config can read the
registry while the kinds' modules, which need the config, fill it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _no_rules(config) -> dict:
    return {}


def _every_level(config) -> int:
    return config.levels


@dataclass(frozen=True)
class Kind:
    """One experiment kind.

    ``run(config, store, device, progress) -> (LevelState, clock)`` computes a
    resolved config's levels; ``first_level(config, arch, dataset, device,
    progress=None, iterations=None) -> LevelState`` trains its level 0 (also
    for verification). The flags say what the config may set and how levels
    are trained; ``settle(config) -> dict`` checks what only this kind forbids
    (raising :class:`lthlib.engine.config.ConfigError`) and returns the
    settings it fixes.
    """

    name: str
    description: str  # how the book's text calls it
    run: Callable
    first_level: Callable
    unpruned: str = ""  # why pruning settings mean nothing for it ("it prunes nothing"); "" for pruning kinds
    learned: bool = False  # learns its mask (settings from the supermask method's paper)
    borrows: bool = False  # trains again the ticket masks of a stored iterative sweep: no controls of its own
    takes_mask_from: bool = False  # its masks come from another dataset's sweep (setting mask_from)
    levels_together: bool = False  # its pruned levels do not depend on each other, so several train as one cohort
    trains_pruned_levels: bool = True  # False: pruned levels are evaluated untrained
    last_level: Callable = _every_level  # the last level it trains, from the resolved config
    stored_arm: str = "ticket"  # the arm whose masks its record stores per level
    extendable: bool = False  # a longer sweep goes on from a stored shorter one; sweeps may train together
    trials_independent: bool = False  # its first few trials re-train alone to the same curves (verification)
    settle: Callable = _no_rules


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"experiment kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def names() -> tuple[str, ...]:
    """Every registered kind, in the order of registration."""
    return tuple(KINDS)


def of(config) -> Kind:
    """The kind of ``config`` (a config or anything with an ``experiment`` name)."""
    return KINDS[config.experiment]
