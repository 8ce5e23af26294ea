"""The Zhou et al. chapters' parameters, sweeps, frames and claims."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import torch

from lthlib.analysis import chapter, claims, parameters, summary, supermasks, zhou
from lthlib.analysis.parameters import ParameterError
from lthlib.engine import joint, levels, train


def test_a_list_parameter_names_the_bad_item_and_every_valid_one():
    with pytest.raises(ParameterError) as error:
        chapter.open(scale="smoke", criteria="large_final,largest")
    message = str(error.value)
    assert "criteria names 'largest'" in message and "magnitude_increase" in message and "movement" in message
    with pytest.raises(ParameterError, match="names one twice"):
        chapter.open(scale="smoke", criteria="random,random")
    with pytest.raises(ParameterError, match="names none"):
        chapter.open(scale="smoke", criteria=" , ")
    with pytest.raises(ParameterError, match="valid: names separated by commas"):
        chapter.open(scale="smoke", supermask_methods=3)
    assert chapter.open(scale="smoke", mask1_actions="").parameters.mask1_actions == ""  # no actions is allowed


def test_the_zhou_chapters_have_their_own_defaults_at_book_scale():
    knobs = dict(iterations=None, eval_every=None, levels=None)
    zhou_book = chapter.open(name="deconstructing", **knobs).parameters
    assert (zhou_book.iterations, zhou_book.eval_every, zhou_book.levels) == (15_000, 250, 10)
    assert chapter.open(name="lottery-ticket", **knobs).parameters.levels == parameters.SCALE_DEFAULTS["book"]["levels"]
    conv = dict(criteria_conv=None, conv_levels=None, conv_criteria=None)
    deconstructing = chapter.open(name="deconstructing", **conv).parameters
    assert (deconstructing.criteria_conv, deconstructing.conv_levels) == ("conv2", 3)
    assert deconstructing.conv_criteria.split(",") == [
        "large_final",
        "small_final",
        "magnitude_increase",
        "movement",
        "random",
    ]
    assert (
        chapter.open(name="deconstructing", scale="smoke", conv_criteria=None).parameters.conv_criteria.count(",") == 8
    )
    with pytest.raises(ParameterError, match="conv_criteria.*large_magnitude"):
        chapter.open(name="deconstructing", conv_criteria="large_final,large_magnitude")
    lists = dict(criteria=None, criteria_conv=None, conv_criteria=None)
    for name in ("criteria", "conv_criteria"):
        with pytest.raises(ParameterError, match=f"{name}='large_final,movement'.*includes random"):
            chapter.open(name="deconstructing", **{**lists, name: "large_final,movement"})
    assert chapter.open(name="deconstructing", criteria=None, criteria_conv="", conv_criteria="movement")  # not run
    assert chapter.open(name="lottery-ticket", conv_levels=None).parameters.conv_levels == 6
    assert chapter.open(name="deconstructing", iterations=20_000, eval_every=None).parameters.iterations == 20_000
    with pytest.raises(ParameterError, match="name='zhou'.*deconstructing"):
        chapter.open(name="zhou")


def test_the_network_parameter_sets_every_sweep_of_the_chapters_and_is_refused_where_it_cannot_run():
    knobs = dict(criteria=None, mask1_actions=None, mask0_actions=None, criteria_conv="conv2", conv_criteria=None)
    groups = zhou.sweeps(chapter.open(name="deconstructing", scale="smoke", network="conv2", **knobs))
    main_sweeps = ("criteria", "untrained", "mask1", "mask0")
    assert {fields["network"] for group in main_sweeps for fields in groups[group].values()} == {"conv2"}
    assert groups["conv_criteria"] == {}  # the convolutional section would repeat the main sweeps
    lenet = zhou.sweeps(chapter.open(name="deconstructing", scale="smoke", network=None, **knobs))
    assert lenet["criteria"]["random"]["network"] == "lenet" and set(lenet["conv_criteria"]) == set(
        parameters.ZHOU_CRITERIA
    )
    learned = dict(supermask_methods=None, supermask_starts=None, supermask_iterations=None, supermask_eval_every=None)
    masks_book = chapter.open(name="supermasks", scale="smoke", network="conv2", **learned)
    assert {fields["network"] for fields in supermasks.learned_fields(masks_book).values()} == {"conv2"}
    with pytest.raises(ParameterError, match="network='resnet' is not valid; valid: lenet, conv2, conv4, conv6"):
        chapter.open(name="deconstructing", scale="smoke", network="resnet")
    with pytest.raises(ParameterError, match="network='conv2' is not valid for mnist1d: a convolutional network"):
        chapter.open(name="deconstructing", dataset="mnist1d", scale="smoke", network="conv2")
    with pytest.raises(ParameterError, match="network does not apply to chapter 'lottery-ticket'"):
        chapter.open(name="lottery-ticket", scale="smoke", network="conv2")


def test_sweeps_too_large_to_train_together_stop_the_chapter_before_any_work(monkeypatch):
    monkeypatch.setattr(joint, "physical_memory", lambda: 2**30)  # 1 GiB
    knobs = dict(criteria=None, mask1_actions=None, mask0_actions=None, criteria_conv=None, conv_criteria=None)
    with pytest.raises(ParameterError, match="network='conv2', trials=5 .* not valid together at scale book"):
        chapter.open(name="deconstructing", network="conv2", **knobs)


def test_actions_need_the_large_final_tickets_they_are_compared_with():
    with pytest.raises(ParameterError) as error:
        chapter.open(scale="smoke", criteria="random", mask1_actions="reinit")
    assert "criteria='random'" in str(error.value) and "include large_final" in str(error.value)
    assert chapter.open(scale="smoke", criteria="random", mask1_actions="", mask0_actions="")  # no actions: fine
    with pytest.raises(ParameterError) as error:
        chapter.open(scale="smoke", levels=2, action_levels=3, criteria=None, mask0_actions="freeze_init")
    assert "action_levels=3" in str(error.value) and "from 1 to 2" in str(error.value)
    fewer = chapter.open(name="deconstructing", levels=4, action_levels=None, criteria=None, mask1_actions=None)
    assert fewer.parameters.action_levels == 4  # the scale's 8 rounds, cut to the 4 given


def smoke_book(tmp_path, dataset="fashion-mnist", **knobs):
    defaults = dict(
        criteria="large_final,random",
        conv_criteria="large_final,random",
        mask1_actions="signed_constant",
        mask0_actions="freeze_init",
        action_levels=1,
        levels=2,
        iterations=60,
        eval_every=20,
    )
    return chapter.open(
        name="deconstructing",
        dataset=dataset,
        scale="smoke",
        store=str(tmp_path),
        allow_train=True,
        **{**defaults, **knobs},
    )


def test_every_sweep_of_the_chapters_can_train_together(tmp_path):
    groups = zhou.sweeps(smoke_book(tmp_path))
    assert list(groups["criteria"]) == ["large_final", "random"]
    untrained = groups["untrained"]
    assert {fields["experiment"] for fields in untrained.values()} == {"untrained"}
    assert sorted(untrained) == sorted(
        f"{name}{suffix}"
        for name in ("large_final", "random", "large_final_same_sign")
        for suffix in ("", ", signed constant")
    )
    assert groups["mask1"]["signed_constant"]["criterion"] == "large_final"
    assert groups["mask1"]["signed_constant"]["levels"] == 1 and groups["criteria"]["random"]["levels"] == 2
    book = smoke_book(tmp_path)
    configs = [
        book.config(**fields)
        for group, members in groups.items()
        if group != "untrained"
        for fields in members.values()
    ]
    assert len(joint.check_joint(configs)) == 4  # all distinct, all differing only in their arm fields
    with pytest.raises(joint.JointError, match="experiment='untrained' cannot train with others"):
        joint.check_joint([*configs, book.config(**untrained["random"])])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fashion):
    book = smoke_book(tmp_path_factory.mktemp("zhou"))
    return book, zhou.results(book, groups=("criteria", "untrained", "mask1", "mask0"))


def test_the_sweeps_share_their_dense_networks_and_match_a_masked_init_computed_independently(trained):
    book, found = trained
    dense = [
        [run["early_stop"]["test_acc"] for run in record["runs"] if run["level"] == 0]
        for group in found.values()
        for record in group.values()
    ]
    assert all(accuracies == dense[0] for accuracies in dense)  # one dense training, shared by every sweep

    label = supermasks.SAME_SIGN_CONSTANT
    untrained = zhou.sweeps(book)["untrained"]
    config = book.config(**untrained[label])
    masks = book.store.load_masks(config)
    # one mask per criterion, pruned one-shot from the dense networks, whatever the kept weights start from
    assert masks.keys() == book.store.load_masks(book.config(**untrained["large_final_same_sign"])).keys()
    for key, mask in book.store.load_masks(book.config(**untrained["large_final_same_sign"])).items():
        assert np.array_equal(masks[key], mask)
    dataset = levels.load_data(config, "cpu")
    arch = levels.architecture(config, dataset)
    initial, biases = levels.dense_start(config, arch, "cpu")
    level = 2
    weights = {
        layer.name: torch.stack(
            [
                torch.sign(initial[layer.name][t])
                * initial[layer.name][t].std()  # signed constant, by hand
                * torch.from_numpy(masks[levels.mask_key(level, "ticket", t, layer.name)])
                for t in range(config.trials)
            ]
        )
        for layer in arch.layers
    }
    _, accuracy = train.evaluate(arch, weights, biases, dataset.test)
    frame = summary.runs_frame(found["untrained"][label])
    stored = frame[(frame["level"] == level)].sort_values("trial")["init_test_acc"].to_numpy()
    np.testing.assert_allclose(stored, accuracy.numpy(), atol=1e-6)
    assert (stored > 0.3).all()  # far above chance even after 60 iterations of training for the mask
    pruned = [run for run in found["untrained"][label]["runs"] if run["level"] > 0]
    assert pruned and all(run["curve"]["iteration"] == [0] for run in pruned)  # evaluated, never trained


def test_the_chapter_frames_label_each_sweep_and_keep_the_action_levels(trained):
    book, found = trained
    mask1 = zhou.frame(zhou.with_reference(found, "mask1", "original"), levels=book.parameters.action_levels)
    assert set(mask1["arm"]) == {"original", "signed_constant"}
    assert mask1["level"].max() == 1
    init = supermasks.at_init(zhou.frame(found["untrained"]))
    assert (init["early_stop_test_acc"] == init["init_test_acc"]).all() and not init["stopped_at_last_evaluation"].any()
    starts = supermasks.by_start(init)
    assert list(starts) == ["initial values", "signed constants"]
    for shown in starts.values():  # each start's rows, labelled by criterion alone
        assert set(shown["arm"]) == {"large_final", "random", "large_final_same_sign"}
    assert len(starts["initial values"]) + len(starts["signed constants"]) == len(init)


def frame(accuracies: dict, validation: dict | None = None, percents=(100.0, 80.0, 64.0)) -> pd.DataFrame:
    """Hand-made runs: ``{arm: [[trial accuracies] per level]}``; validation accuracies likewise, else the test's."""
    rows = []
    for arm, per_level in accuracies.items():
        for level, values in enumerate(per_level):
            for trial, value in enumerate(values):
                val = (validation or accuracies)[arm][level][trial]
                rows.append(
                    dict(
                        arm=arm,
                        level=level,
                        trial=trial,
                        percent=percents[level],
                        early_stop_test_acc=value,
                        early_stop_val_acc=val,
                        init_test_acc=value,
                        init_val_acc=val,
                        early_stop_iteration=100,
                        stopped_at_last_evaluation=False,
                        run=f"{arm}/{level}/{trial}",
                    )
                )
    return pd.DataFrame(rows)


