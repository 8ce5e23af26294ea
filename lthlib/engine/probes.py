"""Statistics of the weights during training, recorded at every evaluation point by the trainer's probe hook.

A probe is called as ``probe(weights, members)`` with the effective weights
``{layer: (k, ...)}`` of the cohort's members ``members`` (a range) and
returns ``{name: k numbers}`` (see :func:`lthlib.engine.train.train`).
"""

from __future__ import annotations

import torch

# What the sign probe measures in each group of weights, as a fraction (0..1) of the group's weights.
SIGN_STATISTICS = {
    "flipped": lambda w, w0: torch.sign(w) != torch.sign(w0),  # the sign differs from θ0
    "grew": lambda w, w0: w.abs() > w0.abs(),  # the magnitude is larger than at θ0
}


def signs(start: dict, groups: dict[str, dict]):
    """A probe of how many weights of each group changed sign, and how many grew, since ``start``.

    ``start``: the cohort's starting weights ``{layer: (K, ...)}``; ``groups``:
    ``{group: {layer: (K, ...) bool}}``, the weights each member counts in that
    group. The probe returns ``{f"{group}_{statistic}": k fractions}`` over all
    layers together, NaN for a member whose group is empty.
    """

    def probe(weights: dict, members: range) -> dict[str, list[float]]:
        chosen = slice(members.start, members.stop)
        out = {}
        for group, masks in groups.items():
            size = sum(masks[name][chosen].flatten(1).sum(1) for name in weights)
            for statistic, test in SIGN_STATISTICS.items():
                hits = sum(
                    (test(weights[name], start[name][chosen]) & masks[name][chosen]).flatten(1).sum(1)
                    for name in weights
                )
                fraction = hits / size.clamp(min=1)
                out[f"{group}_{statistic}"] = torch.where(size > 0, fraction, float("nan")).tolist()
        return out

    return probe
