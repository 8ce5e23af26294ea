"""The trainer: masks hold through training, members are independent, early stopping reads validation only."""

from __future__ import annotations

import dataclasses
import statistics
import warnings

import pytest
import torch
from sampling import BFLOAT16_TOO_SLOW

from lthlib.engine import data, models
from lthlib.engine.train import Cohort, TrainSettings, WeightTraining, early_stop_summary, train

SETTINGS = TrainSettings(optimizer="adam", lr=1.2e-3, batch_size=60, iterations=60, eval_every=20)


@pytest.fixture(scope="module")
def small(fashion):
    return data.load("fashion-mnist", "cpu", val_size=500, train_subset=2000, test_subset=500)


def cohort(arch, seeds, masks=None, frozen=None, data_seeds=None):
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(s) for s in seeds], "cpu")
    masks = masks or {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    return Cohort(weights, biases, masks, frozen or {}, data_seeds or list(seeds))


def random_masks(weights, keep=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.rand(w.shape, generator=g) < keep for n, w in weights.items()}


def test_pruned_weights_stay_zero_and_kept_weights_train(small):
    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0, 1])
    masks = random_masks(start.weights)
    trained = train(arch, small, dataclasses.replace(start, masks=masks), SETTINGS)
    for name, w in trained.weights.items():
        assert torch.all(w[~masks[name]] == 0)
        assert not torch.equal(w[masks[name]], start.weights[name][masks[name]])


def test_frozen_weights_stay_at_their_value(small):
    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0])
    masks = random_masks(start.weights)
    frozen = {n: w.clone() for n, w in start.weights.items()}  # freeze_init
    trained = train(arch, small, dataclasses.replace(start, masks=masks, frozen=frozen), SETTINGS)
    for name, w in trained.weights.items():
        assert torch.equal(w[~masks[name]], start.weights[name][~masks[name]])


class MaskedCopyTraining(WeightTraining):
    """Weight training as it was computed before pruned weights were kept at zero: a masked copy every step."""

    def start(self, cohort, device):
        state = super().start(cohort, device)
        state.weights = {name: w.detach().clone().requires_grad_() for name, w in cohort.weights.items()}
        state.zeroed = False
        return state


@pytest.mark.parametrize("frozen", [False, True])
def test_pruned_weights_kept_at_zero_train_bit_identically_to_a_masked_copy(small, frozen):
    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0, 1, 2])
    masks = random_masks(start.weights)
    start = dataclasses.replace(
        start, masks=masks, frozen={n: w.clone() for n, w in start.weights.items()} if frozen else {}
    )
    zeroed = train(arch, small, start, SETTINGS)
    copied = train(arch, small, start, SETTINGS, mode=MaskedCopyTraining())
    assert zeroed.curves == copied.curves
    for name, w in zeroed.weights.items():
        assert torch.equal(w, copied.weights[name])


# A convolutional cohort's evaluations cost far more than its steps on a CPU: Conv-2 is evaluated twice.
@pytest.mark.parametrize(
    "network, dropout, iterations, eval_every", [("lenet", 0.0, 60, 20), ("lenet", 0.5, 60, 20), ("conv2", 0.5, 6, 6)]
)
def test_a_member_trains_bit_identically_alone_or_in_a_cohort_of_eight(small, network, dropout, iterations, eval_every):
    arch = models.build(network, small.input_shape, 10)
    settings = dataclasses.replace(SETTINGS, dropout=dropout, iterations=iterations, eval_every=eval_every)
    together = train(arch, small, cohort(arch, list(range(8))), settings)
    alone = train(arch, small, cohort(arch, [5]), settings)
    assert together.curves[5] == alone.curves[0]
    for name, w in alone.weights.items():
        assert torch.equal(together.weights[name][5], w[0])
    assert together.curves[4]["val_loss"] != together.curves[5]["val_loss"]


def test_dropout_noise_differs_between_members_and_is_paired_by_data_seed(small):
    arch = models.build("lenet", small.input_shape, 10)
    settings = dataclasses.replace(SETTINGS, dropout=0.5)
    same_seed = train(arch, small, cohort(arch, [1, 1], data_seeds=[7, 7]), settings)
    assert same_seed.curves[0] == same_seed.curves[1]
    other_noise = train(arch, small, cohort(arch, [1, 1], data_seeds=[7, 8]), settings)
    assert other_noise.curves[0] != other_noise.curves[1]