NO_LEARNED = pd.DataFrame(columns=["arm", "level"])


def test_the_level_of_a_masked_init_is_chosen_on_validation_never_on_test():
    _, constant = supermasks.SAME_SIGN
    test = {constant: [[0.1] * 5, [0.9, 0.91, 0.9, 0.92, 0.9], [0.5, 0.52, 0.49, 0.5, 0.51]]}
    validation = {constant: [[0.1] * 5, [0.5] * 5, [0.8] * 5]}
    assert supermasks.best_level(frame(test, validation), constant) == 2
    (above,) = supermasks.supermask_claims(frame(test, validation), NO_LEARNED)
    assert above.kind == "above chance" and above.percent == 64.0  # the validation's level, not the test's 90 %
    assert above.verdict == "supported" and above.difference().startswith("+40.")
    at_chance = frame({constant: [[0.1] * 5, [0.11, 0.09, 0.1, 0.12, 0.08], [0.1, 0.1, 0.11, 0.09, 0.1]]})
    assert supermasks.supermask_claims(at_chance, NO_LEARNED)[0].verdict == "inconclusive"


NOISE = [0.0, 0.004, -0.003, 0.002, -0.001]


def judged(wanted, runs):
    return claims.judge([j for claim in wanted for j in claims.tested(claim, runs)])


