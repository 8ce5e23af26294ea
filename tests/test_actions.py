"""Mask-1 and mask-0 actions on hand-made layers with known answers."""

from __future__ import annotations

import pytest
import torch

from lthlib.engine import actions
from lthlib.engine.seeds import generator

W = torch.tensor([[0.5, -0.4, 0.3], [-0.2, 0.1, -0.6]])
MASK = torch.tensor([[True, False, True], [False, True, True]])


def start(action):
    return actions.kept_start(action, W, MASK, generator(3))


def test_original_is_the_init():
    assert torch.equal(start("original"), W)


def test_reinit_permutes_the_whole_layer():
    out = start("reinit")
    assert sorted(out.flatten().tolist()) == sorted(W.flatten().tolist())
    assert not torch.equal(out, W)


def test_reshuffle_permutes_only_the_kept_values():
    out = start("reshuffle")
    assert sorted(out[MASK].tolist()) == sorted(W[MASK].tolist())
    assert torch.equal(out[~MASK], W[~MASK])
    assert not torch.equal(out[MASK], W[MASK])


@pytest.mark.parametrize("action, base", [("signed_reinit", "reinit"), ("signed_reshuffle", "reshuffle")])
def test_signed_variants_restore_the_original_signs(action, base):
    out, unsigned = start(action), start(base)
    assert torch.equal(torch.sign(out), torch.sign(W))
    assert torch.equal(out.abs(), unsigned.abs())


def test_signed_constant_is_sign_times_the_layers_standard_deviation_over_n():
    out = start("signed_constant")
    assert torch.allclose(out, torch.sign(W) * float(W.numpy().std()), rtol=1e-6)  # NumPy's, as in Zhou et al.'s code
    assert not torch.allclose(out.abs(), W.std().expand_as(W), rtol=1e-3)  # not the unbiased (n - 1) estimate


def test_rand_signed_constant_shuffles_the_layers_signs_and_keeps_their_count():
    out = start("rand_signed_constant")
    assert torch.allclose(out.abs(), torch.full_like(W, float(W.numpy().std())))
    big = torch.randn(1000)
    signs = torch.sign(
        actions.kept_start("rand_signed_constant", big, torch.ones(1000, dtype=torch.bool), generator(1))
    )
    assert int((signs > 0).sum()) == int((big > 0).sum())  # a permutation of the layer's own signs
    assert 400 < int((signs == torch.sign(big)).sum()) < 600  # each one unrelated to its weight's own sign


def test_mask0_actions():
    w_final = torch.tensor([[0.7, -0.1, 0.0], [-0.3, 0.05, -0.9]])
    assert actions.pruned_value("zero", W, w_final, MASK) is None
    assert torch.equal(actions.pruned_value("freeze_init", W, w_final, MASK), W)
    # moved toward zero (|wf| < |wi|): -0.4 -> -0.1, 0.3 -> 0, 0.1 -> 0.05; the rest keep w_init
    expected = torch.tensor([[0.5, 0.0, 0.0], [-0.2, 0.0, -0.6]])
    assert torch.equal(actions.pruned_value("freeze_init_zero_mask", W, w_final, MASK), expected)
    # the complement: the weights that moved toward zero keep w_init, the others (0.5 -> 0.7, -0.2 -> -0.3,
    # -0.6 -> -0.9) are zero
    complement = torch.tensor([[0.0, -0.4, 0.3], [0.0, 0.1, 0.0]])
    assert torch.equal(actions.pruned_value("freeze_init_zero_away", W, w_final, MASK), complement)
    assert torch.equal(actions.pruned_value("freeze_final", W, w_final, MASK), w_final)


def test_unknown_actions_list_valid_ones():
    with pytest.raises(ValueError, match="'shuffle'.*reshuffle"):
        start("shuffle")
    with pytest.raises(ValueError, match="'freeze'.*freeze_init"):
        actions.pruned_value("freeze", W, W, MASK)
