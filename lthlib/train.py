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
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import models
from .seeds import generator

EVAL_CHUNK = 1000


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

    @classmethod
    def from_config(cls, config) -> "TrainSettings":
        return cls(optimizer=config.optimizer, lr=config.lr, batch_size=config.batch_size,
                   iterations=config.iterations, eval_every=config.eval_every,
                   momentum=config.momentum, warmup=config.warmup, dropout=config.dropout,
                   precision=config.precision)

    def evaluation_points(self) -> list[int]:
        points = list(range(0, self.iterations, self.eval_every))
        return points + [self.iterations]


@dataclass
class Cohort:
    """K members to train together: start weights and biases, boolean masks, frozen values, data seeds.

    ``weights``/``masks``: ``{layer: (K, *shape)}``; ``biases``: ``{layer: (K, out)}``;
    ``frozen``: ``{layer: (K, *shape)}`` for layers whose pruned weights are not zero.
    """

    weights: dict
    biases: dict
    masks: dict
    frozen: dict = field(default_factory=dict)
    data_seeds: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data_seeds)


@dataclass
class Trained:
    """What training a cohort returns; every per-member list has K entries."""

    weights: dict
    biases: dict
    curves: list
    snapshot: tuple | None = None

    def early_stop(self, k: int) -> dict:
        return early_stop_summary(self.curves[k])

    def final(self, k: int) -> dict:
        curve = self.curves[k]
        return {key: curve[key][-1] for key in ("iteration", "val_loss", "val_acc", "test_acc")}


def early_stop_summary(curve: dict) -> dict:
    """The evaluation point with the lowest validation loss (first such on ties)."""
    losses = curve["val_loss"]
    best = min(range(len(losses)), key=lambda i: (losses[i], i))
    return {key: curve[key][best] for key in ("iteration", "val_loss", "val_acc", "test_acc")}


def effective_weights(weights: dict, masks: dict, frozen: dict) -> dict:
    """``w * mask + frozen * (1 - mask)`` per layer; frozen values absent mean zero."""
    return {name: models.masked_weight(w, masks[name], frozen[name] * (1 - masks[name]) if name in frozen else None)
            for name, w in weights.items()}


@torch.no_grad()
def evaluate(arch, weights: dict, biases: dict, split, precision: str = "float32") -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy (nats) and accuracy (0..1) of each member on ``split``: two (K,) tensors."""
    members = next(iter(weights.values())).shape[0]
    device = split.x.device
    loss_sum = torch.zeros(members, device=device)
    correct = torch.zeros(members, device=device)
    for start in range(0, len(split), EVAL_CHUNK):
        x, y = split.x[start:start + EVAL_CHUNK], split.y[start:start + EVAL_CHUNK]
        logits = models.forward(arch, weights, biases, x, precision=precision)
        targets = y.expand(members, -1)
        loss_sum += F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(members, -1).sum(1)
        correct += (logits.argmax(-1) == targets).sum(1)
    return loss_sum / len(split), correct / len(split)


class _BatchSampler:
    """Member k's minibatch indices: a fresh seeded permutation of the training set each epoch, last partial batch dropped."""

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
            self._epoch = torch.stack([torch.randperm(self.n_train, generator=g) for g in self.generators]).to(self.device)
        start = within * self.batch_size
        return self._epoch[:, start:start + self.batch_size]


def _optimizer(settings: TrainSettings, params: list):
    if settings.optimizer == "adam":
        return torch.optim.Adam(params, lr=settings.lr, fused=True)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; valid: adam, sgd")


def _warmup_factor(warmup: int):
    return lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0


def train(arch, data, cohort: Cohort, settings: TrainSettings, dropout_seed: int = 0,
          snapshot_at: int | None = None, progress=None) -> Trained:
    """Train ``cohort`` on ``data.train``; evaluate on ``data.val`` and ``data.test``.

    ``snapshot_at``: also return the effective weights and biases after that
    many steps (for rewinding). ``progress``: called with the number of steps
    done after each step.
    """
    device = data.train.x.device
    masks = {name: m.to(device=device, dtype=torch.float32) for name, m in cohort.masks.items()}
    frozen = {name: (f * (1 - masks[name])).to(device) for name, f in cohort.frozen.items()}
    weights = {name: w.detach().clone().to(device).requires_grad_() for name, w in cohort.weights.items()}
    biases = {name: b.detach().clone().to(device).requires_grad_() for name, b in cohort.biases.items()}
    optimizer = _optimizer(settings, [*weights.values(), *biases.values()])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_factor(settings.warmup))
    sampler = _BatchSampler(cohort.data_seeds, len(data.train), settings.batch_size, device)
    members = cohort.size
    curves = [{key: [] for key in ("iteration", "train_loss", "val_loss", "val_acc", "test_loss", "test_acc")}
              for _ in range(members)]
    running_loss = torch.zeros(members, device=device)
    steps_since_eval = 0
    snapshot = None
    evaluation_points = set(settings.evaluation_points())

    def record(iteration: int):
        nonlocal running_loss, steps_since_eval
        current = effective_weights(weights, masks, frozen)
        val_loss, val_acc = evaluate(arch, current, biases, data.val, settings.precision)
        test_loss, test_acc = evaluate(arch, current, biases, data.test, settings.precision)
        train_loss = (running_loss / steps_since_eval).tolist() if steps_since_eval else [None] * members
        for k, curve in enumerate(curves):
            curve["iteration"].append(iteration)
            curve["train_loss"].append(train_loss[k])
            curve["val_loss"].append(float(val_loss[k]))
            curve["val_acc"].append(float(val_acc[k]))
            curve["test_loss"].append(float(test_loss[k]))
            curve["test_acc"].append(float(test_acc[k]))
        running_loss = torch.zeros(members, device=device)
        steps_since_eval = 0

    def take_snapshot():
        with torch.no_grad():
            return ({n: w.detach().clone() for n, w in effective_weights(weights, masks, frozen).items()},
                    {n: b.detach().clone() for n, b in biases.items()})

    rng_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):
        torch.manual_seed(dropout_seed)
        record(0)
        if snapshot_at == 0:
            snapshot = take_snapshot()
        for step in range(settings.iterations):
            idx = sampler.indices(step)
            x, y = data.train.x[idx], data.train.y[idx]
            logits = models.forward(arch, weights, biases, x, masks, frozen, settings.dropout, settings.precision)
            per_member = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
            per_member = per_member.view(members, -1).mean(1)
            optimizer.zero_grad(set_to_none=True)
            per_member.sum().backward()
            optimizer.step()
            schedule.step()
            running_loss += per_member.detach()
            steps_since_eval += 1
            done = step + 1
            if done == snapshot_at:
                snapshot = take_snapshot()
            if done in evaluation_points:
                record(done)
            if progress is not None:
                progress(done)

    with torch.no_grad():
        final = {n: w.detach() for n, w in effective_weights(weights, masks, frozen).items()}
    return Trained(final, {n: b.detach() for n, b in biases.items()}, curves, snapshot)


def check_finite(trained: Trained) -> None:
    """Raise if any member's validation loss became NaN or infinite (a diverged run is not a result)."""
    for k, curve in enumerate(trained.curves):
        if not all(math.isfinite(v) for v in curve["val_loss"]):
            raise FloatingPointError(f"member {k} diverged: validation loss {curve['val_loss'][-1]}")