def test_the_criteria_zhou_et_al_find_to_work_are_judged_against_random_at_the_deepest_size():
    base = [0.80 + n for n in NOISE]
    runs = frame(
        {
            "random": [base, base, base],
            "large_final": [base, [b + 0.02 for b in base], [b + 0.03 + n for b, n in zip(base, NOISE)]],
            "small_final": [base, [b - 0.05 for b in base], [b - 0.04 for b in base]],
        }
    )
    assert zhou.judged_sizes(runs) == (64.0,)  # no size of Frankle & Carbin's figures within reach: the deepest
    found = judged(zhou.criteria_claims(runs), runs)
    assert [(j.claim.a, j.percent, j.verdict) for j in found] == [("large_final", 64.0, "supported")]
    assert found[0].kind == zhou.AGAINST_RANDOM  # small_final: the paper makes no claim, and neither does the book


def test_magnitude_increase_is_judged_not_worse_within_half_of_what_large_final_gains_over_random():
    base = [0.80 + n for n in NOISE]
    close = [b + 0.028 for b in base]  # 0.2 points below large_final, whose gain over random is 3 points
    runs = frame(
        {
            "random": [base] * 3,
            "large_final": [base, base, [b + 0.03 for b in base]],
            "magnitude_increase": [base, base, close],
        }
    )
    found = {j.kind: j for j in judged(zhou.criteria_claims(runs), runs)}
    verdict = found["magnitude_increase against large_final"]
    assert verdict.verdict == "supported"
    assert verdict.row()["margin"] == "1.50 points: half of large_final − random (+3.00 here)"
    far = frame(
        {
            "random": [base] * 3,
            "large_final": [base, base, [b + 0.03 for b in base]],
            "magnitude_increase": [base, base, base],
        }
    )
    assert {j.kind: j for j in judged(zhou.criteria_claims(far), far)}[
        "magnitude_increase against large_final"
    ].verdict == "contradicted"  # 3 points below it: surely worse than the margin allows
    nothing = frame({"random": [base] * 3, "large_final": [base] * 3, "magnitude_increase": [base] * 3})
    assert {j.kind: j for j in judged(zhou.criteria_claims(nothing), nothing)}[
        "magnitude_increase against large_final"
    ].verdict.startswith("not judged")  # large_final gains nothing over random: nothing to be as good at


