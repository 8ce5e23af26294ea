"""The paired interval every verdict rests on."""

from __future__ import annotations

import pytest

from lthlib.analysis import stats


def test_paired_interval_is_the_t_interval_of_the_differences():
    result = stats.paired([1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    assert result.mean == 3.0 and result.n == 5
    assert result.high - result.mean == pytest.approx(2.7764451 * (2.5**0.5) / 5**0.5)  # t(0.975, 4) sd/sqrt(n)
    assert result.verdict() == "supported" and result.verdict(larger=False) == "not supported"
    assert stats.paired([1, -1, 2, -2, 0.1], [0] * 5).verdict() == "inconclusive"
    assert stats.paired([1, 2, 3, 4], [0] * 4).verdict() == "inconclusive"  # fewer than five trials
    assert stats.paired([1, 2, 3, 4, 5], [0] * 5, a_at_end=[True] * 5, b_at_end=[True] * 5).verdict() == "inconclusive"
    with pytest.raises(ValueError, match="equal"):
        stats.paired([1, 2], [1])
