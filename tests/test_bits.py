"""Mask information in bits: exact on small cases, and the bounds it must respect."""

from __future__ import annotations

import math

import pytest

from lthlib.analysis import bits


def test_mask_bits_count_the_masks_exactly():
    assert bits.mask_bits(4, 2) == pytest.approx(math.log2(6))  # C(4, 2) = 6
    assert bits.mask_bits(10, 0) == 0 and bits.mask_bits(10, 10) == 0  # one mask each
    assert bits.mask_bits(1000, 500) <= 1000 and bits.mask_bits(1000, 500) > 990  # near n bits at half density
    with pytest.raises(ValueError, match="kept=5"):
        bits.mask_bits(4, 5)


def test_a_runs_bits_sum_over_its_layers():
    run = {
        "kept": {"fc1": 2, "output": 1},
        "level": 1,
        "trial": 0,
        "remaining": 0.5,
        "arm": "ticket",
        "early_stop": {"test_acc": 0.8},
    }
    found = bits.run_bits(run, {"fc1": [2, 2], "output": [1, 2]})
    assert found["mask_bits"] == pytest.approx(math.log2(6) + 1)
    assert found["weight_bits"] == 3 * 32
    frame = bits.bits_frame({"runs": [run], "layers": {"fc1": [2, 2], "output": [1, 2]}})
    assert frame.loc[0, "weight_bits"] == 96 and frame.loc[0, "percent"] == 50
