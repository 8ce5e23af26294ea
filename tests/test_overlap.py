"""Mask overlap: exact Jaccard on hand-made masks, and the random baseline it is read against."""

from __future__ import annotations

import numpy as np
import pytest

from lthlib.analysis import overlap


def test_jaccard_on_hand_made_masks():
    a = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool)
    b = np.array([[1, 0, 1, 0], [1, 0, 0, 1]], dtype=bool)
    assert overlap.jaccard(a, b) == pytest.approx(2 / 5)  # 2 shared of 5 kept by either
    assert overlap.jaccard(a, a) == 1.0
    assert overlap.jaccard(a, ~a) == 0.0
    with pytest.raises(ValueError, match=r"\(2, 4\) and \(8,\)"):
        overlap.jaccard(a, b.flatten())


def test_random_masks_overlap_as_the_baseline_says():
    rng = np.random.default_rng(0)
    n, kept = 20_000, 4_000
    observed = []
    for _ in range(20):
        a, b = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        a[rng.choice(n, kept, replace=False)] = True
        b[rng.choice(n, kept, replace=False)] = True
        observed.append(overlap.jaccard(a, b))
    expected = overlap.random_jaccard(kept, kept, n)  # 0.2 * 0.2 / (0.4 - 0.04) = 1/9
    assert expected == pytest.approx(1 / 9)
    assert np.mean(observed) == pytest.approx(expected, rel=0.02)


def test_compare_reads_each_layer_against_its_own_baseline():
    a = {"fc1": np.array([1, 1, 0, 0], dtype=bool), "output": np.array([1, 0], dtype=bool)}
    b = {"fc1": np.array([1, 1, 0, 0], dtype=bool), "output": np.array([0, 1], dtype=bool)}
    table = overlap.compare(a, b, comparison="same").set_index("layer")
    assert table.loc["fc1", "jaccard"] == 1.0 and table.loc["fc1", "random_jaccard"] == pytest.approx(1 / 3)
    assert table.loc["fc1", "above_random"] == pytest.approx(3.0)
    assert table.loc["output", "jaccard"] == 0.0 and (table["comparison"] == "same").all()
