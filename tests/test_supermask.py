"""Learned supermasks: straight-through gradients, frozen weights, mask density, top-k, and the stored experiment."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lthlib.engine import data, experiments, models, verify
from lthlib.engine.config import ConfigError, ExperimentConfig, resolve
from lthlib.engine.store import Store
from lthlib.engine.supermask import BernoulliSupermask, EdgePopup, kept_count, top_k_mask
from lthlib.engine.train import Cohort, TrainSettings, train

SETTINGS = TrainSettings(optimizer="sgd", lr=100.0, batch_size=60, iterations=40, eval_every=20)


@pytest.fixture(scope="module")
def small(fashion):
    return data.load("fashion-mnist", "cpu", val_size=500, train_subset=2000, test_subset=500)


def one_layer(weights: torch.Tensor, data_seeds=(3,)) -> Cohort:
    """A cohort of a single layer named ``output``: ``weights`` (K, out, in), zero biases."""
    ones = torch.ones_like(weights, dtype=torch.bool)
    biases = torch.zeros(weights.shape[0], weights.shape[1])
    return Cohort({"output": weights}, {"output": biases}, {"output": ones}, {}, list(data_seeds))


def lenet_cohort(arch, seeds) -> Cohort:
    weights, biases = models.initialise(arch, [torch.Generator().manual_seed(s) for s in seeds], "cpu")
    full = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    return Cohort(weights, biases, full, {}, list(seeds))


def test_bernoulli_straight_through_gradient_reaches_the_scores_through_the_sigmoid():
    w = torch.tensor([[[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]]])  # (K=1, out=2, in=3)
    h = torch.tensor([[[1.0, 2.0, 3.0], [-1.0, 1.0, 0.5]]])  # (K=1, B=2, in=3)
    mode = BernoulliSupermask()
    state = mode.start(one_layer(w), "cpu")
    weights, biases, masks, _ = mode.network(state)
    assert set(masks["output"].unique().tolist()) <= {0.0, 1.0}  # the forward value is a 0/1 sample
    out = models.MaskedLinear.apply(h, weights["output"], masks["output"], None, biases["output"], torch.float32)
    out.sum().backward()
    # dL/dm_ij = sum_b h_bj w_ij; sigmoid'(0) = 1/4
    expected = h[0].sum(0).unsqueeze(0) * w[0] * 0.25
    assert torch.allclose(state.extra["scores"]["output"].grad[0], expected)


def test_edge_popup_straight_through_gradient_is_that_of_the_mask_times_the_sign_of_the_score():
    w = torch.tensor([[[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]]])
    h = torch.tensor([[[1.0, 2.0, 3.0], [-1.0, 1.0, 0.5]]])
    mode = EdgePopup(density=0.5)
    state = mode.start(one_layer(w), "cpu")
    scores = state.extra["scores"]["output"]
    weights, biases, masks, _ = mode.network(state)
    out = models.MaskedLinear.apply(h, weights["output"], masks["output"], None, biases["output"], torch.float32)
    out.sum().backward()
    expected = h[0].sum(0).unsqueeze(0) * w[0] * torch.sign(scores.detach()[0])
    assert torch.allclose(scores.grad[0], expected)


def test_top_k_keeps_exactly_the_largest_scores_of_each_member():
    scores = torch.tensor([[0.1, -0.9, 0.3, 0.05, -0.4, 0.2], [0.6, 0.01, -0.02, -0.7, 0.03, 0.5]])
    assert kept_count(6, 0.5) == 3 and kept_count(10, 0.25) == 3 and kept_count(5, 0.01) == 1
    mask = top_k_mask(scores, 0.5)
    assert mask.tolist() == [[0, 1, 1, 0, 1, 0], [1, 0, 0, 1, 0, 1]]
    big = torch.randn(3, 300, 784, generator=torch.Generator().manual_seed(0))
    counts = top_k_mask(big, 0.3).flatten(1).sum(1)
    assert counts.tolist() == [kept_count(300 * 784, 0.3)] * 3


def test_a_sampled_bernoulli_mask_has_the_expected_density():
    w = torch.ones(1, 400, 500)
    mode = BernoulliSupermask()
    state = mode.start(one_layer(w), "cpu")
    probability = 0.3
    with torch.no_grad():
        state.extra["scores"]["output"].fill_(torch.logit(torch.tensor(probability)).item())
    assert mode.measure(state)["density"] == pytest.approx([probability])
    drawn = mode.network(state)[2]["output"].detach()
    assert drawn.mean().item() == pytest.approx(probability, abs=0.005)  # 200,000 draws: sd 0.001
    again = mode.network(state)[2]["output"].detach()
    assert not torch.equal(drawn, again)  # a new mask every step


def test_rescaling_multiplies_each_layer_by_its_size_over_the_kept_count():
    w = torch.ones(2, 100, 100)
    mode = BernoulliSupermask(rescale=True)
    state = mode.start(one_layer(w, data_seeds=(1, 2)), "cpu")
    weights, _, masks, _ = mode.network(state)
    for k in range(2):
        kept = masks["output"][k].detach().sum().item()
        assert weights["output"][k, 0, 0].item() == pytest.approx(10_000 / kept)


@pytest.mark.parametrize(
    "mode, lr", [(BernoulliSupermask(), 100.0), (BernoulliSupermask(rescale=True), 100.0), (EdgePopup(0.5), 0.1)]
)
def test_frozen_weights_never_move_and_the_mask_learns(small, mode, lr):
    arch = models.build("lenet", small.input_shape, 10)
    start = lenet_cohort(arch, [0, 1])
    trained = train(arch, small, start, dataclasses.replace(SETTINGS, lr=lr), mode=mode)
    for name, effective in trained.weights.items():
        for k in range(2):
            kept = effective[k] != 0
            ratio = effective[k][kept] / start.weights[name][k][kept]
            if getattr(mode, "rescale", False):  # one factor per member and layer: its size over the kept count
                assert torch.allclose(ratio, ratio[:1].expand_as(ratio)) and ratio[0] > 1
            else:
                assert torch.equal(ratio, torch.ones_like(ratio))
        assert trained.masks[name].dtype == torch.bool
        assert torch.equal(trained.biases[name], start.biases[name])
    curve = trained.curves[0]
    assert curve["test_acc"][-1] > 0.5 > curve["test_acc"][0]
    assert len(curve["density"]) == len(curve["iteration"])


def test_a_supermask_member_trains_bit_identically_alone_or_in_a_cohort(small):
    arch = models.build("lenet", small.input_shape, 10)
    settings = dataclasses.replace(SETTINGS, iterations=20, eval_every=10)
    together = train(arch, small, lenet_cohort(arch, [4, 5, 6]), settings, mode=BernoulliSupermask(rescale=True))
    alone = train(arch, small, lenet_cohort(arch, [5]), settings, mode=BernoulliSupermask(rescale=True))
    assert together.curves[1] == alone.curves[0]


@pytest.mark.parametrize(
    "changes, named",
    [
        (dict(criterion="movement"), "criterion='movement' does not apply to experiment='supermask'"),
        (dict(density=0.3), "density=0.3 does not apply to supermask='bernoulli'"),
        (dict(supermask="top_k"), "supermask='top_k' is not valid; valid: bernoulli, bernoulli_rescaled, edge_popup"),
        (dict(supermask="edge_popup", density=1.5), "density=1.5 must lie strictly between 0 and 1"),
        (dict(experiment="imp", supermask="edge_popup"), "supermask='edge_popup' does not apply to experiment='imp'"),
        (dict(schedule="step"), "schedule='step' is not valid; valid: constant, cosine"),
        (dict(weight_decay=-1.0), "weight_decay=-1.0 must be a number >= 0"),
    ],
)
def test_bad_supermask_settings_are_refused_by_name(changes, named):
    with pytest.raises(ConfigError) as error:
        resolve(ExperimentConfig(**{"experiment": "supermask", "scale": "smoke", **changes}))
    assert named in str(error.value)


def test_supermask_settings_default_to_their_papers():
    zhou = resolve(ExperimentConfig(experiment="supermask", scale="paper"))
    assert (zhou.optimizer, zhou.lr, zhou.batch_size, zhou.iterations) == ("sgd", 100.0, 250, 440_000)
    popup = resolve(ExperimentConfig(experiment="supermask", supermask="edge_popup", scale="paper"))
    assert (popup.lr, popup.batch_size, popup.weight_decay, popup.schedule, popup.density) == (
        0.1,
        128,
        1e-4,
        "cosine",
        0.5,
    )
    pruning = resolve(ExperimentConfig(experiment="imp", weight_decay=0.0, schedule="constant"))
    assert pruning == resolve(ExperimentConfig(experiment="imp"))  # the same computation, the same record


def test_a_stored_supermask_resumes_without_recomputing_and_verifies(fashion, tmp_path):
    store = Store(tmp_path)
    config = ExperimentConfig(experiment="supermask", supermask="edge_popup", scale="smoke", mask1="signed_constant")
    record = experiments.result(config, store)
    assert {run["arm"] for run in record["runs"]} == {"supermask"}
    assert [run["remaining"] for run in record["runs"]] == [0.5, 0.5]
    masks = store.load_masks(resolve(config))
    assert sorted(masks) == sorted(f"level0/supermask/{t}/{name}" for t in range(2) for name in record["layers"])
    again = experiments.result(config, store, allow_train=False)
    assert again == record
    report = verify.verify(store.directory(resolve(config)), steps=50)
    assert report.ok, report.lines()