def test_training_is_deterministic_and_learns(small):
    arch = models.build("lenet", small.input_shape, 10)
    a = train(arch, small, cohort(arch, [0]), SETTINGS)
    b = train(arch, small, cohort(arch, [0]), SETTINGS)
    assert a.curves == b.curves
    assert a.curves[0]["iteration"] == [0, 20, 40, 60]
    assert a.curves[0]["train_loss"][0] is None
    assert a.curves[0]["val_acc"][-1] > 0.6 > a.curves[0]["val_acc"][0]


def test_snapshot_for_rewinding(small):
    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0])
    trained = train(arch, small, start, SETTINGS, snapshot_at=10)
    short = train(arch, small, start, dataclasses.replace(SETTINGS, iterations=10, eval_every=10))
    weights, _ = trained.snapshot
    for name in weights:
        assert torch.allclose(weights[name], short.weights[name])


def test_early_stop_reads_the_lowest_validation_loss():
    curve = {
        "iteration": [0, 100, 200, 300],
        "val_loss": [2.3, 0.5, 0.4, 0.45],
        "val_acc": [0.1, 0.8, 0.85, 0.84],
        "test_acc": [0.1, 0.79, 0.83, 0.9],
    }
    assert early_stop_summary(curve) == {"iteration": 200, "val_loss": 0.4, "val_acc": 0.85, "test_acc": 0.83}


def test_sgd_with_warmup_runs(small):
    arch = models.build("lenet", small.input_shape, 10)
    settings = dataclasses.replace(SETTINGS, optimizer="sgd", lr=0.1, warmup=20)
    trained = train(arch, small, cohort(arch, [0]), settings)
    assert trained.curves[0]["val_acc"][-1] > 0.5


slow_bfloat16 = pytest.mark.skipif(
    BFLOAT16_TOO_SLOW,
    reason="bfloat16 is not native on this CPU: a convolutional network in bfloat16 takes minutes (LTHLIB_FULL=1)",
)


@pytest.mark.parametrize(
    "network, steps, subset", [("lenet", 300, 5000), pytest.param("conv2", 60, 1000, marks=slow_bfloat16)]
)
def test_bfloat16_stays_within_the_noise_of_float32(small, fashion, network, steps, subset):
    """bfloat16 products must not change what a short run learns beyond seed-to-seed noise."""
    dataset = data.load("fashion-mnist", "cpu", val_size=1000, train_subset=subset, test_subset=1000)
    arch = models.build(network, dataset.input_shape, 10)
    settings = TrainSettings("adam", 1.2e-3 if network == "lenet" else 2e-4, 60, steps, steps)
    seeds = [0, 1, 2]
    accuracy = {}
    for precision in ("float32", "bfloat16"):
        trained = train(arch, dataset, cohort(arch, seeds), dataclasses.replace(settings, precision=precision))
        accuracy[precision] = [c["test_acc"][-1] for c in trained.curves]
    spread = max(statistics.stdev(accuracy["float32"]), 0.005)
    gap = abs(statistics.mean(accuracy["float32"]) - statistics.mean(accuracy["bfloat16"]))
    assert gap < 3 * spread, accuracy
    assert min(accuracy["bfloat16"]) > 0.6


class BiasesOnly(WeightTraining):
    """A training mode that plugs into the trainer: only biases train, weights stay at their start."""

    def trainable(self, state):
        for w in state.weights.values():
            w.requires_grad_(False)
        return list(state.biases.values())


def test_a_training_mode_decides_what_is_trained(small):
    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0, 1])
    trained = train(arch, small, start, SETTINGS, mode=BiasesOnly())
    for name, w in trained.weights.items():
        assert torch.equal(w, start.weights[name])
        assert not torch.equal(trained.biases[name], start.biases[name])
    assert trained.curves[0]["val_loss"][-1] < trained.curves[0]["val_loss"][0]


def test_a_cohort_too_large_for_one_step_trains_in_groups_with_the_same_results(small, monkeypatch):
    from lthlib.engine import train as trainer
    from lthlib.engine.supermask import EdgePopup

    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0, 1, 2, 3, 4])
    settings = dataclasses.replace(SETTINGS, iterations=30, eval_every=10)
    monkeypatch.setitem(trainer.MEMBERS_PER_STEP, ("cpu", "fully-connected"), None)
    whole = train(arch, small, start, settings, snapshot_at=10)
    whole_masks = train(arch, small, start, settings, mode=EdgePopup(0.5))
    monkeypatch.setitem(trainer.MEMBERS_PER_STEP, ("cpu", "fully-connected"), 2)  # three groups: 2, 1 and 2 members
    steps = []
    grouped = train(arch, small, start, settings, snapshot_at=10, progress=steps.append)
    assert len(steps) == 30
    assert grouped.curves == whole.curves
    for got, expected in ((grouped.weights, whole.weights), (grouped.snapshot[0], whole.snapshot[0])):
        assert all(torch.equal(got[name], expected[name]) for name in expected)
    grouped_masks = train(arch, small, start, settings, mode=EdgePopup(0.5))
    assert all(torch.equal(grouped_masks.masks[n], whole_masks.masks[n]) for n in whole_masks.masks)


