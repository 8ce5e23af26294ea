"""The trainer: K masked networks trained together, evaluated every N iterations.

Masking is a reparametrisation: the network computes with
``w * mask + frozen * (1 - mask)``, so a pruned weight receives no gradient and
stays exactly zero (or frozen) whatever the optimiser does; no gradient is
zeroed by hand. The loss is the sum over members of each member's mean
cross-entropy, so member k's gradient is exactly that of its own loss and one
Adam (or SGD) step over the stacked tensors is K independent steps.

Validation and test are evaluated at iteration 0, every ``eval_every``
iterations, and at the end. The early-stopping iteration is the evaluated
iteration with the lowest validation loss; the test accuracy reported for it
is read there, never used to choose anything.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import models
from .seeds import derive_seed, generator

# Examples per forward pass in evaluation. A convolutional network's activations are large: in chunks of 60 images
# they stay in cache (Conv-2 in bfloat16 on a 2-core CPU: 6,600 member-images/s, against 2,400 in chunks of 1,000).
EVAL_CHUNK = 1000
CONV_EVAL_CHUNK = 60


# PyTorch multiplies bfloat16 natively on a CPU with AVX-512 (or AMX); without it the products fall back to a slow
# generic path. On a 2-core AMD EPYC with AVX2 alone, Conv-2 trained 0.6 network-steps/s in bfloat16 against 6.8 in
# float32 (make bench).
BFLOAT16_EMULATED = (
    "bfloat16 products on this CPU have no native support (PyTorch needs AVX-512 or AMX for them), so training "
    "runs many times slower than in float32 (Conv-2: 11 times on a CPU with AVX2 alone). Precision float32 "
    "(--precision float32, or the chapters' -p conv_precision float32) trains faster, into records of its own."
)


def bfloat16_is_native(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 at full speed (a GPU is taken to; a CPU needs AVX-512 or AMX)."""
    return device.type != "cpu" or torch.ops.mkldnn._is_mkldnn_bf16_supported()


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and schedule. ``lr`` per step; ``iterations``, ``eval_every``, ``warmup`` in steps."""

    optimizer: str
    lr: float
    batch_size: int
    iterations: int
    eval_every: int
    momentum: float = 0.9
    warmup: int = 0
    dropout: float = 0.0
    precision: str = "float32"
    weight_decay: float = 0.0
    schedule: str = "constant"
    horizon: int | None = None  # steps the schedule spans (None: iterations); a run cut short keeps its rates

    @classmethod
    def from_config(cls, config) -> TrainSettings:
        return cls(
            optimizer=config.optimizer,
            lr=config.lr,
            batch_size=config.batch_size,
            iterations=config.iterations,
            eval_every=config.eval_every,
            momentum=config.momentum,
            warmup=config.warmup,
            dropout=config.dropout,
            precision=config.precision,
            weight_decay=config.weight_decay or 0.0,
            schedule=config.schedule or "constant",
        )

    def evaluation_points(self) -> list[int]:
        points = list(range(0, self.iterations, self.eval_every))
        return points + [self.iterations]


@dataclass
class Cohort:
    """K members to train together: start weights and biases, boolean masks, frozen values, data seeds.

    ``weights``/``masks``: ``{layer: (K, *shape)}``; ``biases``: ``{layer: (K, out)}``;
    ``frozen``: ``{layer: (K, *shape)}`` for layers whose pruned weights are not zero.
    ``data_seeds[k]`` fixes member k's data order and its dropout noise, so a
    member trains bit-identically alone and in any cohort. ``lr_scale[k]``
    multiplies member k's learning rate (empty: 1 for every member).
    """

    weights: dict
    biases: dict
    masks: dict
    frozen: dict = field(default_factory=dict)
    data_seeds: list = field(default_factory=list)
    lr_scale: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data_seeds)


@dataclass
class Trained:
    """What training a cohort returns; every per-member list has K entries.

    A curve holds, at each evaluation point: ``iteration``; ``train_loss``
    and ``train_acc``, the mean loss (nats) and accuracy (0..1) on the
    training batches since the previous evaluation (``None`` at iteration 0);
    ``val_loss``, ``val_acc``, ``test_loss``, ``test_acc`` on the whole split;
    and what a mode's ``measure`` or a probe adds.
    """

    weights: dict
    biases: dict
    curves: list
    snapshot: tuple | None = None
    masks: dict | None = None

    def early_stop(self, k: int) -> dict:
        return early_stop_summary(self.curves[k])

    def final(self, k: int) -> dict:
        curve = self.curves[k]
        return {key: curve[key][-1] for key in (*SUMMARISED, *MEASURED) if key in curve}


SUMMARISED = ("iteration", "val_loss", "val_acc", "test_acc")
MEASURED = ("density",)  # what a training mode may add to each evaluation point (see ``measure``)


def early_stop_summary(curve: dict) -> dict:
    """The evaluation point with the lowest validation loss (first such on ties)."""
    losses = curve["val_loss"]
    best = min(range(len(losses)), key=lambda i: (losses[i], i))
    return {key: curve[key][best] for key in (*SUMMARISED, *MEASURED) if key in curve}


def effective_weights(weights: dict, masks: dict, frozen: dict) -> dict:
    """``w * mask + frozen * (1 - mask)`` per layer; frozen values absent mean zero; masks boolean or 0/1."""
    out = {}
    for name, w in weights.items():
        mask = masks[name].to(w.dtype)
        out[name] = models.masked_weight(w, mask, frozen[name] * (1 - mask) if name in frozen else None)
    return out


@torch.no_grad()
def evaluate(arch, weights: dict, biases: dict, split, precision: str = "float32") -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy (nats) and accuracy (0..1) of each member on ``split``: two (K,) tensors."""
    members = next(iter(weights.values())).shape[0]
    device = split.x.device
    loss_sum = torch.zeros(members, device=device)
    correct = torch.zeros(members, device=device)
    chunk = CONV_EVAL_CHUNK if arch.conv_plan else EVAL_CHUNK
    for start in range(0, len(split), chunk):
        x, y = split.x[start : start + chunk], split.y[start : start + chunk]
        logits = models.forward(arch, weights, biases, x, precision=precision)
        targets = y.expand(members, -1)
        loss_sum += F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(members, -1).sum(1)
        correct += (logits.argmax(-1) == targets).sum(1)
    return loss_sum / len(split), correct / len(split)


