"""The steps every experiment is built from: a level's arms, masks and cohort, its training, its state.

Every trained network is a *run*, identified by its level (pruning round;
0 = dense), its *arm* and its trial:

- ``ticket``: the mask from ``config.criterion``, kept weights started by
  ``config.mask1`` (``original`` = the winning-ticket reset), pruned weights
  set by ``config.mask0``;
- ``reinit``: the ticket's mask, kept weights randomly reinitialised
  (a permutation of the layer's initial values);
- ``random_prune``: a random mask with the ticket's per-layer counts,
  original initialisation;
- ``rewind``, ``finetune``, ``finetune_low``: the ticket's mask, kept weights
  from elsewhere (:data:`ARM_STARTS`).

All runs of a level train together as one cohort; the trials of one level
share their data order (and dropout noise) across arms, so ticket and
controls are paired. After each level the :class:`LevelState` is
checkpointed in the store, so an interrupted run resumes from its last
finished level. The experiment kinds (:mod:`lthlib.engine.kinds`) put these
steps together.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field, fields

import torch

from . import actions, data, kind, masks, models
from .config import MAX_COHORT, ConfigError, config_hash, layer_rates
from .provenance import note_fresh_start
from .seeds import derive_seed, generator
from .train import Cohort, Diverged, TrainSettings, check_finite, effective_weights, train

# Where each arm's kept weights start and at what learning rate: (source, mask-1 action, learning-rate factor).
# Sources: "reset" (θ0, or θk when the tickets rewind), "rewound" (the dense network at iteration
# control_rewind), "final" (the trained weights the mask was computed from); None: the config's mask1.
FINETUNE_LOW = 0.1


ARM_STARTS = {
    "ticket": ("reset", None, 1.0),
    "reinit": ("reset", "reinit", 1.0),
    "random_prune": ("reset", "original", 1.0),
    "rewind": ("rewound", "original", 1.0),
    "finetune": ("final", "original", 1.0),
    "finetune_low": ("final", "original", FINETUNE_LOW),
}


@dataclass
class LevelState:
    """Where an experiment stands after finishing ``level``; also the checkpoint's contents.

    Tensors are per trial, ``{layer: (T, ...)}``: ``reset_weights``/``reset_biases``
    are what kept weights reset to (θ0, or θk when rewinding), ``alive`` the
    ticket masks of ``level``, ``start``/``final`` the tickets' weights before
    and after training at ``level`` (the next mask is computed from them).
    ``runs`` and ``masks`` accumulate what the record stores. ``seconds`` is the
    cumulative training time across interruptions. ``code`` says which
    library source computed which levels (see :func:`code_version`): one entry
    per process, from the level it started at; levels computed by a process
    that did not record it are left out rather than guessed.
    """

    level: int
    reset_weights: dict
    reset_biases: dict
    alive: dict
    start: dict
    final: dict
    runs: list
    masks: dict
    layers: dict
    seconds: float = 0.0
    resumed_after_levels: list = field(default_factory=list)
    extended_from: dict | None = None
    trained_with: list = field(default_factory=list)
    final_biases: dict = field(default_factory=dict)
    rewound_weights: dict = field(default_factory=dict)
    rewound_biases: dict = field(default_factory=dict)
    code: list = field(default_factory=list)

    @property
    def reset(self) -> tuple[dict, dict]:
        return self.reset_weights, self.reset_biases

    def starts(self) -> dict[str, tuple[dict, dict]]:
        """The weights and biases arms can start from besides the reset ones (see :data:`ARM_STARTS`)."""
        found = {"final": (self.final, self.final_biases)}
        if self.rewound_weights:
            found["rewound"] = (self.rewound_weights, self.rewound_biases)
        return found

    def to_checkpoint(self) -> dict:
        return {f.name: _to(getattr(self, f.name), "cpu") for f in fields(self)}

    @classmethod
    def from_checkpoint(cls, saved: dict, device) -> LevelState:
        return cls(**{name: _to(value, device) for name, value in saved.items()})


def mask_key(level: int, arm: str, trial: int, layer: str) -> str:
    return f"level{level}/{arm}/{trial}/{layer}"


def stored_tickets(stored_masks: dict, config, level: int, layers, device) -> dict:
    """The masks ``level`` trained (its tickets', or a swap's borrowed ones) from a record's unpacked masks:
    ``{layer: (T, ...) bool}`` on ``device``."""
    arm = kind.of(config).stored_arm
    return {
        name: torch.stack(
            [torch.from_numpy(stored_masks[mask_key(level, arm, t, name)]) for t in range(config.trials)]
        ).to(device)
        for name in layers
    }


def load_data(config, device):
    return data.load(
        config.dataset,
        device,
        val_size=config.val_size,
        split_seed=config.split_seed,
        train_subset=config.train_subset,
        test_subset=config.test_subset,
    )


def architecture(config, dataset) -> models.Architecture:
    return models.build(config.network, dataset.input_shape, dataset.num_classes)


def stack(per_member: list[dict]) -> dict:
    """``[{layer: tensor}] * K`` -> ``{layer: (K, ...)}``."""
    return {name: torch.stack([m[name] for m in per_member]) for name in per_member[0]}


def member(batched: dict, k: int) -> dict:
    return {name: tensor[k] for name, tensor in batched.items()}


def select(batched: dict, members) -> dict:
    return {name: tensor[list(members)] for name, tensor in batched.items()}


def dense_start(config, arch, device) -> tuple[dict, dict]:
    """θ0 of every trial: Glorot-normal weights seeded by (seed, trial), zero biases."""
    gens = [generator(config.seed, "init", t) for t in range(config.trials)]
    return models.initialise(arch, gens, device)


def data_seeds(config, level: int, count: int) -> list[int]:
    """Each trial's seed of its data order (and dropout, sampled masks) at ``level``: from ``data_seed`` if set."""
    master = config.seed if config.data_seed is None else config.data_seed
    return [derive_seed(master, "data", level, t) for t in range(count)]


