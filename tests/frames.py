"""Runs frames made by hand for the tests of claims and figures: ``(level, arm, percent, early-stop iteration,
accuracy)`` rows, each with five trials whose offsets are the same in every arm.

A plain module, not ``conftest`` (see ``sampling``): the tests import what they use.
"""

from __future__ import annotations

import pandas as pd

JITTER = (-0.002, -0.001, 0.0, 0.001, 0.002)  # five trials, the same offsets in every arm: paired sd ~ 0


def frame(rows, trials=5, at_end=False):
    """rows: (level, arm, percent, early-stop iteration, accuracy) -> a runs frame with ``trials`` trials each."""
    out = []
    for level, arm, percent, iteration, accuracy in rows:
        for trial in range(trials):
            jitter = JITTER[trial % len(JITTER)] + 0.0003 * (trial * (level + 1) % 3)
            out.append(
                {
                    "level": level,
                    "arm": arm,
                    "trial": trial,
                    "percent": percent,
                    "early_stop_iteration": iteration + 10 * trial,
                    "early_stop_test_acc": accuracy + jitter,
                    "stopped_at_last_evaluation": at_end,
                    "run": f"{level}/{arm}/{trial}",
                }
            )
    return pd.DataFrame(out)


ROWS = [
    (0, "ticket", 100, 1000, 0.88),
    (1, "ticket", 51.3, 800, 0.89),
    (2, "ticket", 21.1, 600, 0.895),
    (3, "ticket", 7.0, 700, 0.885),
    (4, "ticket", 3.6, 900, 0.86),
    (2, "reinit", 21.1, 1100, 0.86),
    (3, "reinit", 7.0, 1300, 0.84),
]


GOOD = frame(ROWS)