class _BatchSampler:
    """Member k's minibatch indices: a fresh seeded permutation of the training set each epoch.

    The last partial batch of an epoch is dropped.
    """

    def __init__(self, data_seeds: list, n_train: int, batch_size: int, device):
        if batch_size > n_train:
            raise ValueError(f"batch_size={batch_size} exceeds the {n_train} training examples")
        self.generators = [generator("data", seed) for seed in data_seeds]
        self.n_train, self.batch_size, self.device = n_train, batch_size, device
        self.steps_per_epoch = n_train // batch_size
        self._epoch = None

    def indices(self, step: int) -> torch.Tensor:
        """(K, batch_size) indices for optimiser step ``step`` (0-based)."""
        epoch, within = divmod(step, self.steps_per_epoch)
        if within == 0 or self._epoch is None:
            self._epoch = torch.stack([torch.randperm(self.n_train, generator=g) for g in self.generators]).to(
                self.device
            )
        start = within * self.batch_size
        return self._epoch[:, start : start + self.batch_size]


class MemberOptimizer:
    """Adam or SGD over stacked (K, ...) tensors, stepping each member's slice as a tensor of its own.

    One optimiser call over a whole stacked tensor splits its elements into
    vector lanes and threads by the tensor's total size, so a member's rounding
    would depend on how many members share the tensor. The optimiser therefore
    sees one leaf view per member and layer, and a member's update is the same
    alone or in any cohort.
    """

    def __init__(self, settings: TrainSettings, stacked: list[torch.Tensor], lr_scale: list | None = None):
        """``lr_scale[k]``: member k's learning rate over ``settings.lr`` (``None`` or empty: all 1)."""
        self.stacked = stacked
        self.views = [[t.detach()[k].requires_grad_() for k in range(t.shape[0])] for t in stacked]
        members = stacked[0].shape[0] if stacked else 0
        scales = list(lr_scale) if lr_scale else [1.0] * members
        groups = [
            {
                "params": [views[k] for views in self.views for k in range(members) if scales[k] == scale],
                "lr": settings.lr * scale,
            }
            for scale in dict.fromkeys(scales)
        ]
        decay = settings.weight_decay
        if settings.optimizer == "adam":
            self.inner = torch.optim.Adam(groups, lr=settings.lr, weight_decay=decay, fused=True)
        elif settings.optimizer == "sgd":
            self.inner = torch.optim.SGD(groups, lr=settings.lr, momentum=settings.momentum, weight_decay=decay)
        else:
            raise ValueError(f"unknown optimizer {settings.optimizer!r}; valid: adam, sgd")

    def zero_grad(self) -> None:
        for tensor in self.stacked:
            tensor.grad = None

    def step(self) -> None:
        for tensor, views in zip(self.stacked, self.views):
            for k, view in enumerate(views):
                view.grad = tensor.grad[k]
        self.inner.step()