def test_the_criteria_on_a_convolutional_network_name_it_and_are_judged_at_every_level():
    base = [0.70 + n for n in NOISE]
    runs = frame(
        {
            "large_final": [base, [b + 0.02 for b in base], [b + 0.02 for b in base]],
            "magnitude_increase": [base, [b + 0.021 + n for b, n in zip(base, NOISE)], [b + 0.02 for b in base]],
            "random": [base, base, base],
        }
    )
    found = judged(zhou.criteria_claims(runs, "Conv-2"), runs)
    assert all(j.claim.says.startswith("On Conv-2, ") for j in found)
    assert [(j.claim.a, j.percent) for j in found] == [
        ("large_final", 80.0),
        ("large_final", 64.0),
        ("magnitude_increase", 80.0),
        ("magnitude_increase", 64.0),
        ("magnitude_increase", 80.0),
        ("magnitude_increase", 64.0),
    ]
    assert {j.verdict for j in found if j.kind == zhou.AGAINST_RANDOM} == {"supported"}


def test_starts_without_the_signs_must_lose_and_starts_with_them_are_judged_against_both():
    base = [0.80 + n for n in NOISE]
    runs = frame(
        {
            "original": [base, [b + 0.01 for b in base], [b + 0.01 for b in base]],
            "reinit": [base, [b - 0.02 for b in base], [b - 0.02 for b in base]],
            "signed_reinit": [base, [b + 0.009 for b in base], [b + 0.0095 for b in base]],
        }
    )
    tables = {name: judged(wanted, runs) for name, wanted in zhou.mask1_claims(runs).items()}
    assert {j.verdict for j in tables["mask-1 without signs"]} == {"supported"}  # the reinit control loses
    by_kind = {}
    for j in tables["mask-1 with signs"]:
        by_kind.setdefault(j.kind, []).append(j.verdict)
    assert by_kind == {"signed_reinit against original": ["supported"], "signed_reinit against reinit": ["supported"]}


