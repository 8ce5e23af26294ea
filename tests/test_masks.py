"""Mask criteria on hand-made weights, exact kept counts, pruning among live weights only."""

from __future__ import annotations

import itertools

import pytest
import torch

from lthlib.engine import masks
from lthlib.engine.seeds import generator

# Eight weights whose init and final values make every criterion pick a different set.
W_INIT = torch.tensor([0.9, -0.8, 0.1, -0.2, 0.5, -0.05, 0.3, 0.7])
W_FINAL = torch.tensor([1.2, 0.1, -0.9, -0.05, 0.6, -0.02, -0.45, 0.75])


def kept(criterion: str, n_keep: int, w_init=W_INIT, w_final=W_FINAL, alive=None) -> set[int]:
    alive = torch.ones(len(w_init), dtype=torch.bool) if alive is None else alive
    mask = masks.prune(criterion, {"l": w_init}, {"l": w_final}, {"l": alive}, {("l",): n_keep}, generator(0))
    return set(mask["l"].nonzero().flatten().tolist())


@pytest.mark.parametrize(
    "criterion, expected",
    [
        ("large_final", {0, 2, 7}),  # |wf| = 1.2, 0.9, 0.75
        ("small_final", {5, 3, 1}),  # |wf| = 0.02, 0.05, 0.1
        ("large_init", {0, 1, 7}),  # |wi| = 0.9, 0.8, 0.7
        ("small_init", {5, 2, 3}),  # |wi| = 0.05, 0.1, 0.2
        ("magnitude_increase", {2, 0, 6}),  # |wf|-|wi| = 0.8, 0.3, 0.15
        ("movement", {2, 1, 6}),  # |wf-wi| = 1.0, 0.9, 0.75
        ("large_final_same_sign", {0, 7, 4}),  # same sign: 0, 3, 4, 5, 7; |wf| = 1.2, 0.75, 0.6
    ],
)
def test_criteria_keep_the_expected_weights(criterion, expected):
    assert kept(criterion, 3) == expected


def brute_force_both_above(a: torch.Tensor, b: torch.Tensor, n_keep: int) -> set[int]:
    """Zhou et al.'s rule literally: the largest threshold rank t at which 'a and b both in their top t' keeps >= n."""
    n = len(a)
    order_a, order_b = a.argsort(descending=True), b.argsort(descending=True)
    for top in range(n + 1):
        both = set(order_a[:top].tolist()) & set(order_b[:top].tolist())
        if len(both) >= n_keep:
            return both
    raise AssertionError


@pytest.mark.parametrize("n_keep", [1, 2, 3, 4, 5])
def test_large_init_large_final_is_the_same_percentile_rule(n_keep):
    expected = brute_force_both_above(W_INIT.abs(), W_FINAL.abs(), n_keep)
    if len(expected) == n_keep:  # no tie at the threshold: the rule alone decides
        assert kept("large_init_large_final", n_keep) == expected
    else:
        assert kept("large_init_large_final", n_keep) < expected


def test_small_init_small_final_mirrors_large():
    # smallest |wi|: 5 (.05), 2 (.1), 3 (.2); smallest |wf|: 5 (.02), 3 (.05), 1 (.1)
    assert kept("small_init_small_final", 2) == {5, 3}


def test_random_is_seeded_and_uniform_in_count():
    a = kept("random", 4)
    assert len(a) == 4 and a == kept("random", 4)
    draws = {
        frozenset(
            masks.prune(
                "random",
                {"l": W_INIT},
                {"l": W_FINAL},
                {"l": torch.ones(8, dtype=torch.bool)},
                {("l",): 4},
                generator(seed),
            )["l"]
            .nonzero()
            .flatten()
            .tolist()
        )
        for seed in range(20)
    }
    assert len(draws) > 5


def test_ties_are_broken_by_the_seed_not_by_position():
    flat = torch.ones(100)
    picks = [kept("large_final", 10, flat, flat) for _ in range(2)]
    assert picks[0] == picks[1]
    assert picks[0] != set(range(10))


