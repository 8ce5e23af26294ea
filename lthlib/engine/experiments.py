"""Computing a result: the stored record of a config, or its experiment run and saved.

:func:`result` is what chapters, the command line and sweeps call: it reads
the store, or computes the config once (a file lock keeps a second process
waiting) and saves its record (see :mod:`lthlib.engine.store`). What a config
computes is its experiment kind's (:mod:`lthlib.engine.kinds`), built from
the steps of :mod:`lthlib.engine.levels`; :mod:`lthlib.engine.resume` says
where it starts, :mod:`lthlib.engine.joint` trains iterative sweeps together.
"""

from __future__ import annotations

from . import kind
from .config import ExperimentConfig, resolve
from .joint import JointError, check_joint, compute_together  # noqa: F401,E402  TEMPORARY: until analysis moves
from .levels import (
    cohort_levels,
    mask_key,  # noqa: F401,E402  TEMPORARY
)
from .resume import save
from .store import RECORD, CorruptRecord, MissingResult, Store


def total_steps(config) -> int:
    """Optimiser steps a full run of the resolved ``config`` takes (for progress bars)."""
    config = resolve(config)
    trained_levels = len(cohort_levels(config)) if kind.of(config).trains_pruned_levels else 1
    return config.iterations * trained_levels


def compute(config: ExperimentConfig, store: Store | None, device="cpu", progress=None) -> dict:
    """Run ``config`` (resolved) from scratch or from its checkpoint; save and return its record.

    The caller holds the result's lock (see :func:`result`). ``progress``, if
    given, has ``advance(steps)`` and ``resumed(level)`` (the command line draws a bar).
    """
    config = resolve(config)
    if store is not None:
        store.prepare_directory(config)
        store.remove_orphans(config)
    state, clock = kind.of(config).run(config, store, device, progress)
    return save(config, store, device, state, clock)


def result(
    config: ExperimentConfig, store: Store, device="cpu", allow_train: bool = True, progress=None, report=None
) -> dict:
    """The stored record of ``config``, computing it first if missing and ``allow_train``.

    One process computes a result at a time: a second one waits for the
    first (saying so through ``report``) and then returns what it stored.
    A damaged record (:class:`CorruptRecord`) is an error when nothing may
    be computed; otherwise, under the lock, it is set aside as ``*.corrupt``
    and computed again. Checkpoints left beside a finished record are removed.
    """
    config = resolve(config)
    computing = allow_train and not store.read_only
    try:
        record = store.load(config)
    except CorruptRecord:
        if not computing:
            raise
        record = None  # looked at again under the lock
    if record is not None:
        if computing and (store.directory(config) / RECORD).is_file():
            store.remove_orphans(config)
        return record
    if not allow_train:
        raise MissingResult(store.describe_miss(config))
    with store.lock(config, report):
        record = store.load_or_set_aside(config, report)
        if record is not None:
            return record
        return compute(config, store, device, progress)
