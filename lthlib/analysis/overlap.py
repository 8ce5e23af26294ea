"""How much two masks agree: Jaccard overlap per layer, against what two random masks of those sizes share.

Masks are boolean arrays (True = kept) of one layer's shape. Two masks drawn
at random with exactly ``a`` and ``b`` of ``n`` weights kept share
``a * b / n`` weights on average, so their expected Jaccard index is close to
``ab / (n(a + b) - ab)``; an observed overlap is read against that baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.levels import mask_key


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∧ b| / |a ∨ b| of two boolean masks of one shape (1.0 when both keep nothing)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks of different shapes cannot overlap: {a.shape} and {b.shape}")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def random_jaccard(kept_a: int, kept_b: int, total: int) -> float:
    """The Jaccard index two independent random masks keeping ``kept_a`` and ``kept_b`` of ``total`` weights
    would have (the ratio of the expected intersection to the expected union)."""
    shared = kept_a * kept_b / total
    union = kept_a + kept_b - shared
    return float(shared / union) if union else 1.0


def ticket(masks: dict[str, np.ndarray], level: int, trial: int, layers, arm: str = "ticket") -> dict[str, np.ndarray]:
    """One trial's masks at ``level`` from a record's stored masks (:meth:`lthlib.engine.store.Store.load_masks`)."""
    return {layer: masks[mask_key(level, arm, trial, layer)] for layer in layers}


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], **columns) -> pd.DataFrame:
    """One row per layer: kept fractions, Jaccard overlap, the random masks' expectation and their ratio.

    ``columns`` are added as constant columns (e.g. which comparison, which trial).
    """
    rows = []
    for layer in a:
        kept_a, kept_b, total = int(a[layer].sum()), int(b[layer].sum()), a[layer].size
        observed, expected = jaccard(a[layer], b[layer]), random_jaccard(kept_a, kept_b, total)
        rows.append(
            {
                "layer": layer,
                "kept_a": kept_a / total,
                "kept_b": kept_b / total,
                "jaccard": observed,
                "random_jaccard": expected,
                "above_random": observed / expected if expected else float("nan"),
                **columns,
            }
        )
    return pd.DataFrame(rows)