def ticket_masks(config, arch, level_from: int, rounds: int, alive: dict, w_init: dict, w_final: dict) -> dict:
    """Every trial's ticket mask after ``rounds`` more rounds of ``config.criterion`` from ``alive``."""
    rates = layer_rates(config, arch.layers)
    per_trial = []
    for t in range(config.trials):
        live = member(alive, t)
        counts = masks.keep_counts(live, rates, config.pruning, rounds)
        gen = generator(config.seed, "prune", level_from + rounds, t)
        per_trial.append(masks.prune(config.criterion, member(w_init, t), member(w_final, t), live, counts, gen))
    return stack(per_trial)


def random_masks(config, level: int, reference: dict) -> dict:
    """Random masks with the same per-layer kept counts as ``reference`` (K, ...) masks."""
    per_trial = []
    for t in range(config.trials):
        ref = member(reference, t)
        full = {name: torch.ones_like(m, dtype=torch.bool) for name, m in ref.items()}
        counts = {(name,): int(m.sum()) for name, m in ref.items()}
        gen = generator(config.seed, "random_prune", level, t)
        per_trial.append(masks.prune("random", full, full, full, counts, gen))
    return stack(per_trial)


def level_cohort(
    config,
    level: int,
    arm_masks: dict,
    reset: tuple[dict, dict],
    previous_final: dict | None,
    sources: dict | None = None,
    previous_alive: dict | None = None,
) -> Cohort:
    """The cohort of one level: for each arm (ticket first) and trial, start weights, mask, frozen values.

    ``arm_masks``: arm -> {layer: (T, ...) bool}; ``reset``: the (T, ...)
    weights and biases that kept weights reset to (θ0 or the rewound θk);
    ``previous_final``: the trained weights the ticket mask came from (needed
    by the mask-0 actions of :data:`lthlib.engine.actions.FROM_TRAINING`), with
    weights pruned earlier at their frozen values; ``sources``: the other
    starts arms may need (:meth:`LevelState.starts`); ``previous_alive``: the
    (T, ...) masks ``previous_final`` trained under. A weight pruned before
    keeps the frozen value it was given when it was pruned.
    """
    sources = {"reset": reset, **(sources or {})}
    reset_weights = reset[0]
    starts, frozen_layers, mask_list, biases, scales = [], [], [], [], []
    for arm, arm_mask in arm_masks.items():
        source, start_action, scale = ARM_STARTS[arm]
        if source not in sources:
            raise ValueError(f"arm {arm!r} starts from the {source} weights, which this level was not given")
        from_weights, from_biases = sources[source]
        for t in range(config.trials):
            w0, mask = member(reset_weights, t), member(arm_mask, t)
            origin = member(from_weights, t)
            start = {
                name: actions.kept_start(
                    start_action or config.mask1,
                    origin[name],
                    mask[name],
                    generator(config.seed, "mask1", level, arm, t, name),
                )
                for name in w0
            }
            final = member(previous_final, t) if previous_final is not None else w0
            frozen = {name: actions.pruned_value(config.mask0, w0[name], final[name], mask[name]) for name in w0}
            if previous_alive is not None and config.mask0 in actions.FROM_TRAINING:
                before = member(previous_alive, t)
                frozen = {name: torch.where(before[name], value, final[name]) for name, value in frozen.items()}
            starts.append(start)
            frozen_layers.append(frozen)
            mask_list.append(mask)
            biases.append(member(from_biases, t))
            scales.append(scale)
    frozen = {}
    if config.mask0 != "zero":
        frozen = stack(frozen_layers)
    seeds = data_seeds(config, level, config.trials) * len(arm_masks)
    return Cohort(stack(starts), stack(biases), stack(mask_list), frozen, seeds, scales if set(scales) != {1.0} else [])


