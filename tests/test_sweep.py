"""python -m lthlib sweep: a grid of configs, each missing result a task on a local Ray instance."""

from __future__ import annotations

import os
import signal
import time

import pytest
from test_cli import cli

from lthlib.engine import sweep, verify
from lthlib.engine.config import ConfigError

TINY = ["--scale", "smoke", "--iterations", "50", "--eval-every", "50", "--levels", "1", "--trials", "1"]


def test_a_grid_is_the_product_of_the_values_each_result_once():
    configs = sweep.grid(["imp", "oneshot"], {"scale": ["smoke"], "criterion": ["large_final", "movement"]})
    assert [(c.experiment, c.criterion) for c in configs] == [
        ("imp", "large_final"),
        ("imp", "movement"),
        ("oneshot", "large_final"),
        ("oneshot", "movement"),
    ]
    assert len(sweep.grid(["imp"], {"scale": ["smoke"], "criterion": ["movement", "movement"]})) == 1
    with pytest.raises(ConfigError, match="'bogus'"):
        sweep.grid(["imp"], {"scale": ["smoke"], "criterion": ["movement", "bogus"]})


def test_a_task_reads_a_stored_result_instead_of_computing_it(smoke_config, smoke_record, smoke_store):
    outcome = sweep.compute_one(smoke_config.to_dict(), str(smoke_store.root), "cpu")
    assert (outcome.status, outcome.hash) == ("stored", smoke_record["hash"])


def test_a_bad_value_in_the_grid_stops_the_sweep_before_ray_starts(tmp_path):
    out = cli("sweep", "imp", *TINY, "--criterion", "large_final", "bogus", "--store", str(tmp_path))
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "'bogus'" in out.stderr and "magnitude_increase" in out.stderr
    assert not list(tmp_path.iterdir())


def test_a_two_config_sweep_runs_on_local_ray_and_leaves_verifiable_records(fashion, tmp_path):
    args = ["sweep", "imp", *TINY, "--controls", "none", "--criterion", "large_final", "movement"]
    out = cli(*args, "--store", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "2 configs: 0 already stored, 2 to compute" in out.stdout and out.stdout.count("computed imp/") == 2
    records = sorted(tmp_path.glob("imp/*/record.json"))
    assert len(records) == 2
    for path in records:
        assert verify.verify(path, steps=50, device="cpu").ok
    again = cli(*args, "--store", str(tmp_path))
    assert again.returncode == 0 and again.stdout.strip() == "2 configs: 2 already stored, 0 to compute"


def test_a_task_larger_than_any_machine_is_refused_in_one_line(tmp_path):
    out = cli("sweep", "imp", *TINY, "--cpus-per-task", "4096", "--store", str(tmp_path))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "--cpus-per-task 4096 is not valid" in out.stderr and "valid: 1 to" in out.stderr
    assert not list(tmp_path.glob("imp/*/record.json"))


def test_together_groups_the_sweeps_that_can_train_as_one_and_computes_them_in_one_task(
    smoke_config, fashion, tmp_path
):
    configs = sweep.grid(
        ["imp", "oneshot"],
        {"scale": ["smoke"], "levels": [1], "controls": [()], "criterion": ["large_final", "movement"]},
    )
    assert [[c.experiment for c in group] for group in sweep.tasks(configs)] == [
        ["imp"],
        ["imp"],
        ["oneshot"],
        ["oneshot"],
    ]
    groups = sweep.tasks(configs, together=True)
    assert [[(c.experiment, c.criterion) for c in group] for group in groups] == [
        [("imp", "large_final"), ("imp", "movement")],
        [("oneshot", "large_final")],
        [("oneshot", "movement")],
    ]
    outcomes = sweep.compute_group([c.to_dict() for c in groups[0]], str(tmp_path), "cpu")
    assert [o.status for o in outcomes] == ["computed", "computed"]
    records = sorted(tmp_path.glob("imp/*/record.json"))
    assert len(records) == 2
    for path in records:
        assert verify.verify(path, steps=50, device="cpu").ok
    again = sweep.compute_group([c.to_dict() for c in groups[0]], str(tmp_path), "cpu")
    assert [o.status for o in again] == ["stored", "stored"]


def test_a_terminated_sweep_leaves_through_its_cleanup_and_restores_the_signal():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(SystemExit) as exit_:
        with sweep.terminated_as_exit():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler interrupts this at once
            finally:
                cleaned.append("ray.shutdown")
    assert exit_.value.code == 128 + signal.SIGTERM and cleaned == ["ray.shutdown"]
    assert signal.getsignal(signal.SIGTERM) is before