@slow_bfloat16
def test_a_convolutional_cohort_trains_in_pairs_on_a_cpu_with_the_same_results(small, monkeypatch):
    from lthlib.engine import train as trainer

    arch = models.build("conv2", small.input_shape, 10)
    assert trainer.members_per_step(arch, "cpu") == 2 and trainer.members_per_step(arch, "cuda") is None
    start = cohort(arch, [0, 1, 2])
    settings = dataclasses.replace(SETTINGS, iterations=4, eval_every=2, precision="bfloat16")
    paired = train(arch, small, start, settings)
    monkeypatch.setitem(trainer.MEMBERS_PER_STEP, ("cpu", "convolutional"), None)
    whole = train(arch, small, start, settings)
    # Within bfloat16 rounding: channels-last bfloat16 convolutions may split their sums differently with the
    # group's size and the threads (on 2 threads a member alone and in a group of three differ in the last bits),
    # and on processors whose bfloat16 matrix units (AMX) block a product by its batch, so may the products.
    for alone, together in zip(paired.curves, whole.curves):
        assert alone["iteration"] == together["iteration"]
        assert alone["train_loss"][1:] == pytest.approx(together["train_loss"][1:], rel=1e-2, abs=1e-2)
        for key in ("val_loss", "test_loss", "val_acc", "test_acc"):
            assert alone[key] == pytest.approx(together[key], rel=1e-2, abs=1e-2), key
    for name in whole.weights:
        difference = (paired.weights[name] - whole.weights[name]).abs().max().item()
        assert difference <= 2**-8 * whole.weights[name].abs().max().item(), (name, difference)


def test_bfloat16_without_native_support_warns_that_float32_trains_faster(small, monkeypatch):
    from lthlib.engine import train as trainer

    arch = models.build("lenet", small.input_shape, 10)
    settings = dataclasses.replace(SETTINGS, iterations=2, eval_every=2, precision="bfloat16")
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with pytest.warns(RuntimeWarning, match="no native support.*-p conv_precision float32"):
        train(arch, small, cohort(arch, [0]), settings)
    assert trainer.bfloat16_is_native(torch.device("cuda"))  # a GPU is not second-guessed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(arch, small, cohort(arch, [0]), dataclasses.replace(settings, precision="float32"))
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
        train(arch, small, cohort(arch, [0]), settings)


def test_a_probe_records_statistics_of_each_members_weights_at_every_evaluation(small, monkeypatch):
    from lthlib.engine import train as trainer

    arch = models.build("lenet", small.input_shape, 10)
    start = cohort(arch, [0, 1, 2])
    settings = dataclasses.replace(SETTINGS, iterations=30, eval_every=10)

    def flipped(weights, chosen):  # the fraction of fc1's weights whose sign differs from θ0
        initial = start.weights["fc1"][chosen.start : chosen.stop]
        return {"flipped": ((weights["fc1"] > 0) != (initial > 0)).flatten(1).float().mean(1).tolist()}

    plain = train(arch, small, start, settings)
    probed = train(arch, small, start, settings, probe=flipped)
    flips = [curve.pop("flipped") for curve in probed.curves]
    assert probed.curves == plain.curves  # probing changes nothing it measures
    assert all(f[0] == 0.0 and f[-1] > 0 for f in flips)
    monkeypatch.setitem(
        trainer.MEMBERS_PER_STEP, ("cpu", "fully-connected"), 2
    )  # groups of 2 and 1: the probe sees the right members
    grouped = train(arch, small, start, settings, probe=flipped)
    assert [curve["flipped"] for curve in grouped.curves] == flips


def test_a_member_with_its_own_learning_rate_trains_as_alone_at_that_rate(small):
    arch = models.build("lenet", small.input_shape, 10)
    mixed = dataclasses.replace(cohort(arch, [0, 1, 2]), lr_scale=[1.0, 0.1, 1.0])
    together = train(arch, small, mixed, SETTINGS)
    slower = train(arch, small, cohort(arch, [1]), dataclasses.replace(SETTINGS, lr=SETTINGS.lr * 0.1))
    at_rate = train(arch, small, cohort(arch, [0]), SETTINGS)
    assert together.curves[1] == slower.curves[0] and together.curves[0] == at_rate.curves[0]
    assert together.curves[1] != train(arch, small, cohort(arch, [1]), SETTINGS).curves[0]