def test_a_learned_supermask_is_set_beside_the_ticket_nearest_its_density():
    base = [0.85, 0.86, 0.84, 0.85, 0.86]
    criteria = frame({"large_final": [base, [0.87] * 5, [0.86] * 5]}, percents=(100.0, 80.0, 51.2))
    learned = frame({"bernoulli, original": [[0.80, 0.81, 0.79, 0.80, 0.81]]}, percents=(55.0,))
    row = supermasks.learned_table(learned, criteria).iloc[0]
    assert row["ticket at"] == "51.2 %" and row["weights kept (%)"] == "55.0"
    assert row["minus trained dense (points)"] == "-5.00 [-5.00, -5.00]"
    assert row["minus that ticket (points)"].startswith("-5.80")
    sampled = learned.assign(early_stop_density=[0.75, 0.77, 0.79, 0.81, 0.83])  # expected density at early stop
    row = supermasks.learned_table(sampled, criteria).iloc[0]
    assert row["ticket at"] == "80.0 %" and row["weights kept (%)"] == "79.0"


def test_the_learned_supermasks_are_every_method_from_every_start():
    book = types.SimpleNamespace(
        main_network="lenet",
        parameters=types.SimpleNamespace(
            supermask_methods="bernoulli,edge_popup",
            supermask_starts="original,signed_constant",
            supermask_iterations=300,
            supermask_eval_every=None,
        ),
    )
    fields = supermasks.learned_fields(book)
    assert list(fields) == [
        "bernoulli, original",
        "bernoulli, signed_constant",
        "edge_popup, original",
        "edge_popup, signed_constant",
    ]
    assert fields["edge_popup, signed_constant"] == dict(
        experiment="supermask", network="lenet", supermask="edge_popup", mask1="signed_constant", iterations=300
    )


def test_the_supermasks_are_set_against_the_large_final_sweep_whatever_the_criteria(tmp_path):
    book = smoke_book(tmp_path, criteria="random,movement", mask1_actions="", mask0_actions="")
    reference = zhou.reference_fields(book)
    assert reference == {**zhou.sweeps(book)["criteria"]["random"], "criterion": "large_final"}


def test_the_learned_curves_label_each_record_and_keep_only_its_supermask_runs():
    def record(accuracies):
        curve = lambda acc: {"iteration": [0, 10], "test_acc": acc, "density": [0.5, 0.4]}  # noqa: E731
        runs = [
            {"arm": "supermask", "level": 0, "trial": t, "remaining": 1.0, "curve": curve(a)}
            for t, a in enumerate(accuracies)
        ]
        return {"runs": [*runs, {"arm": "ticket", "level": 1, "trial": 0, "remaining": 0.8, "curve": curve([0, 0])}]}

    curves = supermasks.learned_curves(
        {"bernoulli, original": record([[0.1, 0.7]]), "edge_popup, original": record([[0.1, 0.5], [0.1, 0.6]])}
    )
    assert curves.groupby("arm").size().to_dict() == {"bernoulli, original": 2, "edge_popup, original": 4}
    last = curves[curves["iteration"] == 10].groupby("arm")["test_acc"].mean()
    assert last.round(6).to_dict() == {"bernoulli, original": 0.7, "edge_popup, original": 0.55}


def test_the_settings_box_names_the_chapters_paper(tmp_path):
    book = chapter.open(name="supermasks", scale="smoke", store=str(tmp_path))
    book.used.append(
        {
            "config": book.config(experiment="dense", network="lenet").to_dict(),
            "provenance": {"device": "cpu", "threads": 2},
        }
    )
    table = book.settings_table()
    assert list(table.columns) == ["setting", "this chapter", "Zhou et al."]
    assert "440,000 iterations" in table.set_index("setting").loc["training length", "Zhou et al."]


def test_the_chapters_verdicts_come_grouped_by_section(trained):
    book, found = trained
    groups = zhou.verdicts(found, book.parameters.action_levels)
    assert set(groups) == {"criteria", "mask-1 without signs", "mask-1 with signs", "mask-0", "conv criteria"}
    assert groups["conv criteria"] == []  # no convolutional network named
    assert {j.kind for j in groups["criteria"]} == {zhou.AGAINST_RANDOM}
    assert groups["mask-1 with signs"] == []  # signed_constant alone: no start without the signs to set it against


