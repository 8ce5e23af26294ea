"""Iterative and one-shot pruning end to end on real Fashion-MNIST (smoke scale)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from lthlib.engine import experiments, joint, levels, masks, provenance, resume, verify
from lthlib.engine.config import ConfigError, config_hash, resolve
from lthlib.engine.kinds import borrowed, imp, oneshot
from lthlib.engine.store import Store, StoreError, unpack_masks
from lthlib.engine.train import Cohort, TrainSettings, train


def runs(record, level=None, arm=None):
    return [r for r in record["runs"] if (level is None or r["level"] == level) and (arm is None or r["arm"] == arm)]


def test_smoke_imp_finds_tickets_well_above_chance(smoke_record):
    tickets = runs(smoke_record, level=2, arm="ticket")
    assert len(tickets) == 2
    assert all(r["early_stop"]["test_acc"] > 0.7 for r in tickets)  # chance is 0.1


def test_record_holds_levels_arms_and_curves(smoke_record, smoke_config):
    config = resolve(smoke_config)
    assert smoke_record["hash"] == config_hash(config)
    assert [r["arm"] for r in runs(smoke_record, level=1)] == ["ticket"] * 2 + ["reinit"] * 2 + ["random_prune"] * 2
    assert len(runs(smoke_record, level=0)) == 2
    curve = runs(smoke_record, level=1)[0]["curve"]
    assert curve["iteration"] == [0, 50, 100, 150, 200]
    for key in ("train_loss", "val_loss", "val_acc", "test_loss", "test_acc"):
        assert len(curve[key]) == 5
    provenance = smoke_record["provenance"]
    assert {"torch", "device", "threads", "wall_seconds", "lthlib"} <= set(provenance)


def test_kept_counts_per_layer_are_exact_after_each_round(smoke_record, smoke_store, smoke_config):
    stored = smoke_store.load_masks(smoke_config)
    sizes = {name: torch.Size(shape).numel() for name, shape in smoke_record["layers"].items()}
    rates = {"fc1": 0.2, "fc2": 0.2, "output": 0.1}
    for level in (1, 2):
        for run in runs(smoke_record, level=level):
            for name, total in sizes.items():
                assert run["kept"][name] == masks.surviving_after(total, rates[name], level)
        for trial in (0, 1):
            for name in sizes:
                mask = stored[levels.mask_key(level, "ticket", trial, name)]
                previous = stored[levels.mask_key(level - 1, "ticket", trial, name)]
                assert int(mask.sum()) == masks.surviving_after(sizes[name], rates[name], level)
                assert not (mask & ~previous).any()  # pruned weights stay pruned
    # the paper's reference: 0.8 * 0.8 of the fc weights after two rounds
    assert runs(smoke_record, level=2)[0]["remaining"] == pytest.approx(0.64, abs=0.002)


def test_controls_really_differ_from_the_ticket(smoke_config, fashion):
    config = resolve(smoke_config)
    dataset = levels.load_data(config, "cpu")
    arch = levels.architecture(config, dataset)
    weights, biases = levels.dense_start(config, arch, "cpu")
    final = {n: w + torch.randn_like(w) * 0.1 for n, w in weights.items()}
    alive = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    ticket = levels.ticket_masks(config, arch, 0, 1, alive, weights, final)
    arm_masks = levels.with_controls(config, 1, ticket)
    cohort = levels.level_cohort(config, 1, arm_masks, (weights, biases), final)
    t = config.trials
    ticket_start, reinit_start, random_start = (cohort.weights["fc1"][i * t] for i in range(3))
    ticket_mask, reinit_mask, random_mask = (cohort.masks["fc1"][i * t] for i in range(3))
    assert torch.equal(ticket_start, weights["fc1"][0])  # the winning-ticket reset
    assert torch.equal(reinit_mask, ticket_mask)  # same mask ...
    assert not torch.allclose(reinit_start[ticket_mask], ticket_start[ticket_mask])  # ... other values
    assert int(random_mask.sum()) == int(ticket_mask.sum())  # same count ...
    assert (random_mask != ticket_mask).float().mean() > 0.2  # ... other places
    assert torch.equal(random_start, weights["fc1"][0])
    assert cohort.data_seeds[0] == cohort.data_seeds[t] == cohort.data_seeds[2 * t]  # paired data order


def test_rewinding_resets_to_the_weights_of_iteration_k(smoke_config, fashion, tmp_path):
    config = resolve(smoke_config.replace(rewind=50, levels=1, controls=()))
    dataset = levels.load_data(config, "cpu")
    arch = levels.architecture(config, dataset)
    state = levels.dense_level(config, arch, dataset, "cpu")
    weights, biases = levels.dense_start(config, arch, "cpu")
    full = {n: torch.ones_like(w, dtype=torch.bool) for n, w in weights.items()}
    first_50 = train(
        arch,
        dataset,
        Cohort(weights, biases, full, {}, levels.data_seeds(config, 0, config.trials)),
        dataclasses.replace(TrainSettings.from_config(config), iterations=50),
    )
    for name in weights:
        assert torch.equal(state.reset_weights[name], first_50.weights[name])
        assert torch.equal(state.reset_biases[name], first_50.biases[name])
    rewound = runs(experiments.result(config, Store(tmp_path)), level=1, arm="ticket")
    reset = runs(experiments.result(config.replace(rewind=0), Store(tmp_path)), level=1, arm="ticket")
    assert rewound[0]["curve"]["val_loss"][0] < reset[0]["curve"]["val_loss"][0]


def test_oneshot_prunes_straight_to_each_size(smoke_config, fashion, tmp_path):
    config = smoke_config.replace(experiment="oneshot", levels=3, controls=("random_prune",))
    record = experiments.result(config, Store(tmp_path))
    fc1 = torch.Size(record["layers"]["fc1"]).numel()
    for level in (1, 2, 3):
        for run in runs(record, level=level):
            assert run["kept"]["fc1"] == masks.surviving_after(fc1, 0.2, level)
    assert all(r["early_stop"]["test_acc"] > 0.7 for r in runs(record, level=3, arm="ticket"))


def test_untrained_masks_are_the_one_shot_masks_evaluated_before_any_training(
    smoke_config, fashion, tmp_path, monkeypatch
):
    config = resolve(smoke_config.replace(experiment="untrained", levels=3, controls=()))
    store = Store(tmp_path)
    monkeypatch.setattr(oneshot, "_SHARED_DENSE", {})
    sizes = trained_cohort_sizes(monkeypatch)
    untrained = experiments.result(config, store)
    constant = experiments.result(config.replace(mask1="signed_constant"), store)
    assert sizes == [config.trials, 3 * config.trials, 3 * config.trials]  # one dense training for both
    oneshot_config = config.replace(experiment="oneshot")
    one_shot = experiments.result(oneshot_config, store)
    assert store.load_masks(config).keys() == store.load_masks(oneshot_config).keys()
    for key, mask in store.load_masks(oneshot_config).items():
        assert np.array_equal(store.load_masks(config)[key], mask)
        assert np.array_equal(store.load_masks(config.replace(mask1="signed_constant"))[key], mask)
    for level in (1, 2, 3):
        for before, retrained in zip(runs(untrained, level=level), runs(one_shot, level=level)):
            assert before["curve"]["iteration"] == [0]
            assert before["curve"]["test_acc"] == retrained["curve"]["test_acc"][:1]
    assert runs(constant, level=3)[0]["curve"]["test_acc"] != runs(untrained, level=3)[0]["curve"]["test_acc"]
    # a shortened dense level (as verify trains one) is neither taken from the cache nor kept in it
    dataset = levels.load_data(config, "cpu")
    short = levels.first_level(config, levels.architecture(config, dataset), dataset, "cpu", iterations=20)
    assert all(run["curve"]["iteration"][-1] == 20 for run in short.runs)
    monkeypatch.setattr(oneshot, "_SHARED_DENSE", {})
    levels.first_level(config, levels.architecture(config, dataset), dataset, "cpu", iterations=20)
    assert oneshot._SHARED_DENSE == {}


def test_untrained_masks_refuse_controls_and_frozen_weights_by_name(smoke_config):
    with pytest.raises(ConfigError, match="controls='reinit' does not apply to experiment='untrained'"):
        resolve(smoke_config.replace(experiment="untrained", controls=("reinit",)))
    with pytest.raises(ConfigError, match="mask0='freeze_init' does not apply.*valid: zero"):
        resolve(smoke_config.replace(experiment="untrained", controls=(), mask0="freeze_init"))
    with pytest.raises(ConfigError, match="rewind=10 does not apply to experiment='untrained'.*valid: 0"):
        resolve(smoke_config.replace(experiment="untrained", controls=(), rewind=10))


def test_dense_experiment_trains_only_level_zero(smoke_config, fashion, tmp_path):
    record = experiments.result(smoke_config.replace(experiment="dense"), Store(tmp_path))
    assert {r["level"] for r in record["runs"]} == {0}
    assert record["config"]["levels"] == 0 and record["config"]["controls"] == []


def test_data_seed_changes_the_data_order_and_keeps_the_initial_weights(smoke_config, fashion):
    dense = smoke_config.replace(experiment="dense", iterations=60, eval_every=20, trials=2)
    assert resolve(dense.replace(data_seed=dense.seed)) == resolve(dense)  # the same run, so the same record
    alone, reordered = (experiments.compute(config, None) for config in (dense, dense.replace(data_seed=7)))
    for a, b in zip(alone["runs"], reordered["runs"]):
        assert a["curve"]["val_loss"][0] == b["curve"]["val_loss"][0]  # same θ0: identical before training
        assert a["curve"]["val_loss"][1:] != b["curve"]["val_loss"][1:]  # another order of the data after


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_without_recomputing(smoke_config, fashion, tmp_path, monkeypatch):
    config = smoke_config.replace(levels=4, controls=("reinit",))
    store = Store(tmp_path)
    real_checkpoint = Store.save_checkpoint
    saved = []

    def stop_after_level_two(store_, config_, level, state):
        real_checkpoint(store_, config_, level, state)
        saved.append(level)
        if level == 2:
            raise Interrupt

    monkeypatch.setattr(Store, "save_checkpoint", stop_after_level_two)
    with pytest.raises(Interrupt):
        experiments.result(config, store)
    assert saved == [0, 1, 2] and store.load(config) is None
    assert sorted(p.name for p in store.directory(config).glob("checkpoint-*.pt")) == [
        "checkpoint-1.pt",
        "checkpoint-2.pt",
    ]

    trained_levels = []
    real_level = levels.imp_level

    def counting(config_, arch, state, level):
        trained_levels.append(level)
        return real_level(config_, arch, state, level)

    first_code = provenance.code_version()
    edited_code = {**first_code, "lthlib_sha256": "0" * 16}
    monkeypatch.setattr(provenance, "code_version", lambda: edited_code)  # the library changed in between
    monkeypatch.setattr(Store, "save_checkpoint", real_checkpoint)
    monkeypatch.setattr(imp, "imp_level", counting)
    resumed = experiments.result(config, store)
    assert trained_levels == [3, 4]
    assert resumed["provenance"]["code"] == [{"from_level": 0, **first_code}, {"from_level": 3, **edited_code}]

    monkeypatch.setattr(imp, "imp_level", real_level)
    uninterrupted = experiments.compute(config, None)
    assert resumed["runs"] == uninterrupted["runs"]
    assert uninterrupted["provenance"]["code"] == [{"from_level": 0, **edited_code}]
    assert not list(store.directory(config).glob("checkpoint*"))


def test_the_code_version_changes_with_any_change_to_the_library_source(tmp_path):
    copy = tmp_path / "lthlib"
    shutil.copytree(provenance.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert provenance.source_digest(copy) == provenance.code_version()["lthlib_sha256"]
    (copy / "engine" / "masks.py").write_text((copy / "engine" / "masks.py").read_text() + "\n")
    edited = provenance.source_digest(copy)
    (copy / "engine" / "masks.py").rename(copy / "analysis" / "masks.py")  # the same file in another layer
    moved = provenance.source_digest(copy)
    assert len({provenance.code_version()["lthlib_sha256"], edited, moved}) == 3


def test_a_tampered_checkpoint_is_reported_and_its_level_recomputed(
    smoke_config, fashion, tmp_path, monkeypatch, capsys
):
    config = smoke_config.replace(levels=3, controls=())
    store = Store(tmp_path)
    real_checkpoint = Store.save_checkpoint

    def stop_after_level_two(store_, config_, level, state):
        real_checkpoint(store_, config_, level, state)
        if level == 2:
            raise Interrupt

    monkeypatch.setattr(Store, "save_checkpoint", stop_after_level_two)
    with pytest.raises(Interrupt):
        experiments.result(config, store)
    newest = store.directory(config) / "checkpoint-2.pt"
    blob = bytearray(newest.read_bytes())
    blob[-100] ^= 0xFF  # one flipped byte inside the saved weights
    newest.write_bytes(bytes(blob))
    (store.directory(config) / ".record.json.x1y2.tmp").write_text("left by a kill")

    trained_levels = []
    real_level = levels.imp_level
    monkeypatch.setattr(Store, "save_checkpoint", real_checkpoint)
    monkeypatch.setattr(
        imp, "imp_level", lambda c, a, s, level: trained_levels.append(level) or real_level(c, a, s, level)
    )
    resumed = experiments.result(config, store)
    assert trained_levels == [2, 3]  # level 2 recomputed from the good checkpoint of level 1
    assert "checkpoint-2.pt is not trusted (checksum mismatch); level 2 will be recomputed" in capsys.readouterr().err
    assert (store.directory(config) / "checkpoint-2.pt.corrupt").exists()
    assert not list(store.directory(config).glob(".*.tmp"))
    monkeypatch.setattr(imp, "imp_level", real_level)
    assert resumed["runs"] == experiments.compute(config, None)["runs"]


def test_killed_process_resumes_from_its_last_finished_level(fashion, tmp_path):
    """A real SIGKILL mid-run; the second run reports where it resumed and finishes the same record."""
    args = [
        sys.executable,
        "-m",
        "lthlib",
        "run",
        "imp",
        "--scale",
        "smoke",
        "--levels",
        "4",
        "--iterations",
        "100",
        "--controls",
        "reinit",
        "--store",
        str(tmp_path),
        "--device",
        "cpu",
    ]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    found = []
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and not found:
        found = list(tmp_path.glob("imp/*/checkpoint-*.pt"))
        time.sleep(0.05)
    assert found, "the run finished or failed before writing a checkpoint"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    directory = found[0].parent
    level = max(int(p.stem.split("-")[1]) for p in directory.glob("checkpoint-*.pt"))
    assert 0 <= level < 4
    finished = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"resuming after finished level {level}" in finished.stderr
    record = Store.read_record(directory / "record.json")
    assert sorted({r["level"] for r in record["runs"]}) == list(range(5))
    assert set(unpack_masks((directory / "masks.npz").read_bytes())) >= {"level4/ticket/0/fc1"}


def trained_cohort_sizes(monkeypatch) -> list[int]:
    """The size of every cohort trained from now on (filled as ``levels.train`` is called)."""
    sizes, original = [], levels.train

    def counting(arch, dataset, cohort, *args, **kwargs):
        sizes.append(cohort.size)
        return original(arch, dataset, cohort, *args, **kwargs)

    monkeypatch.setattr(levels, "train", counting)
    return sizes


def same_runs_and_masks(store_a, record_a, store_b, record_b, config):
    assert [(r["level"], r["arm"], r["trial"], r["kept"], r["curve"]) for r in record_a["runs"]] == [
        (r["level"], r["arm"], r["trial"], r["kept"], r["curve"]) for r in record_b["runs"]
    ]
    masks_a, masks_b = store_a.load_masks(config), store_b.load_masks(config)
    assert masks_a.keys() == masks_b.keys()
    assert all((masks_a[key] == masks_b[key]).all() for key in masks_a)


@pytest.mark.parametrize("rewind", [0, 50])
def test_a_longer_sweep_extends_a_stored_shorter_one_exactly(smoke_config, fashion, tmp_path, monkeypatch, rewind):
    config = resolve(smoke_config.replace(rewind=rewind, levels=2))
    extended_store, scratch_store = Store(tmp_path / "extended"), Store(tmp_path / "scratch")
    shorter = experiments.result(config.replace(levels=1), extended_store)
    sizes = trained_cohort_sizes(monkeypatch)
    extended = experiments.result(config, extended_store)
    # the dense run up to k when rewinding, then level 2 with both controls: level 1's tickets come from the record
    assert sizes == ([2] if rewind else []) + [6]
    assert extended["provenance"]["extended_from"]["hash"] == shorter["hash"]
    assert extended["provenance"]["wall_seconds"] > shorter["provenance"]["wall_seconds"]
    scratch = experiments.result(config, scratch_store)
    same_runs_and_masks(extended_store, extended, scratch_store, scratch, config)


def test_a_record_without_kept_weights_extends_by_training_its_last_tickets_again(
    smoke_config, fashion, tmp_path, monkeypatch
):
    config = resolve(smoke_config.replace(levels=2, controls=("reinit",)))
    store = Store(tmp_path)
    shorter = experiments.result(config.replace(levels=1), store)
    written_before = {key: value for key, value in shorter.items() if key != "weights_sha256"}
    store.save(config.replace(levels=1), written_before, store.load_masks(config.replace(levels=1)))
    assert store.load_weights(config.replace(levels=1)) is None
    sizes = trained_cohort_sizes(monkeypatch)
    extended = experiments.result(config, store)
    assert sizes == [2, 4]  # level 1's 2 tickets again, then level 2
    assert extended["provenance"]["extended_from"]["hash"] == shorter["hash"]
    assert runs(extended, level=1) == runs(shorter, level=1)


def test_kept_weights_are_checked_and_only_lenet_sweeps_keep_them(smoke_config, fashion, tmp_path):
    config = resolve(smoke_config.replace(levels=1, controls=()))
    store = Store(tmp_path)
    record = experiments.result(config, store)
    kept = store.load_weights(config)
    assert sorted(kept) == sorted(f"{kind}/{name}" for kind in ("weights", "biases") for name in record["layers"])
    assert kept["weights/fc1"].shape == (config.trials, 300, 784) and kept["weights/fc1"].dtype == np.float32
    assert (kept["weights/fc1"][0][~store.load_masks(config)["level1/ticket/0/fc1"]] == 0).all()
    path = store.directory(config) / "weights.npz"
    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreError, match="weights.npz: does not match the checksum"):
        store.load(config)
    assert not resume.keeps_final_weights(config.replace(network="conv2"))
    assert not resume.keeps_final_weights(config.replace(mask0="freeze_init_zero_mask"))


def test_a_shorter_sweep_that_does_not_reproduce_is_not_extended(smoke_config, fashion, tmp_path, monkeypatch, capsys):
    config = resolve(smoke_config.replace(levels=2, controls=("reinit",)))
    store = Store(tmp_path)
    shorter = experiments.result(config.replace(levels=1), store)
    without_weights = {key: value for key, value in shorter.items() if key != "weights_sha256"}
    store.save(config.replace(levels=1), without_weights, store.load_masks(config.replace(levels=1)))
    sizes, original = [], levels.train

    def drifting_first(arch, dataset, cohort, *args, **kwargs):  # the retrained tickets come out a bit off
        trained = original(arch, dataset, cohort, *args, **kwargs)
        if not sizes:
            trained.curves[1]["val_loss"][-1] += 1e-6
        sizes.append(cohort.size)
        return trained

    monkeypatch.setattr(levels, "train", drifting_first)
    record = experiments.result(config, store)
    assert f"stored 1-level sweep {shorter['hash']} does not reproduce here" in capsys.readouterr().err
    assert "extended_from" not in record["provenance"]
    assert sizes == [2, 2, 4, 4]  # the 2 tickets checked, then dense, level 1 and level 2 from the start
    assert runs(record, level=1) == runs(shorter, level=1)


def test_sweeps_trained_together_equal_sweeps_trained_alone(smoke_config, fashion, tmp_path, monkeypatch):
    base = resolve(smoke_config.replace(levels=2, controls=()))
    configs = [
        base.replace(controls=("reinit",)),
        base.replace(criterion="movement", levels=1),
        base.replace(mask1="signed_constant"),
        base.replace(mask0="freeze_init_zero_mask"),
        resolve(base.replace(controls=("rewind", "finetune_low"), levels=1)),
    ]
    together_store, alone_store = Store(tmp_path / "together"), Store(tmp_path / "alone")
    sizes = trained_cohort_sizes(monkeypatch)
    together = joint.compute_together(configs, together_store)
    # one dense level for all (with the rewind control's snapshot), then round 1 (5 x 2 tickets, 2 reinit, 2 rewound,
    # 2 fine-tuned) and round 2 (movement and the controls' sweep have finished)
    assert sizes == [2, 16, 8]
    for config, record in zip(configs, together):
        alone = experiments.result(config, alone_store)
        same_runs_and_masks(together_store, record, alone_store, alone, config)
        others = sorted(r["hash"] for r in together if r is not record)
        assert record["provenance"]["trained_with"] == others
    sizes.clear()
    assert joint.compute_together(configs, together_store) == together and sizes == []  # read, not retrained


def test_sweeps_trained_together_resume_after_the_last_finished_round(smoke_config, fashion, tmp_path, monkeypatch):
    base = resolve(smoke_config.replace(levels=2, controls=()))
    configs = [base, base.replace(criterion="movement")]
    store, original = Store(tmp_path), levels.train
    rounds = []

    def interrupted_in_round_2(*args, **kwargs):
        if len(rounds) == 2:
            raise RuntimeError("interrupted")
        rounds.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(levels, "train", interrupted_in_round_2)
    with pytest.raises(RuntimeError, match="interrupted"):
        joint.compute_together(configs, store)
    monkeypatch.setattr(levels, "train", original)
    sizes = trained_cohort_sizes(monkeypatch)

    class Bar:
        resumed_at, steps = [], 0

        def resumed(self, level):
            self.resumed_at.append(level)

        def advance(self, steps):
            self.steps += steps

    bar = Bar()
    records = joint.compute_together(configs, store, progress=bar)
    assert sizes == [4]  # only round 2: the dense level and round 1 came from the checkpoints
    assert bar.resumed_at == [1] and bar.steps == base.iterations
    assert [r["provenance"]["resumed_after_levels"] for r in records] == [[1], [1]]
    assert [[entry["from_level"] for entry in r["provenance"]["code"]] for r in records] == [[0, 2], [0, 2]]


def test_sweeps_that_differ_in_a_shared_setting_are_refused_by_name(smoke_config):
    with pytest.raises(joint.JointError, match="lr=0.01 differs from lr=0.0012"):
        joint.check_joint([smoke_config, smoke_config.replace(lr=0.01, criterion="movement")])
    with pytest.raises(joint.JointError, match="experiment='oneshot' cannot train with others"):
        joint.check_joint([smoke_config, smoke_config.replace(experiment="oneshot")])


@pytest.mark.parametrize("mask0", ["freeze_init", "freeze_init_zero_mask", "freeze_init_zero_away"])
def test_pruned_weights_frozen_by_mask0_hold_their_values_through_iterative_pruning(smoke_config, fashion, mask0):
    config = resolve(smoke_config.replace(levels=2, controls=(), mask0=mask0))
    state, _ = imp.run_imp(config, None, "cpu")
    w0 = levels.dense_start(config, levels.architecture(config, levels.load_data(config, "cpu")), "cpu")[0]
    for name, start in state.start.items():
        pruned = ~state.alive[name]
        assert pruned.any()
        frozen = start[pruned]
        assert torch.equal(frozen[frozen != 0], w0[name][pruned][frozen != 0])
        if mask0 == "freeze_init":
            assert torch.equal(frozen, w0[name][pruned])


@pytest.mark.parametrize("mask0", ["freeze_init", "freeze_init_zero_mask", "freeze_init_zero_away", "freeze_final"])
def test_a_pruned_weight_keeps_the_value_it_was_given_when_it_was_pruned(smoke_config, fashion, mask0, monkeypatch):
    config = resolve(smoke_config.replace(levels=3, controls=(), mask0=mask0))
    cohorts, original = [], levels.train

    def keeping(arch, dataset, cohort, *args, **kwargs):
        cohorts.append(cohort)
        return original(arch, dataset, cohort, *args, **kwargs)

    monkeypatch.setattr(levels, "train", keeping)
    imp.run_imp(config, None, "cpu")
    for earlier, later in zip(cohorts[1:], cohorts[2:]):
        for name, frozen in earlier.frozen.items():
            pruned_before = ~earlier.masks[name].bool()
            assert pruned_before.any() and (frozen[pruned_before] != 0).any()
            assert torch.equal(later.frozen[name][pruned_before], frozen[pruned_before])


def test_sweeps_too_large_to_train_together_are_refused_before_any_work(smoke_config, monkeypatch):
    monkeypatch.setattr(joint, "physical_memory", lambda: 2**28)  # 256 MiB; one smoke sweep needs about 120 MB
    configs = [smoke_config.replace(criterion=c) for c in ("large_final", "movement", "random")]
    joint.check_joint(configs[:1])
    with pytest.raises(joint.JointError, match="3 sweeps trained together would need about 0.3 GiB"):
        joint.check_joint(configs)


def test_a_borrowing_run_in_a_readers_own_store_reads_its_source_sweep_from_the_fallback(
    smoke_config, fashion, tmp_path, monkeypatch
):
    book = Store(tmp_path / "book")
    config = resolve(smoke_config.replace(experiment="swap", levels=2, trials=3, iterations=60, eval_every=20))
    experiments.result(borrowed.source_sweep(config), book)
    sizes = trained_cohort_sizes(monkeypatch)
    experiments.result(config, Store(tmp_path / "mine", fallback=book))
    assert sizes == [3, 6]  # its own dense level, then levels 1 and 2 together: the source is not trained again


def test_a_swap_trains_each_trial_the_mask_another_trial_found(smoke_config, fashion, tmp_path):
    store = Store(tmp_path)
    config = smoke_config.replace(experiment="swap", levels=2, trials=3, iterations=60, eval_every=20)
    swap = experiments.result(config, store)
    source = borrowed.source_sweep(config)
    own, moved = store.load_masks(source), store.load_masks(config)
    for level in (1, 2):
        for trial in range(3):
            donor = (trial + 1) % 3
            for layer in swap["layers"]:
                got = moved[levels.mask_key(level, "swapped", trial, layer)]
                assert np.array_equal(got, own[levels.mask_key(level, "ticket", donor, layer)])
                assert not np.array_equal(got, own[levels.mask_key(level, "ticket", trial, layer)])
    dense = [run["curve"] for run in swap["runs"] if run["level"] == 0]
    assert dense == [run["curve"] for run in store.load(source)["runs"] if run["level"] == 0 and run["arm"] == "ticket"]
    assert {run["arm"] for run in swap["runs"] if run["level"] > 0} == {"swapped"}
    with pytest.raises(ConfigError, match="controls='reinit'.*swap"):
        resolve(config.replace(controls=("reinit",)))
    with pytest.raises(ConfigError, match="mask0='freeze_final'.*swap.*valid: zero, freeze_init"):
        resolve(config.replace(mask0="freeze_final"))
    report = verify.verify(store.directory(resolve(config)), steps=20, all_levels=True)
    assert report.ok, report


def test_a_sign_probe_that_does_not_reproduce_its_source_stops_with_the_run_it_could_not_repeat(
    smoke_config, fashion, tmp_path, capsys
):
    store = Store(tmp_path)
    config = resolve(smoke_config.replace(experiment="signs", levels=2, trials=2, iterations=60, eval_every=20))
    source = borrowed.source_sweep(config)
    record = experiments.result(source, store)
    for run in record["runs"]:
        if (run["level"], run["trial"]) == (1, 1):
            run["curve"]["val_loss"][-1] += 1e-6  # as if trained elsewhere, a bit off
    store.save(source, record, store.load_masks(source))
    with pytest.raises(borrowed.SourceMismatch, match="level 1, trial 1 does not reproduce the stored run"):
        experiments.result(config, store)
    # in a reader's store in front of that one, the source is trained again there and the probe goes on
    mine = Store(tmp_path / "mine", fallback=store)
    probed = experiments.result(config, mine)
    assert "training the source sweep here" in capsys.readouterr().err
    assert (mine.directory(source) / "record.json").exists() and len(probed["runs"]) == 2 * 2


def test_the_sign_probe_retrains_the_source_runs_and_counts_flips_by_hand(smoke_config, fashion, tmp_path):
    store = Store(tmp_path)
    config = resolve(smoke_config.replace(experiment="signs", levels=3, trials=2, iterations=60, eval_every=20))
    probed = experiments.result(config, store)
    source = store.load(borrowed.source_sweep(config))
    assert sorted({run["level"] for run in probed["runs"]}) == [0, 1, 2]  # each level but the last has a next mask
    for run in probed["runs"]:
        twin = next(
            r for r in source["runs"] if (r["level"], r["arm"], r["trial"]) == (run["level"], "ticket", run["trial"])
        )
        assert {k: run["curve"][k] for k in twin["curve"]} == twin["curve"]  # the same training, plus the probe
        assert all(
            run["curve"][key][0] == 0.0 for key in ("kept_flipped", "kept_grew", "pruned_flipped", "pruned_grew")
        )

    # level 0 by hand: the dense networks' final weights against θ0, in the group the first round prunes
    dataset = levels.load_data(config, "cpu")
    arch = levels.architecture(config, dataset)
    initial, biases = levels.dense_start(config, arch, "cpu")
    full = {name: torch.ones_like(w, dtype=torch.bool) for name, w in initial.items()}
    cohort = levels.level_cohort(config, 0, {"ticket": full}, (initial, biases), None)
    final = levels.train_cohort(config, arch, dataset, cohort).weights
    masks_after = store.load_masks(borrowed.source_sweep(config))
    for trial in range(2):
        flipped = pruned = 0
        for name in initial:
            removed = ~torch.from_numpy(masks_after[levels.mask_key(1, "ticket", trial, name)])
            changed = torch.sign(final[name][trial]) != torch.sign(initial[name][trial])
            flipped += int((changed & removed).sum())
            pruned += int(removed.sum())
        run = next(r for r in probed["runs"] if r["level"] == 0 and r["trial"] == trial)
        assert run["curve"]["pruned_flipped"][-1] == pytest.approx(flipped / pruned)
    assert verify.verify(store.directory(config), steps=20, all_levels=True).ok


def test_rewound_and_fine_tuned_controls_share_the_ticket_mask_and_start_where_they_should(smoke_config, fashion):
    config = resolve(
        smoke_config.replace(
            levels=2, trials=2, iterations=60, eval_every=20, controls=("rewind", "finetune", "finetune_low")
        )
    )
    assert config.control_rewind == 3  # 5 % of the training
    record = experiments.compute(config, None)
    for level in (1, 2):
        arm = {
            a: [r for r in runs(record, level=level, arm=a)] for a in ("ticket", "rewind", "finetune", "finetune_low")
        }
        for name in ("rewind", "finetune", "finetune_low"):
            assert [r["kept"] for r in arm[name]] == [r["kept"] for r in arm["ticket"]]  # the same mask
        for tuned, ticket in zip(arm["finetune"], arm["ticket"]):
            # fine-tuning starts from the trained network the mask came from: better than θ0 before training
            assert tuned["curve"]["test_acc"][0] > ticket["curve"]["test_acc"][0] + 0.05
        for tuned, low in zip(arm["finetune"], arm["finetune_low"]):
            assert tuned["curve"]["test_acc"][0] == low["curve"]["test_acc"][0]  # the same start ...
            assert tuned["curve"]["val_loss"][1:] != low["curve"]["val_loss"][1:]  # ... a tenth of the rate
        for rewound, ticket in zip(arm["rewind"], arm["ticket"]):
            assert rewound["curve"]["val_loss"][0] != ticket["curve"]["val_loss"][0]
    with pytest.raises(ConfigError, match="rewind=10 rewinds the tickets themselves"):
        resolve(smoke_config.replace(controls=("rewind",), rewind=10))
    with pytest.raises(ConfigError, match="control_rewind=5 applies only with the rewind control"):
        resolve(smoke_config.replace(control_rewind=5))


def test_a_transfer_trains_on_one_dataset_the_masks_found_on_another(smoke_config, fashion, tmp_path):
    store = Store(tmp_path)
    config = resolve(
        smoke_config.replace(
            experiment="transfer",
            dataset="fashion-mnist:classes=5-9",
            mask_from="fashion-mnist:classes=0-4",
            levels=1,
            trials=2,
            iterations=60,
            eval_every=20,
            test_subset=None,
        )
    )
    moved = experiments.result(config, store)
    source = borrowed.source_sweep(config)
    assert source.dataset == "fashion-mnist:classes=0-4" and source.mask_from is None and source.experiment == "imp"
    own, moved_masks = store.load_masks(source), store.load_masks(config)
    for trial in range(2):
        for layer in moved["layers"]:
            assert np.array_equal(
                moved_masks[levels.mask_key(1, "transferred", trial, layer)],
                own[levels.mask_key(1, "ticket", trial, layer)],
            )
    # the mask search never saw the target's classes: its data holds only classes 0-4, relabelled 0..4
    source_data, target_data = (levels.load_data(c, "cpu") for c in (source, config))
    assert source_data.num_classes == target_data.num_classes == 5
    assert not set(map(tuple, source_data.train.x.flatten(1)[:200].tolist())) & set(
        map(tuple, target_data.train.x.flatten(1)[:2000].tolist())
    )
    assert {run["arm"] for run in moved["runs"] if run["level"] == 1} == {"transferred"}
    assert verify.verify(store.directory(config), steps=20, all_levels=True).ok
    with pytest.raises(ConfigError, match="mask_from='fashion-mnist' has 10 classes"):
        resolve(config.replace(mask_from="fashion-mnist"))
    with pytest.raises(ConfigError, match="mask_from='fashion-mnist:half=a' applies only to experiment='transfer'"):
        resolve(smoke_config.replace(mask_from="fashion-mnist:half=a"))


def test_the_training_accuracy_is_recorded_and_old_records_without_it_still_extend(smoke_config, fashion, tmp_path):
    store = Store(tmp_path)
    short = resolve(smoke_config.replace(levels=1, trials=2, iterations=60, eval_every=20, controls=()))
    record = experiments.result(short, store)
    curve = record["runs"][0]["curve"]
    assert curve["train_acc"][0] is None and 0.5 < curve["train_acc"][-1] <= 1.0
    for run in record["runs"]:  # a record written before the metric existed
        del run["curve"]["train_acc"]
    store.save(short, record, store.load_masks(short))
    longer = experiments.result(short.replace(levels=2), store)
    assert longer["provenance"]["extended_from"]["hash"] == record["hash"]