SCHEDULES = {
    "constant": lambda step, iterations: 1.0,
    "cosine": lambda step, iterations: 0.5 * (1 + math.cos(math.pi * min(step, iterations) / iterations)),
}


def _lr_factor(settings: TrainSettings):
    """The learning rate of step ``step`` over ``settings.lr``: linear warm-up times the schedule."""
    warmup, decay = settings.warmup, SCHEDULES[settings.schedule]
    horizon = settings.horizon or settings.iterations
    return lambda step: (min(1.0, (step + 1) / warmup) if warmup else 1.0) * decay(step, horizon)


def _dropout_generators(data_seeds: list, device) -> list[torch.Generator]:
    """One dropout generator per member, on ``device``, seeded from the member's data seed."""
    return [torch.Generator(device=device).manual_seed(derive_seed("dropout", seed)) for seed in data_seeds]


@dataclass
class ModeState:
    """The tensors one training run works on, all ``{layer: (K, ...)}`` on the device.

    ``masks`` are float 0/1, ``frozen`` holds values at pruned places only; a
    mode may keep its own tensors (e.g. mask scores) in ``extra``. ``zeroed``:
    the ``weights`` are zero where pruned (see :func:`lthlib.engine.models.forward`).
    """

    weights: dict
    biases: dict
    masks: dict
    frozen: dict
    extra: dict = field(default_factory=dict)
    zeroed: bool = False


class WeightTraining:
    """The default training mode: kept weights and all biases train; masks and frozen values stay fixed.

    A training mode decides what is trained; the batched step, the data
    order, evaluation and early stopping stay the trainer's. A mode has
    ``start(cohort, device) -> ModeState``; ``trainable(state)``, the stacked
    tensors the optimiser steps (they require grad); ``network(state)``, the
    ``(weights, biases, masks, frozen)`` a training step computes with
    (gradients flow through them into the trainable tensors, masks included,
    see :class:`lthlib.engine.models.MaskedLinear`); and ``effective(state)``, the
    ``(weights, biases)`` that evaluation, snapshots and the result use.
    """

    def start(self, cohort: Cohort, device) -> ModeState:
        kept = {name: m.to(device=device, dtype=torch.bool) for name, m in cohort.masks.items()}
        return ModeState(
            weights={
                name: w.detach().to(device).masked_fill(~kept[name], 0).requires_grad_()
                for name, w in cohort.weights.items()
            },
            biases={name: b.detach().clone().to(device).requires_grad_() for name, b in cohort.biases.items()},
            masks={name: m.to(torch.float32) for name, m in kept.items()},  # float: the fastest gradient gate
            frozen={name: f.to(device).masked_fill(kept[name], 0) for name, f in cohort.frozen.items()},
            zeroed=True,
        )

    def trainable(self, state: ModeState) -> list[torch.Tensor]:
        return [*state.weights.values(), *state.biases.values()]

    def network(self, state: ModeState) -> tuple[dict, dict, dict, dict]:
        return state.weights, state.biases, state.masks, state.frozen

    @torch.no_grad()
    def effective(self, state: ModeState) -> tuple[dict, dict]:
        weights = effective_weights(state.weights, state.masks, state.frozen)
        return ({n: w.detach() for n, w in weights.items()}, {n: b.detach() for n, b in state.biases.items()})


