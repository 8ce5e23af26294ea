"""Learned supermasks: the weights stay frozen and a score per weight decides whether it is kept.

Two training modes of :func:`lthlib.engine.train.train` (K members at once, each
with its own seeded noise, so a member trains the same alone or in any
cohort). Weights and biases are frozen at the cohort's start values (θ0, or
signed constants through ``mask1``); only the scores train.

- :class:`BernoulliSupermask` (Zhou et al., 2019): every step draws the mask
  m ~ Bernoulli(sigmoid(s)) per weight and computes with ``w * m``; the
  straight-through gradient passes dL/dm on to sigmoid(s), so
  dL/ds = dL/dm · sigmoid(s)(1 − sigmoid(s)). Scores start at 0 (keep
  probability 0.5). Evaluation draws a fresh mask too, from a separate seeded
  generator. With ``rescale`` (Zhou's dynamic weight rescaling) each layer's
  weights are multiplied by (layer size / ones in the sampled mask), every
  step and at evaluation, the gradient flowing through that count as well.
- :class:`EdgePopup` (Ramanujan et al., 2020): the mask keeps the weights
  with the largest ``|s|`` of each layer, a fixed fraction ``density``; the
  straight-through gradient treats the hard mask as ``|s|``, so
  dL/ds = dL/dm · sign(s). Scores start uniform in ±1/√fan_in.

A mode's ``measure`` adds the expected fraction of weights kept
(``density``, 0..1, all layers together) to every evaluation point, and
``final_masks`` gives the mask the run ends with: the most probable one
(sigmoid(s) ≥ 0.5) for Bernoulli masks, the top-k mask for edge-popup.
"""

from __future__ import annotations

import math

import torch

from .seeds import derive_seed
from .train import Cohort, ModeState


def _member_generators(purpose: str, data_seeds: list, device) -> list[torch.Generator]:
    return [torch.Generator(device=device).manual_seed(derive_seed("supermask", purpose, s)) for s in data_seeds]


def _frozen(tensors: dict, device) -> dict:
    return {name: t.detach().clone().to(device) for name, t in tensors.items()}


def _sigmoid(scores: torch.Tensor) -> torch.Tensor:
    """sigmoid of (K, ...) scores member by member: over a whole stacked tensor, which elements take the
    vectorised path depends on K, and a member's probabilities would differ in the last bit between cohorts."""
    return torch.stack([torch.sigmoid(scores[k]) for k in range(scores.shape[0])])


def _density(masks: dict) -> list[float]:
    """Fraction of all weights kept per member, from float (K, ...) masks in [0, 1].

    Summed member by member (in float64), so that a member's figure does not
    depend on the cohort it trains in.
    """
    members = next(iter(masks.values())).shape[0]
    total = sum(m[0].numel() for m in masks.values())
    return [sum(m[k].double().sum().item() for m in masks.values()) / total for k in range(members)]


class BernoulliSupermask:
    """Zhou et al.'s learned supermask; ``rescale`` adds their dynamic weight rescaling."""

    def __init__(self, rescale: bool = False, score_init: float = 0.0):
        self.rescale, self.score_init = rescale, score_init

    def start(self, cohort: Cohort, device) -> ModeState:
        self.train_noise = _member_generators("train", cohort.data_seeds, device)
        self.eval_noise = _member_generators("eval", cohort.data_seeds, device)
        weights = _frozen(cohort.weights, device)
        scores = {name: torch.full_like(w, self.score_init).requires_grad_() for name, w in weights.items()}
        return ModeState(weights, _frozen(cohort.biases, device), {}, {}, extra={"scores": scores})

    def trainable(self, state: ModeState) -> list[torch.Tensor]:
        return list(state.extra["scores"].values())

    def _sample(self, state: ModeState, generators) -> dict:
        """Per layer, a 0/1 mask in value whose gradient is that of sigmoid(score)."""
        masks = {}
        for name, score in state.extra["scores"].items():
            probability = _sigmoid(score)
            uniform = torch.stack(  # u < p is a Bernoulli(p) draw, four times faster here than torch.bernoulli
                [torch.rand(probability.shape[1:], generator=g, device=probability.device) for g in generators]
            )
            drawn = (uniform < probability.detach()).to(probability.dtype)
            masks[name] = drawn + (probability - probability.detach())  # exactly 0/1 in value
        return masks

    def _weights(self, state: ModeState, masks: dict) -> dict:
        if not self.rescale:
            return state.weights
        out = {}
        for name, w in state.weights.items():  # member by member, for the reason of _sigmoid
            mask = masks[name]
            out[name] = torch.stack([w[k] * (mask[k].numel() / mask[k].sum().clamp(min=1.0)) for k in range(len(w))])
        return out

    def network(self, state: ModeState) -> tuple[dict, dict, dict, dict]:
        masks = self._sample(state, self.train_noise)
        return self._weights(state, masks), state.biases, masks, {}

    @torch.no_grad()
    def effective(self, state: ModeState) -> tuple[dict, dict]:
        masks = self._sample(state, self.eval_noise)
        weights = self._weights(state, masks)
        return {name: w * masks[name] for name, w in weights.items()}, state.biases

    @torch.no_grad()
    def measure(self, state: ModeState) -> dict:
        return {"density": _density({n: _sigmoid(s) for n, s in state.extra["scores"].items()})}

    @torch.no_grad()
    def final_masks(self, state: ModeState) -> dict:
        return {name: s >= 0 for name, s in state.extra["scores"].items()}  # sigmoid(s) >= 0.5


