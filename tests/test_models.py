"""K batched networks compute exactly what K ordinary networks compute."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from lthlib.engine import bench, data, models

SHAPES = {"lenet": (1, 28, 28), "conv2": (1, 28, 28), "conv4": (3, 32, 32), "conv6": (3, 32, 32)}


def copy_into(module: torch.nn.Module, weights: dict, biases: dict, k: int, arch) -> None:
    params = [p for p in module.modules() if isinstance(p, (torch.nn.Linear, torch.nn.Conv2d))]
    for layer, target in zip(arch.layers, params):
        target.weight.data.copy_(weights[layer.name][k])
        target.bias.data.copy_(biases[layer.name][k])


@pytest.mark.parametrize("network", list(SHAPES))
def test_batched_forward_matches_ordinary_modules(network):
    arch = models.build(network, SHAPES[network], 10)
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(3)], "cpu")
    biases = {n: torch.randn_like(b) for n, b in biases.items()}
    x = torch.randn(3, 4, *SHAPES[network])
    out = models.forward(arch, weights, biases, x)
    assert out.shape == (3, 4, 10)
    for k in range(3):
        module = bench.textbook_module(arch)
        copy_into(module, weights, biases, k, arch)
        assert torch.allclose(out[k], module(x[k]), atol=1e-5)
    shared = models.forward(arch, weights, biases, x[0])
    for k in range(3):
        module = bench.textbook_module(arch)
        copy_into(module, weights, biases, k, arch)
        assert torch.allclose(shared[k], module(x[0]), atol=1e-5)


def test_paper_layer_sizes():
    lenet = models.build("lenet", (1, 28, 28), 10)
    assert [layer.shape for layer in lenet.layers] == [(300, 784), (100, 300), (10, 100)]
    conv2 = models.build("conv2", (3, 32, 32), 10)
    assert [layer.shape for layer in conv2.layers] == [
        (64, 3, 3, 3),
        (64, 64, 3, 3),
        (256, 16384),
        (256, 256),
        (10, 256),
    ]
    assert [layer.kind for layer in conv2.layers] == ["conv", "conv", "fc", "fc", "output"]
    conv6 = models.build("conv6", (3, 32, 32), 10)
    assert conv6.layer("fc1").shape == (256, 256 * 4 * 4)


def test_glorot_normal_std():
    layer = models.Layer("fc", "fc", (300, 784))
    w = models.glorot_normal(layer, torch.Generator().manual_seed(0))
    assert float(w.std()) == pytest.approx(math.sqrt(2 / (300 + 784)), rel=0.02)
    assert abs(float(w.mean())) < 1e-3


def test_members_get_different_inits_from_different_seeds():
    arch = models.build("lenet", (1, 28, 28), 10)
    weights, _ = models.initialise(arch, [torch.Generator().manual_seed(k) for k in (0, 0, 1)], "cpu")
    assert torch.equal(weights["fc1"][0], weights["fc1"][1])
    assert not torch.equal(weights["fc1"][0], weights["fc1"][2])


def test_masked_linear_gradients_follow_the_reparametrisation():
    torch.manual_seed(0)
    h = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(2, 3, 4) > 0.5).double()
    frozen = torch.randn(2, 3, 4, dtype=torch.float64) * (1 - mask)
    out = models.MaskedLinear.apply(h, w, mask, frozen, b, torch.float64)
    reference = torch.baddbmm(b.unsqueeze(1), h, (w * mask + frozen).transpose(1, 2))
    assert out.dtype == torch.float32 and torch.allclose(out, reference.float(), atol=1e-6)
    grads = torch.autograd.grad(out.sin().sum(), (h, w, b))
    expected = torch.autograd.grad(reference.sin().sum(), (h, w, b))
    for got, want in zip(grads, expected):
        assert torch.allclose(got, want, atol=1e-5)
    assert torch.all(grads[1][mask == 0] == 0)


def test_a_trained_mask_gets_the_gradient_of_the_reparametrisation():
    torch.manual_seed(1)
    h = torch.randn(2, 5, 4, dtype=torch.float64)
    w = torch.randn(2, 3, 4, dtype=torch.float64)
    b = torch.randn(2, 3, dtype=torch.float64)
    mask = torch.rand(2, 3, 4, dtype=torch.float64, requires_grad=True)  # a relaxed, learned mask
    out = models.MaskedLinear.apply(h, w, mask, None, b, torch.float64)
    reference = torch.baddbmm(b.unsqueeze(1), h, (w * mask).transpose(1, 2))
    (got,) = torch.autograd.grad(out.sin().sum(), (mask,))
    (want,) = torch.autograd.grad(reference.sin().sum(), (mask,))
    assert torch.allclose(got, want, atol=1e-5) and got.abs().sum() > 0


def test_unknown_network_and_wrong_input():
    with pytest.raises(ValueError, match="'vgg'.*lenet"):
        models.build("vgg", (1, 28, 28), 10)
    with pytest.raises(ValueError, match="image inputs"):
        models.build("conv2", (40,), 10)


def test_conv_networks_need_3d_inputs_and_lenet_takes_1d():
    arch = models.build("lenet", (40,), 10)
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(0)], "cpu")
    out = models.forward(arch, weights, biases, torch.randn(1, 7, 40))
    assert out.shape == (1, 7, 10)
    assert F.softmax(out, -1).sum(-1).allclose(torch.ones(1, 7))


def test_the_benchmark_counts_the_flops_of_a_training_step_by_hand():
    lenet = models.build("lenet", (1, 28, 28), 10)
    forward = 784 * 300 + 300 * 100 + 100 * 10
    assert bench.training_flops(lenet) == 2 * 60 * (3 * forward - 784 * 300)  # no input gradient for layer 1
    conv2 = models.build("conv2", (3, 32, 32), 10)
    counts = dict(bench.multiply_adds(conv2))
    assert counts["conv1"] == 32 * 32 * 64 * 3 * 9 and counts["conv2"] == 32 * 32 * 64 * 64 * 9
    assert counts["fc1"] == 16 * 16 * 64 * 256  # after one 2x2 pooling


def test_the_benchmarks_bound_counts_flops_and_bytes_of_a_lenet_step():
    lenet = models.build("lenet", (1, 28, 28), 10)
    bound = bench.step_bound(lenet, product_gflops=100.0, bandwidth_gbs=10.0)
    assert bound["bytes"] == 36 * (784 * 300 + 300 * 100 + 100 * 10)
    assert bound["compute"] == pytest.approx(100e9 / bench.training_flops(lenet))
    assert bound["memory"] == pytest.approx(10e9 / bound["bytes"])
    assert 1 / bound["serial"] == pytest.approx(1 / bound["compute"] + 1 / bound["memory"])


def test_the_benchmarks_profile_shares_a_steps_time_among_its_parts(fashion):
    dataset = data.load("fashion-mnist", "cpu", train_subset=600, test_subset=60, val_size=60)
    lenet = models.build("lenet", dataset.input_shape, dataset.num_classes)
    shares = bench.profile_step(lenet, dataset, members=2, steps=5)
    assert set(shares) == {*bench.STEP_PARTS, "other operators", "Python and dispatch"}
    assert all(share >= 0 for share in shares.values())
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["products"] > 0.05 and shares["optimiser"] > 0


def test_the_benchmarks_grouped_convolution_computes_what_lthlib_computes(fashion):
    dataset = data.load("fashion-mnist", "cpu", train_subset=240, test_subset=60)
    arch = models.build("conv2", dataset.input_shape, dataset.num_classes)
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(k) for k in range(2)], "cpu")
    x = dataset.train.x[:120].reshape(2, 60, *dataset.input_shape)
    apart = bench._members_apart(arch, weights, biases, x, channels_last=False)
    for path, channels_last in ((bench._members_grouped, False), (bench._members_grouped, True)):
        torch.testing.assert_close(path(arch, weights, biases, x, channels_last), apart, rtol=1e-4, atol=1e-4)
    rows = bench.conv_layouts("conv2", dataset, members=2, steps=1, precisions=("float32",))
    assert {(r["path"], r["layout"]) for r in rows} == {
        (path, layout) for path in bench.CONV_PATHS for layout in ("contiguous", "channels-last")
    }


def test_the_benchmark_times_the_sign_probe_on_every_member():
    arch = models.build("lenet", (1, 28, 28), 10)
    assert 0 < bench.sign_probe_seconds(arch, 2, repeats=1) < 10


def test_the_benchmark_keeps_each_sides_best_round(fashion, monkeypatch):
    dataset = data.load("fashion-mnist", "cpu", train_subset=600, test_subset=60)
    textbook, lthlib = iter([100.0, 50.0, 80.0]), iter([90.0, 200.0, 150.0])
    monkeypatch.setattr(bench, "textbook_steps_per_second", lambda *args: next(textbook))
    monkeypatch.setattr(bench, "lthlib_steps_per_second", lambda *args: next(lthlib))
    row = bench.measure("lenet", members=2, steps=3, precisions=("float32",), dataset=dataset, rounds=3)
    assert (row["textbook"], row["float32"], row["ratio_float32"]) == (100.0, 200.0, 2.0)
    assert row["gflops_float32"] == 200.0 * bench.training_flops(models.build("lenet", (1, 28, 28), 10)) / 1e9
