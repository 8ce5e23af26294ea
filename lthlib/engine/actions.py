"""What kept weights start from (mask-1 actions) and what pruned weights become (mask-0 actions).

Both act on one member's layer at a time. ``w_init`` is the layer's original
initialisation (or its rewound weights), ``mask`` is boolean (True = kept),
all of one layer's shape.

A mask-1 action returns the starting values; only the kept entries matter
(the trainer multiplies by the mask). A mask-0 action returns the frozen value
of every pruned weight (the trainer computes ``w * mask + frozen * (1 - mask)``),
or ``None`` when pruned weights are zero.
"""

from __future__ import annotations

import torch


def _permute_all(values: torch.Tensor, generator) -> torch.Tensor:
    flat = values.flatten()
    return flat[torch.randperm(len(flat), generator=generator).to(flat.device)].view_as(values)


def _permute_kept(values: torch.Tensor, mask: torch.Tensor, generator) -> torch.Tensor:
    out = values.clone().flatten()
    kept = mask.flatten().nonzero().squeeze(1)
    out[kept] = out[kept[torch.randperm(len(kept), generator=generator).to(kept.device)]]
    return out.view_as(values)


def _with_signs_of(values: torch.Tensor, signs_from: torch.Tensor) -> torch.Tensor:
    return values.abs() * torch.sign(signs_from)


def _constant(values: torch.Tensor) -> torch.Tensor:
    """The layer's constant for the signed-constant actions: the standard deviation of its values (over n, as
    NumPy's ``std`` in Zhou et al.'s code), a 0-d tensor."""
    return values.std(correction=0)


MASK1_ACTIONS = {
    "original": lambda w, mask, g: w.clone(),
    "reinit": lambda w, mask, g: _permute_all(w, g),
    "reshuffle": lambda w, mask, g: _permute_kept(w, mask, g),
    "signed_reinit": lambda w, mask, g: _with_signs_of(_permute_all(w, g), w),
    "signed_reshuffle": lambda w, mask, g: _with_signs_of(_permute_kept(w, mask, g), w),
    "signed_constant": lambda w, mask, g: torch.sign(w) * _constant(w),
    # the layer's own signs shuffled over the whole layer, so as many of each sign as at initialisation
    "rand_signed_constant": lambda w, mask, g: torch.sign(_permute_all(w, g)) * _constant(w),
}


MASK0_ACTIONS = {
    "zero": lambda w_init, w_final, mask: None,
    "freeze_init": lambda w_init, w_final, mask: w_init.clone(),
    "freeze_init_zero_mask": lambda w_init, w_final, mask: torch.where(
        w_final.abs() < w_init.abs(), torch.zeros_like(w_init), w_init
    ),
    # beyond Zhou et al.: the complement of their variant (zero the weights that moved away from zero, freeze the
    # others at w_i), and the pruned weights frozen where training left them
    "freeze_init_zero_away": lambda w_init, w_final, mask: torch.where(
        w_final.abs() < w_init.abs(), w_init, torch.zeros_like(w_init)
    ),
    "freeze_final": lambda w_init, w_final, mask: w_final.clone(),
}


# The mask-0 actions whose values depend on the previous level's trained weights, not only on w_i.
FROM_TRAINING = ("freeze_init_zero_mask", "freeze_init_zero_away", "freeze_final")


def kept_start(action: str, w_init: torch.Tensor, mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Starting values of one layer under mask-1 ``action`` (same shape as ``w_init``)."""
    if action not in MASK1_ACTIONS:
        raise ValueError(f"unknown mask-1 action {action!r}; valid: {', '.join(MASK1_ACTIONS)}")
    return MASK1_ACTIONS[action](w_init, mask.bool(), generator)


def pruned_value(action: str, w_init: torch.Tensor, w_final: torch.Tensor, mask: torch.Tensor):
    """Frozen values of one layer's pruned weights under mask-0 ``action``, or ``None`` for zero."""
    if action not in MASK0_ACTIONS:
        raise ValueError(f"unknown mask-0 action {action!r}; valid: {', '.join(MASK0_ACTIONS)}")
    return MASK0_ACTIONS[action](w_init, w_final, mask.bool())