def kept_count(numel: int, density: float) -> int:
    """Weights edge-popup keeps in a layer of ``numel``: all but the ``int((1 - density) * numel)`` lowest scores."""
    return max(1, numel - int((1.0 - density) * numel))


def top_k_mask(scores: torch.Tensor, density: float) -> torch.Tensor:
    """Float 0/1 (K, ...) keeping, per member, the ``kept_count`` entries of largest ``|score|``."""
    flat = scores.detach().abs().flatten(1)
    keep = kept_count(flat.shape[1], density)
    hard = torch.zeros_like(flat).scatter_(1, flat.topk(keep, dim=1).indices, 1.0)
    return hard.view_as(scores)


class EdgePopup:
    """Ramanujan et al.'s edge-popup: top-``density`` of |score| per layer, straight-through."""

    def __init__(self, density: float):
        self.density = density

    def start(self, cohort: Cohort, device) -> ModeState:
        weights = _frozen(cohort.weights, device)
        scores = {}
        for name, w in weights.items():
            bound = 1.0 / math.sqrt(math.prod(w.shape[2:]))
            member_scores = [
                torch.empty(w.shape[1:]).uniform_(
                    -bound, bound, generator=torch.Generator().manual_seed(derive_seed("scores", s, name))
                )
                for s in cohort.data_seeds
            ]
            scores[name] = torch.stack(member_scores).to(device).requires_grad_()
        return ModeState(weights, _frozen(cohort.biases, device), {}, {}, extra={"scores": scores})

    def trainable(self, state: ModeState) -> list[torch.Tensor]:
        return list(state.extra["scores"].values())

    def _masks(self, state: ModeState) -> dict:
        return {name: top_k_mask(s, self.density) for name, s in state.extra["scores"].items()}

    def network(self, state: ModeState) -> tuple[dict, dict, dict, dict]:
        masks = {}
        for name, hard in self._masks(state).items():
            magnitude = state.extra["scores"][name].abs()
            masks[name] = hard + (magnitude - magnitude.detach())
        return state.weights, state.biases, masks, {}

    @torch.no_grad()
    def effective(self, state: ModeState) -> tuple[dict, dict]:
        masks = self._masks(state)
        return {name: w * masks[name] for name, w in state.weights.items()}, state.biases

    @torch.no_grad()
    def measure(self, state: ModeState) -> dict:
        return {"density": _density(self._masks(state))}

    @torch.no_grad()
    def final_masks(self, state: ModeState) -> dict:
        return {name: m.bool() for name, m in self._masks(state).items()}


# How each supermask method is learned, and the training settings of its paper (LeNet-300-100 on MNIST):
# Zhou et al.'s train_supermask defaults and README command (SGD, lr 100, momentum 0.9, batch 250,
# 2,000 epochs of 220 steps), Ramanujan et al.'s small-scale configs (SGD, lr 0.1, momentum 0.9,
# weight decay 1e-4 on the scores, cosine schedule, batch 128, 100 epochs of 429 steps).
MODES = {
    "bernoulli": lambda config: BernoulliSupermask(rescale=False),
    "bernoulli_rescaled": lambda config: BernoulliSupermask(rescale=True),
    "edge_popup": lambda config: EdgePopup(config.density),
}
ZHOU = dict(optimizer="sgd", lr=100.0, batch_size=250, iterations=440_000, weight_decay=0.0, schedule="constant")
PAPER_SETTINGS = {
    "bernoulli": ZHOU,
    "bernoulli_rescaled": ZHOU,
    "edge_popup": dict(
        optimizer="sgd", lr=0.1, batch_size=128, iterations=42_900, weight_decay=1e-4, schedule="cosine", density=0.5
    ),
}


def mode(config):
    """The training mode of a resolved supermask ``config``."""
    return MODES[config.supermask](config)