def test_dead_weights_are_never_revived():
    alive = torch.tensor([False, True, True, True, True, True, True, True])  # weight 0 (largest) already pruned
    assert kept("large_final", 3, alive=alive) == {2, 7, 4}
    with pytest.raises(ValueError, match="cannot keep 8 of 7"):
        kept("large_final", 8, alive=alive)


def test_unknown_criterion_lists_valid_ones():
    with pytest.raises(ValueError, match="'largest'.*large_final.*movement"):
        kept("largest", 3)


@pytest.mark.parametrize(
    "rate, rounds, expected", [(0.2, 1, 800), (0.2, 2, 640), (0.2, 3, 512), (0.1, 1, 900), (0.2, 4, 409)]
)  # 512 - ceil(102.4)
def test_surviving_after_matches_the_rounding_rule(rate, rounds, expected):
    assert masks.surviving_after(1000, rate, rounds) == expected


def test_iterative_layerwise_counts_are_exact():
    torch.manual_seed(0)
    shapes = {"fc1": (30, 40), "fc2": (10, 30), "output": (5, 10)}
    rates = {"fc1": 0.2, "fc2": 0.2, "output": 0.1}
    weights = {n: torch.randn(s) for n, s in shapes.items()}
    alive = {n: torch.ones(s, dtype=torch.bool) for n, s in shapes.items()}
    for round_ in range(1, 6):
        counts = masks.keep_counts(alive, rates, "layerwise")
        new = masks.prune("large_final", weights, weights, alive, counts, generator(round_))
        assert all(not (new[n] & ~alive[n]).any() for n in shapes)  # only live weights survive
        alive = new
        for name, shape in shapes.items():
            total = shape[0] * shape[1]
            assert int(alive[name].sum()) == masks.surviving_after(total, rates[name], round_)
    # (1 - 0.2)^5 of 1200 weights with ceil rounding: 1200 -> 960 -> 768 -> 614 -> 491 -> 392
    assert int(alive["fc1"].sum()) == 392


def test_global_pruning_pools_layers():
    big = torch.full((10,), 5.0)
    small = torch.full((10,), 0.1)
    alive = {"a": torch.ones(10, dtype=torch.bool), "b": torch.ones(10, dtype=torch.bool)}
    counts = masks.keep_counts(alive, {"a": 0.5, "b": 0.5}, "global")
    assert counts == {("a", "b"): 10}
    new = masks.prune("large_final", {"a": big, "b": small}, {"a": big, "b": small}, alive, counts, generator(0))
    assert int(new["a"].sum()) == 10 and int(new["b"].sum()) == 0
    layerwise = masks.prune(
        "large_final",
        {"a": big, "b": small},
        {"a": big, "b": small},
        alive,
        masks.keep_counts(alive, {"a": 0.5, "b": 0.5}, "layerwise"),
        generator(0),
    )
    assert int(layerwise["a"].sum()) == 5 and int(layerwise["b"].sum()) == 5


def test_every_criterion_runs_on_every_shape():
    w = torch.randn(4, 3, 3, 3)
    for criterion in masks.CRITERIA:
        out = masks.prune(
            criterion, {"c": w}, {"c": w * 2}, {"c": torch.ones_like(w, dtype=torch.bool)}, {("c",): 50}, generator(1)
        )
        assert out["c"].shape == w.shape and int(out["c"].sum()) == 50


def test_fraction_remaining():
    alive = {"a": torch.tensor([True, False]), "b": torch.tensor([True, True, False, False])}
    assert masks.fraction_remaining(alive) == pytest.approx(0.5)


def test_keep_top_is_exact_for_all_counts():
    scores = torch.tensor([3.0, 1.0, 2.0, 2.0, 0.0])
    for n in range(6):
        top = masks.keep_top(scores, n, generator(7))
        assert int(top.sum()) == n
        if 0 < n < 5:
            assert scores[top].min() >= scores[~top].max()
    assert list(itertools.compress(range(5), masks.keep_top(scores, 1, generator(0)).tolist())) == [0]
