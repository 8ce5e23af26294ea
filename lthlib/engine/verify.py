"""Re-train the first N iterations of a stored record and compare with its stored curves.

Level 0 (dense) is rebuilt from the config's seeds; a pruned level from the
stored ticket masks, its controls from the same seeds as the original run.
Each level trains as the cohort it trained in, so on the same processor the
curves match to the last bit; the tolerance only absorbs the rounding
differences of other BLAS builds. On another processor (or one the record
does not name) the BLAS kernels round differently and training drifts apart
by up to about 1e-2 within a few hundred steps, so the trained evaluations are
held to a looser bound, :data:`ACROSS_PROCESSORS`, while the dense level's
untrained start (θ0, the data, the evaluation) must still match to
:data:`TOLERANCE`.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

from . import actions, kind, models, provenance
from .config import ExperimentConfig
from .levels import (
    ARM_STARTS,
    architecture,
    cohort_levels,
    concat_cohorts,
    first_level,
    level_cohort,
    load_data,
    stored_tickets,
    train_cohort,
    with_controls,
)
from .store import MASKS, RECORD, Store, StoreError, check_data, read_masks

TOLERANCE = 1e-3
ACROSS_PROCESSORS = 1e-1
COMPARED = ("val_loss", "val_acc", "test_loss", "test_acc")


@dataclass
class LevelCheck:
    level: int
    iterations: list
    max_deviation: float
    note: str = ""
    tolerance: float = TOLERANCE
    start_deviation: float = 0.0  # at iteration 0, held to TOLERANCE whatever the processor

    @property
    def ok(self) -> bool:
        return self.max_deviation <= self.tolerance and self.start_deviation <= TOLERANCE


@dataclass
class Report:
    record: str
    steps: int
    checks: list
    scope: str = ""  # which trials were checked, when not all

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def lines(self) -> list[str]:
        out = []
        for check in self.checks:
            verdict = "reproduced" if check.ok else "MISMATCH"
            out.append(
                f"level {check.level}: {verdict} at iterations {check.iterations} "
                f"(largest deviation {check.max_deviation:.2e}, tolerance {check.tolerance:.0e}){check.note}"
            )
        out.append(
            f"{self.record}: {'reproduced' if self.ok else 'NOT reproduced'} over the first {self.steps} iterations"
            f"{self.scope}"
        )
        return out


def _deviation(stored_runs, fresh_curves: list, steps) -> tuple[list, float, float]:
    """The iterations compared, the largest deviation over them, and the largest at iteration 0."""
    worst, at_start, compared = 0.0, 0.0, []
    for k, run in enumerate(stored_runs):
        stored, fresh = run["curve"], fresh_curves[k]
        fresh_at = {it: i for i, it in enumerate(fresh["iteration"])}
        for i, iteration in enumerate(stored["iteration"]):
            if iteration > steps or iteration not in fresh_at:
                continue
            compared.append(iteration)
            j = fresh_at[iteration]
            deviation = max(abs(stored[key][i] - fresh[key][j]) for key in COMPARED)
            worst = max(worst, deviation)
            if iteration == 0:
                at_start = max(at_start, deviation)
    return sorted(set(compared)), worst, at_start


def bound(record: dict) -> tuple[float, str]:
    """The tolerance for the trained evaluations of ``record`` here, and the note that says why when it is looser."""
    if record["provenance"].get("processor") == provenance.processor():
        return TOLERANCE, ""
    where = record["provenance"].get("processor", "a processor it does not name")
    return ACROSS_PROCESSORS, (
        f" (computed on {where}, not on {provenance.processor()}: training is held to {ACROSS_PROCESSORS:.0e}, "
        f"the untrained start to {TOLERANCE:.0e})"
    )


def record_path(path) -> pathlib.Path:
    """``path`` itself if it is a ``record.json``, or the ``record.json`` inside a result's folder."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / RECORD
    if not path.is_file():
        raise StoreError(f"{path} is not a stored record; valid: a result folder of the store or its {RECORD}")
    return path


