"""Mask criteria (Zhou et al., 2019) and pruning among the weights still alive.

A criterion is a score over the live weights of a group (one layer for
layerwise pruning, all layers for global pruning): the weights with the
highest scores are kept. Every score function takes 1-D tensors ``w_init``
and ``w_final`` of the live weights (same length n) and a seeded generator,
and returns n scores. Ties are broken at random with that generator, so a
criterion such as ``random`` or a constant score is still reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch


def _rank(values: torch.Tensor) -> torch.Tensor:
    """Rank of each value among all (0 = smallest), as float; ties get distinct ranks."""
    ranks = torch.empty_like(values)
    ranks[values.argsort(stable=True)] = torch.arange(len(values), dtype=values.dtype, device=values.device)
    return ranks


def _both_above(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Keep-where-both-above-the-same-percentile as a score.

    Zhou et al. keep w where a and b both exceed their own t-th percentile,
    searching t until the kept count is right. A weight survives threshold t
    exactly when min(rank(a), rank(b)) does, so ranking by that minimum and
    keeping the top count is the same rule with t found exactly.
    """
    return torch.minimum(_rank(a), _rank(b))


def _random(w_init, w_final, generator):
    return torch.rand(len(w_init), generator=generator).to(w_init.device)


CRITERIA = {
    "large_final": lambda wi, wf, g: wf.abs(),
    "small_final": lambda wi, wf, g: -wf.abs(),
    "large_init": lambda wi, wf, g: wi.abs(),
    "small_init": lambda wi, wf, g: -wi.abs(),
    "large_init_large_final": lambda wi, wf, g: _both_above(wi.abs(), wf.abs()),
    "small_init_small_final": lambda wi, wf, g: _both_above(-wi.abs(), -wf.abs()),
    "magnitude_increase": lambda wi, wf, g: wf.abs() - wi.abs(),
    "movement": lambda wi, wf, g: (wf - wi).abs(),
    "random": _random,
    "large_final_same_sign": lambda wi, wf, g: torch.where(torch.sign(wi) == torch.sign(wf), wf.abs(), 0.0),
}


def keep_top(scores: torch.Tensor, n_keep: int, generator: torch.Generator) -> torch.Tensor:
    """Boolean (n,) marking the ``n_keep`` highest scores; ties broken by a seeded random order."""
    if not 0 <= n_keep <= len(scores):
        raise ValueError(f"cannot keep {n_keep} of {len(scores)} weights")
    shuffle = torch.randperm(len(scores), generator=generator).to(scores.device)
    order = scores[shuffle].argsort(descending=True, stable=True)
    keep = torch.zeros(len(scores), dtype=torch.bool, device=scores.device)
    keep[shuffle[order[:n_keep]]] = True
    return keep


def surviving_count(alive: int, rate: float) -> int:
    """Weights left after one round that prunes ``ceil(rate * alive)`` of ``alive``."""
    return alive - math.ceil(rate * alive - 1e-9)


def surviving_after(total: int, rate: float, rounds: int) -> int:
    """Weights left after ``rounds`` rounds at ``rate``: about ``total * (1 - rate) ** rounds``."""
    alive = total
    for _ in range(rounds):
        alive = surviving_count(alive, rate)
    return alive


def prune(
    criterion: str,
    w_init: Mapping[str, torch.Tensor],
    w_final: Mapping[str, torch.Tensor],
    alive: Mapping[str, torch.Tensor],
    n_keep: Mapping[tuple[str, ...], int],
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """One member's next mask.

    ``w_init``, ``w_final`` and ``alive`` map layer names to tensors of one
    layer's shape (``alive`` is boolean). ``n_keep`` maps groups of layer names
    to how many live weights the group keeps: ``{("fc1",): 120, ...}`` prunes
    layer by layer, ``{("fc1", "fc2", "output"): 500}`` globally. Only live
    weights are scored, so a pruned weight never comes back.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; valid: {', '.join(CRITERIA)}")
    score = CRITERIA[criterion]
    new_alive = {name: torch.zeros_like(mask, dtype=torch.bool) for name, mask in alive.items()}
    for group, count in n_keep.items():
        live = [alive[name].flatten().bool() for name in group]
        wi = torch.cat([w_init[name].flatten()[m] for name, m in zip(group, live)])
        wf = torch.cat([w_final[name].flatten()[m] for name, m in zip(group, live)])
        kept = keep_top(score(wi, wf, generator), count, generator)
        for name, m, part in zip(group, live, kept.split([int(m.sum()) for m in live])):
            flat = new_alive[name].flatten()
            flat[m] = part
            new_alive[name] = flat.view_as(alive[name])
    return new_alive


def keep_counts(
    alive: Mapping[str, torch.Tensor], rates: Mapping[str, float], pruning: str, rounds: int = 1
) -> dict[tuple[str, ...], int]:
    """How many weights each group keeps after ``rounds`` rounds from the live counts in ``alive``.

    Layerwise: each layer at its own rate. Global: all layers pooled, at the
    largest per-layer rate (the fully-connected rate for the paper's networks).
    """
    counts = {name: int(mask.sum()) for name, mask in alive.items()}
    if pruning == "layerwise":
        return {(name,): surviving_after(counts[name], rates[name], rounds) for name in counts}
    if pruning == "global":
        rate = max(rates.values())
        return {tuple(counts): surviving_after(sum(counts.values()), rate, rounds)}
    raise ValueError(f"unknown pruning {pruning!r}; valid: layerwise, global")


def fraction_remaining(alive: Mapping[str, torch.Tensor]) -> float:
    """Fraction of all prunable weights still alive (0..1)."""
    kept = sum(int(mask.sum()) for mask in alive.values())
    total = sum(mask.numel() for mask in alive.values())
    return kept / total