def test_the_criteria_run_on_a_convolutional_network_only_when_named_and_with_images(tmp_path):
    conv = smoke_book(tmp_path, criteria_conv="conv2", conv_levels=1, conv_trials=1, conv_criteria="movement,random")
    groups = zhou.sweeps(conv)
    assert list(groups["conv_criteria"]) == ["movement", "random"]  # its own criteria, not those of the main sweeps
    assert {fields["network"] for fields in groups["conv_criteria"].values()} == {"conv2"}
    assert not zhou.sweeps(smoke_book(tmp_path, criteria_conv=""))["conv_criteria"]
    assert not zhou.sweeps(smoke_book(tmp_path, dataset="mnist1d", criteria_conv="conv2"))["conv_criteria"]
    with pytest.raises(ParameterError, match="criteria_conv='resnet'.*conv2, conv4, conv6"):
        smoke_book(tmp_path, criteria_conv="resnet")


def test_the_supermask_sentences_name_the_best_mask_chosen_on_validation():
    untrained = frame(
        {
            "large_final": [[0.10] * 5, [0.40] * 5, [0.30] * 5],
            "large_final, signed constant": [[0.10] * 5, [0.50] * 5, [0.60] * 5],
        },
        validation={
            "large_final": [[0.10] * 5, [0.42] * 5, [0.29] * 5],
            "large_final, signed constant": [[0.10] * 5, [0.48] * 5, [0.55] * 5],
        },
    )
    assert supermasks.best_untrained_sentence(untrained) == (
        "Chosen on validation, the best untrained masked networks are, with initial values, large_final at 80.0 % "
        "of the weights: 40.0 % test accuracy; with signed constants, large_final at 64.0 % of the weights: 60.0 % "
        "test accuracy (chance is 10 %)."
    )
    learned = frame({"bernoulli, original": [[0.80] * 5], "edge_popup, original": [[0.82] * 5]}, percents=(50.0,))
    sampled = learned.assign(early_stop_density=[0.30] * 5 + [0.45] * 5)  # the expected sizes at the early stop
    assert supermasks.best_learned_sentence(sampled).endswith("its mask keeping 45.0 % of the weights.")
    assert supermasks.best_learned_sentence(learned) == (
        "Chosen on validation, the best learned supermask is edge_popup, original: 82.0 % test accuracy, its mask "
        "keeping 50.0 % of the weights."
    )


def test_every_learned_supermask_is_judged_against_the_untrained_mask_of_its_start():
    same_sign, constant = supermasks.SAME_SIGN
    init = frame({same_sign: [[0.1] * 5, [0.30] * 5, [0.25] * 5], constant: [[0.1] * 5, [0.40] * 5, [0.45] * 5]})
    learned = frame(
        {
            "bernoulli, original": [[0.80 + n for n in NOISE]],
            "edge_popup, original": [[0.85 + n for n in NOISE]],
            "bernoulli_rescaled, signed_constant": [[0.90 + n for n in NOISE]],
        },
        percents=(50.0,),
    )
    judged = {j.claim.a: j for j in supermasks.supermask_claims(init, learned) if j.kind == "learned beats untrained"}
    assert {name: j.claim.b for name, j in judged.items()} == {
        "bernoulli_rescaled, signed_constant": constant,
        "bernoulli, original": same_sign,
        "edge_popup, original": same_sign,
    }
    assert {j.verdict for j in judged.values()} == {"supported"}
    assert judged["bernoulli_rescaled, signed_constant"].percent == 64.0  # the untrained mask's validation level
    assert judged["edge_popup, original"].claim.where.startswith("the book's question")  # not Zhou et al.'s


def test_the_stop_sentence_ranks_the_arms_by_their_mean_early_stop_at_the_deepest_level():
    runs = frame({"random": [[0.8] * 5] * 3, "large_final": [[0.8] * 5] * 3})
    runs.loc[runs["level"] == 0, "early_stop_iteration"] = 5000
    runs.loc[(runs["level"] == 2) & (runs["arm"] == "random"), "early_stop_iteration"] = [6000, 6000, 6500, 6500, 7000]
    runs.loc[(runs["level"] == 2) & (runs["arm"] == "large_final"), "early_stop_iteration"] = 2500
    sentence = zhou.stops_at_deepest(runs)
    assert "dense network reaches its lowest validation loss at iteration 5,000" in sentence
    assert sentence.endswith(
        "(64.0 % of the weights), the tickets of each arm reach theirs at: large_final 2,500; random 6,400."
    )