def verify(path, steps: int = 200, device="cpu", all_levels: bool = False, trials: int | None = None) -> Report:
    """Re-train each checked level for ``steps`` iterations; levels 0 and the last unless ``all_levels``.

    ``steps`` is raised to the record's first evaluation after iteration 0
    when it falls short of it, so that something trained is always compared.
    ``trials`` checks only the first ``trials`` trials of an experiment of
    a kind whose trials are independent (``trials_independent``: a swap's trial t borrows the masks of
    trial t + 1 modulo their number; all trials when ``None``): each trial has its own
    seeds, so they re-train alone. A bfloat16 cohort trained in pairs on a CPU
    pairs its members differently then, which may move its sums in their last bits.

    Every level is rebuilt through the experiment's own steps
    (:func:`lthlib.engine.levels.first_level`, :func:`with_controls`,
    :func:`level_cohort`), the pruned ones from the stored ticket masks.
    """
    path = record_path(path)
    record = Store.read_record(path)
    config = ExperimentConfig.from_dict(record["config"])
    check_data(path, record, config, path.parent.parent.parent)
    scope = ""
    independent = [own.name for own in kind.KINDS.values() if own.trials_independent]
    if trials is not None and trials < config.trials and kind.of(config).trials_independent:
        scope = f" (trials 0 to {trials - 1} of {config.trials})"
        config = config.replace(trials=trials)
    elif trials is not None and trials < config.trials:
        scope = f" (all {config.trials} trials: only {', '.join(independent)} records re-train a few trials alone)"
    tolerance, note = bound(record)
    steps = min(max(steps, config.eval_every), config.iterations)
    dataset = load_data(config, device)
    arch = architecture(config, dataset)
    stored_masks = read_masks(path.parent / MASKS, record["masks_sha256"]) if record.get("masks_sha256") else {}
    runs_by_level = {}
    for run in record["runs"]:
        if run["trial"] < config.trials:
            runs_by_level.setdefault(run["level"], []).append(run)
    levels = sorted(runs_by_level)
    if not all_levels:
        levels = sorted({levels[0], levels[-1]})

    dense = first_level(config, arch, dataset, device, iterations=max(steps, config.rewind, config.control_rewind or 0))
    fine_tuned = [arm for arm in config.controls if ARM_STARTS[arm][0] == "final"]
    checks = []
    for group in cohort_levels(config):
        wanted = [level for level in group if level in levels]
        if not wanted:
            continue
        if group == [0]:
            iterations, worst, at_start = _deviation(runs_by_level[0], [run["curve"] for run in dense.runs], steps)
            checks.append(LevelCheck(0, iterations, worst, note, tolerance, at_start))
            continue
        needs_training = [config.mask0] if config.mask0 in actions.FROM_TRAINING else fine_tuned
        if needs_training:
            skipped = f" (skipped: {', '.join(needs_training)} needs the trained weights the mask came from)"
            checks += [LevelCheck(level, [], 0.0, skipped) for level in wanted]
            continue
        cohort = concat_cohorts(
            [
                level_cohort(
                    config,
                    level,
                    with_controls(config, level, stored_tickets(stored_masks, config, level, dense.layers, device)),
                    dense.reset,
                    None,
                    {key: value for key, value in dense.starts().items() if key == "rewound"},
                )
                for level in group
            ]
        )
        fresh = train_cohort(config, arch, dataset, cohort, iterations=steps)
        per_level = len(runs_by_level[group[0]])
        for index, level in enumerate(group):
            if level in wanted:
                members = range(index * per_level, (index + 1) * per_level)
                iterations, worst, _ = _deviation(runs_by_level[level], [fresh.curves[k] for k in members], steps)
                checks.append(LevelCheck(level, iterations, worst, note, tolerance))
    return Report(str(path), steps, checks, scope)


# Relative cost of one network-step, by network (LeNet = 1): rounded ratios of `make bench` speeds on a CPU
# (Conv-6, which the benchmark does not time, from its training speed in pairs).
STEP_COST = {"lenet": 1, "conv2": 40, "conv4": 60, "conv6": 90}


def code_paths(config: ExperimentConfig) -> set:
    """What a record's verification exercises, as ``(setting, value)`` pairs.

    The criterion is absent on purpose: verification rebuilds pruned levels
    from the stored masks, so no criterion runs. Networks count by kind: the
    convolutional ones differ only in depth. Datasets count by variant kind:
    ``fashion-mnist:classes=0-4`` and ``fashion-mnist:classes=5-9`` take the
    same path.
    """
    paths = {(name, getattr(config, name)) for name in ("experiment", "precision", "mask1", "mask0")}
    paths.add(("convolutional", bool(models.ARCHITECTURES[config.network]["conv_plan"])))
    paths |= {("control", control) for control in config.controls}
    paths |= {
        ("dropout", config.dropout > 0),
        ("rewind", config.rewind > 0),
        ("transfer", config.mask_from is not None),
        ("supermask", config.supermask),
        ("pruning", config.pruning),
        ("dataset", config.dataset.partition("=")[0]),
    }
    return paths


def verification_cost(config: ExperimentConfig) -> int:
    """Networks trained to verify a record, weighted by :data:`STEP_COST`."""
    return STEP_COST[config.network] * config.trials * (1 + len(config.controls))


def covering_sample(configs: dict) -> list:
    """The keys of ``configs`` (key -> ExperimentConfig) whose verification covers every code path of all of them.

    Cheapest first: a record joins when it exercises a code path no record
    before it did. Deterministic for a given set of records.
    """
    covered, chosen = set(), []
    for key in sorted(configs, key=lambda key: (verification_cost(configs[key]), str(key))):
        paths = code_paths(configs[key])
        if not paths <= covered:
            chosen.append(key)
            covered |= paths
    return chosen