# The most members one step computes, per device type and kind of network. On a CPU the step is bound by the
# memory traffic of the weights and Adam's state: for LeNet-300-100 (batch 60, 2 threads, float32) one
# network-step cost 0.70-0.82 ms in cohorts of 5 to 30 networks, but 1.01 ms at 40 and 1.19 ms at 60. A
# convolutional network computes its convolutions member by member anyway, and its first fully-connected layer
# (3.2 M weights in Conv-2) is cheaper to stream for few members at a time: in bfloat16, Conv-2 trained 27-31
# member-steps/s in cohorts of 2 against 22-23 in cohorts of 3 and 6 (Conv-4 18.5 against 16.2 at 6, Conv-6 12.8
# against 12.2). Larger cohorts train as consecutive groups of at most this many (the same results: members
# are independent; in bfloat16 a sum may change in its last bits with the group). No limit on a GPU.
MEMBERS_PER_STEP = {("cpu", "fully-connected"): 24, ("cpu", "convolutional"): 2}


def members_per_step(arch, device_type: str) -> int | None:
    """The most members of ``arch`` one step computes on ``device_type`` (``None``: no limit)."""
    return MEMBERS_PER_STEP.get((device_type, "convolutional" if arch.conv_plan else "fully-connected"))


def train(
    arch,
    data,
    cohort: Cohort,
    settings: TrainSettings,
    snapshot_at: int | None = None,
    progress=None,
    mode=None,
    probe=None,
) -> Trained:
    """Train ``cohort`` on ``data.train``; evaluate on ``data.val`` and ``data.test``.

    ``snapshot_at``: also return the effective weights and biases after that
    many steps (for rewinding). ``progress``: called after each step of the
    cohort (a cohort trained in groups, see :data:`MEMBERS_PER_STEP`, calls
    it as often as one trained at once). ``mode``: what is trained (default
    :class:`WeightTraining`). ``probe``: called at every evaluation point as
    ``probe(weights, members)`` with the effective weights ``{layer: (k, ...)}``
    of the members ``members`` (a range of the cohort's indices), it returns
    ``{name: k numbers}`` that join each member's curve under ``name``
    (statistics of the weights during training, at no cost between evaluations).
    """
    limit = members_per_step(arch, data.train.x.device.type)
    if limit and cohort.size > limit:
        return _train_in_groups(arch, data, cohort, settings, snapshot_at, progress, mode, limit, probe)
    mode = mode or WeightTraining()
    device = data.train.x.device
    if settings.precision == "bfloat16" and not bfloat16_is_native(device):
        warnings.warn(BFLOAT16_EMULATED, RuntimeWarning, stacklevel=2)
    state = mode.start(cohort, device)
    optimizer = MemberOptimizer(settings, mode.trainable(state), cohort.lr_scale)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer.inner, _lr_factor(settings))
    sampler = _BatchSampler(cohort.data_seeds, len(data.train), settings.batch_size, device)
    members = cohort.size
    curves = [
        {key: [] for key in ("iteration", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc")}
        for _ in range(members)
    ]
    running_loss = torch.zeros(members, device=device)
    running_correct = torch.zeros(members, device=device)
    steps_since_eval = 0
    snapshot = None
    evaluation_points = set(settings.evaluation_points())

    def record(iteration: int):
        nonlocal running_loss, running_correct, steps_since_eval
        weights, biases = mode.effective(state)
        val_loss, val_acc = evaluate(arch, weights, biases, data.val, settings.precision)
        test_loss, test_acc = evaluate(arch, weights, biases, data.test, settings.precision)
        train_loss = (running_loss / steps_since_eval).tolist() if steps_since_eval else [None] * members
        train_acc = (running_correct / steps_since_eval).tolist() if steps_since_eval else [None] * members
        measured = mode.measure(state) if hasattr(mode, "measure") else {}
        if probe is not None:
            measured.update(probe(weights, range(members)))
        for k, curve in enumerate(curves):
            curve["iteration"].append(iteration)
            curve["train_loss"].append(train_loss[k])
            curve["train_acc"].append(train_acc[k])
            curve["val_loss"].append(float(val_loss[k]))
            curve["val_acc"].append(float(val_acc[k]))
            curve["test_loss"].append(float(test_loss[k]))
            curve["test_acc"].append(float(test_acc[k]))
            for key, values in measured.items():
                curve.setdefault(key, []).append(float(values[k]))
        running_loss = torch.zeros(members, device=device)
        running_correct = torch.zeros(members, device=device)
        steps_since_eval = 0

    def take_snapshot():
        weights, biases = mode.effective(state)
        return {n: w.clone() for n, w in weights.items()}, {n: b.clone() for n, b in biases.items()}

    dropout_generators = _dropout_generators(cohort.data_seeds, device) if settings.dropout else None
    record(0)
    if snapshot_at == 0:
        snapshot = take_snapshot()
    for step in range(settings.iterations):
        idx = sampler.indices(step)
        x, y = data.train.x[idx], data.train.y[idx]
        weights, biases, masks, frozen = mode.network(state)
        logits = models.forward(
            arch,
            weights,
            biases,
            x,
            masks,
            frozen,
            settings.dropout,
            settings.precision,
            dropout_generators,
            state.zeroed,
        )
        per_member = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
        per_member = per_member.view(members, -1).mean(1)
        optimizer.zero_grad()
        per_member.sum().backward()
        optimizer.step()
        schedule.step()
        running_loss += per_member.detach()
        running_correct += (logits.detach().argmax(-1) == y).float().mean(1)
        steps_since_eval += 1
        done = step + 1
        if done == snapshot_at:
            snapshot = take_snapshot()
        if done in evaluation_points:
            record(done)
        if progress is not None:
            progress(done)

    weights, biases = mode.effective(state)
    final_masks = mode.final_masks(state) if hasattr(mode, "final_masks") else None
    return Trained(weights, biases, curves, snapshot, final_masks)


class Diverged(FloatingPointError):
    """A member's validation loss became NaN or infinite; the message is one line naming the member and its level."""


def check_finite(trained: Trained, levels: list | None = None) -> None:
    """Raise :class:`Diverged` if any member's validation loss became NaN or infinite (a diverged run is not a
    result). ``levels``: the level of each member, to name it."""
    for k, curve in enumerate(trained.curves):
        if not all(math.isfinite(v) for v in curve["val_loss"]):
            at = f" at level {levels[k]}" if levels is not None and k < len(levels) else ""
            raise Diverged(f"member {k}{at} diverged: validation loss {curve['val_loss'][-1]}")


def members(cohort: Cohort, chosen: range) -> Cohort:
    """The cohort of members ``chosen`` (a range of member indices)."""
    pick = lambda tensors: {name: t[chosen.start : chosen.stop] for name, t in tensors.items()}
    return Cohort(
        pick(cohort.weights),
        pick(cohort.biases),
        pick(cohort.masks),
        pick(cohort.frozen),
        cohort.data_seeds[chosen.start : chosen.stop],
        cohort.lr_scale[chosen.start : chosen.stop],
    )


def _train_in_groups(arch, data, cohort, settings, snapshot_at, progress, mode, limit, probe) -> Trained:
    """``cohort`` trained as consecutive groups of equal size (at most ``limit``), put back together in order."""
    count = math.ceil(cohort.size / limit)
    bounds = [round(i * cohort.size / count) for i in range(count + 1)]
    parts = []
    for index in range(count):
        # each group reports every count-th of its steps, so the caller sees one cohort's worth of steps
        report = None if progress is None else (lambda done, i=index: progress(done) if done % count == i else None)
        start, stop = bounds[index], bounds[index + 1]
        shifted = (
            None if probe is None else (lambda w, chosen, o=start: probe(w, range(o + chosen.start, o + chosen.stop)))
        )
        parts.append(
            train(arch, data, members(cohort, range(start, stop)), settings, snapshot_at, report, mode, shifted)
        )
    cat = lambda dicts: {name: torch.cat([d[name] for d in dicts]) for name in dicts[0]}
    snapshot = None
    if parts[0].snapshot is not None:
        snapshot = (cat([p.snapshot[0] for p in parts]), cat([p.snapshot[1] for p in parts]))
    return Trained(
        cat([p.weights for p in parts]),
        cat([p.biases for p in parts]),
        [curve for p in parts for curve in p.curves],
        snapshot,
        cat([p.masks for p in parts]) if parts[0].masks is not None else None,
    )