def concat_cohorts(cohorts: list[Cohort]) -> Cohort:
    """One cohort of all members; where only some cohorts freeze pruned weights, the others' frozen values are 0."""
    cat = lambda key: {n: torch.cat([getattr(c, key)[n] for c in cohorts]) for n in getattr(cohorts[0], key)}
    frozen = {}
    if any(c.frozen for c in cohorts):
        names = cohorts[0].weights
        frozen = {
            n: torch.cat([c.frozen[n] if c.frozen else torch.zeros_like(c.weights[n]) for c in cohorts]) for n in names
        }
    scales = [scale for c in cohorts for scale in (c.lr_scale or [1.0] * c.size)]
    return Cohort(
        cat("weights"),
        cat("biases"),
        cat("masks"),
        frozen,
        [s for c in cohorts for s in c.data_seeds],
        scales if set(scales) != {1.0} else [],
    )


def run_summary(level: int, arm: str, trial: int, mask: dict, trained, k: int) -> dict:
    kept = {name: int(m.sum()) for name, m in mask.items()}
    total = sum(m.numel() for m in mask.values())
    return {
        "level": level,
        "arm": arm,
        "trial": trial,
        "remaining": sum(kept.values()) / total,
        "kept": kept,
        "curve": trained.curves[k],
        "early_stop": trained.early_stop(k),
        "final": trained.final(k),
    }


def train_cohort(
    config, arch, dataset, cohort, snapshot_at=None, progress=None, iterations=None, mode=None, probe=None, level=None
):
    """Train one cohort with ``config``'s settings (``iterations`` overrides its length); refuse a diverged run.

    ``level``: the level the cohort trains (an int), or its levels (a list: one per member, or levels sharing
    the members equally in order), named when a member diverges."""
    settings = TrainSettings.from_config(config)
    if iterations is not None:
        settings = dataclasses.replace(settings, iterations=iterations, horizon=config.iterations)
    on_step = (lambda done: progress.advance(1)) if progress is not None else None
    trained = train(arch, dataset, cohort, settings, snapshot_at=snapshot_at, progress=on_step, mode=mode, probe=probe)
    try:
        check_finite(trained, member_levels(level, cohort.size))
    except Diverged as error:
        try:
            which = f"{config.experiment} {config_hash(config)}"
        except ConfigError:  # a cohort of several sweeps trained together under a shared config
            which = config.experiment
        lr = f"{config.lr:g}" if isinstance(config.lr, (int, float)) else config.lr
        raise Diverged(
            f"{which}: {error}; nothing of this level is stored. A lower learning rate than lr={lr} (--lr) may train"
        ) from None
    return trained


def member_levels(level, size: int) -> list | None:
    """The level of each of ``size`` members from an int, a list of levels sharing them equally, or one per member."""
    if level is None:
        return None
    if isinstance(level, int):
        return [level] * size
    level = list(level)
    if not level or len(level) == size:
        return level or None
    share = size // len(level)
    return [one for one in level for _ in range(share)]


def summaries(level, arm_masks, trained, config, offset=0):
    out, k = [], offset
    for arm, arm_mask in arm_masks.items():
        for t in range(config.trials):
            out.append(run_summary(level, arm, t, member(arm_mask, t), trained, k))
            k += 1
    return out


def masks_to_store(level, arm_masks, arm="ticket") -> dict:
    """The ``arm`` masks of a level, per trial and layer (controls' masks are rebuilt from them and seeds)."""
    return {
        mask_key(level, arm, t, name): tensor[t].cpu().clone()
        for name, tensor in arm_masks[arm].items()
        for t in range(tensor.shape[0])
    }


