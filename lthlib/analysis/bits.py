"""How much information a mask carries, next to the bits of the trained weights it keeps.

A mask that keeps k of a layer's n weights is one of C(n, k) possible
masks, so choosing it specifies log2 C(n, k) bits (at most n bits, at k = n/2).
Trained weights carry 32 bits each in float32.
"""

from __future__ import annotations

import math

import pandas as pd

FLOAT32_BITS = 32


def mask_bits(total: int, kept: int) -> float:
    """log2 of the number of masks keeping ``kept`` of ``total`` weights (bits), exact through log-gamma."""
    if not 0 <= kept <= total:
        raise ValueError(f"a mask keeps between 0 and {total} of {total} weights; got kept={kept}")
    return (math.lgamma(total + 1) - math.lgamma(kept + 1) - math.lgamma(total - kept + 1)) / math.log(2)


def run_bits(run: dict, layers: dict[str, list[int]]) -> dict:
    """A stored run's mask information and its kept weights' bits, summed over layers (``layers``: shapes)."""
    totals = {name: math.prod(shape) for name, shape in layers.items()}
    return {
        "mask_bits": sum(mask_bits(totals[name], kept) for name, kept in run["kept"].items()),
        "weight_bits": FLOAT32_BITS * sum(run["kept"].values()),
    }


def bits_frame(record: dict, arm: str = "ticket") -> pd.DataFrame:
    """One row per run of ``arm``: level, trial, percent remaining, mask bits, weight bits, early-stop accuracy."""
    rows = [
        {
            "level": run["level"],
            "trial": run["trial"],
            "percent": 100 * run["remaining"],
            **run_bits(run, record["layers"]),
            "early_stop_test_acc": run["early_stop"]["test_acc"],
        }
        for run in record["runs"]
        if run["arm"] == arm
    ]
    return pd.DataFrame(rows)