def dense_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    """Level 0: every trial's dense network from θ0, with a snapshot at ``config.rewind`` if rewinding (or at
    ``config.control_rewind`` for the rewind control)."""
    weights, biases = dense_start(config, arch, device)
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    cohort = Cohort(weights, biases, full, {}, data_seeds(config, 0, config.trials))
    snapshot_at = config.rewind or config.control_rewind or None
    trained = train_cohort(
        config, arch, dataset, cohort, snapshot_at=snapshot_at, progress=progress, iterations=iterations, level=0
    )
    reset = trained.snapshot if config.rewind else (weights, biases)
    rewound = trained.snapshot if config.control_rewind else ({}, {})
    return LevelState(
        level=0,
        reset_weights=reset[0],
        reset_biases=reset[1],
        alive=full,
        start=reset[0],
        final=trained.weights,
        runs=summaries(0, {"ticket": full}, trained, config),
        masks=masks_to_store(0, {"ticket": full}),
        layers={layer.name: list(layer.shape) for layer in arch.layers},
        final_biases=trained.biases,
        rewound_weights=rewound[0],
        rewound_biases=rewound[1],
    )


def first_level(config, arch, dataset, device, progress=None, iterations=None) -> LevelState:
    """Level 0 of ``config``'s kind: the dense networks, or the learned supermasks (``iterations`` shortens it)."""
    return kind.of(config).first_level(config, arch, dataset, device, progress=progress, iterations=iterations)


def with_controls(config, level: int, ticket: dict) -> dict:
    """``{arm: masks}`` for the ticket and each control of ``config.controls``, all (T, ...) boolean."""
    builders = {arm: (lambda: ticket) for arm in ARM_STARTS}
    builders["random_prune"] = lambda: random_masks(config, level, ticket)
    return {"ticket": ticket, **{arm: builders[arm]() for arm in config.controls}}


def imp_level(config, arch, state: LevelState, level: int) -> tuple[dict, Cohort]:
    """The arms' masks and the cohort of IMP level ``level``, pruned from ``state`` (level ``level - 1``)."""
    ticket = ticket_masks(config, arch, level - 1, 1, state.alive, state.start, state.final)
    arm_masks = with_controls(config, level, ticket)
    return arm_masks, level_cohort(
        config, level, arm_masks, state.reset, state.final, state.starts(), previous_alive=state.alive
    )


def finish_level(config, state: LevelState, level: int, arm_masks: dict, cohort, trained, offset: int = 0) -> None:
    """Move ``state`` to ``level``: its tickets' masks, start and trained weights, runs and stored masks.

    ``cohort`` is this config's own; its members sit from ``offset`` on in ``trained`` (a joint cohort).
    """
    state.level, state.alive = level, arm_masks["ticket"]
    state.start = select(effective_weights(cohort.weights, cohort.masks, cohort.frozen), range(config.trials))
    state.final = select(trained.weights, range(offset, offset + config.trials))
    state.final_biases = select(trained.biases, range(offset, offset + config.trials))
    state.runs += summaries(level, arm_masks, trained, config, offset=offset)
    state.masks.update(masks_to_store(level, arm_masks))


def oneshot_masks(config, arch, level: int, dense: LevelState) -> dict:
    """Masks of one one-shot level: pruned from the dense network straight to ``level`` rounds' size."""
    ticket = ticket_masks(config, arch, 0, level, dense.alive, dense.start, dense.final)
    return with_controls(config, level, ticket)


def cohort_levels(config) -> list[list[int]]:
    """Which levels train together: one per cohort, or for kinds whose levels are independent (one-shot, swaps)
    as many as fit ``MAX_COHORT``; up to the kind's last level."""
    own = kind.of(config)
    last = own.last_level(config)
    if not own.levels_together:
        return [[level] for level in range(last + 1)]
    per_level = config.trials * (1 + len(config.controls))
    chunk = max(1, MAX_COHORT // per_level)
    pruned = list(range(1, last + 1))
    return [[0]] + [pruned[i : i + chunk] for i in range(0, len(pruned), chunk)]


def fresh_copy(state: LevelState) -> LevelState:
    """A state of its own for another config, sharing the (never modified in place) tensors."""
    return dataclasses.replace(state, runs=list(state.runs), masks=dict(state.masks), resumed_after_levels=[], code=[])


def _to(tree, device):
    """Move every tensor in a nested dict/list/tuple to ``device``."""
    if isinstance(tree, torch.Tensor):
        return tree.to(device)
    if isinstance(tree, dict):
        return {k: _to(v, device) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to(v, device) for v in tree)
    return tree


def checkpoint(store, config, state: LevelState, clock: float) -> None:
    state.seconds = time.perf_counter() - clock
    note_fresh_start(state)
    if store is not None and not store.read_only:
        store.save_checkpoint(config, state.level, state.to_checkpoint())
