"""The command line: one-line errors with exit code 2, and a run that verify reproduces."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lthlib.cli.commands import main, summary_lines

ENV = {**os.environ, "PYTHONPATH": os.getcwd()}


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "lthlib", *args], capture_output=True, text=True, env=ENV, timeout=600, cwd=cwd
    )


@pytest.mark.parametrize(
    "args, names",
    [
        (["run", "imp", "--criterion", "largest"], ["'largest'", "large_final", "magnitude_increase", "movement"]),
        (["run", "imp", "--fc-rate", "1.5"], ["fc_rate=1.5", "between 0 and 1"]),
        (["run", "imp", "--output-rate", "0"], ["output_rate=0.0", "between 0 and 1"]),
        (["run", "imp", "--iterations", "-5"], ["iterations=-5", "from 1 to"]),
        (["run", "imp", "--dataset", "imagenet"], ["'imagenet'", "fashion-mnist", "mnist1d", "cifar10"]),
        (["run", "imp", "--network", "resnet"], ["'resnet'", "lenet", "conv6"]),
        (["run", "prune"], ["'prune'", "dense", "imp", "oneshot"]),
        (["run", "imp", "--lerning-rate", "1"], ["'--lerning-rate'", "--lr", "--criterion"]),
        (["run", "imp", "--trials", "three"], ["'three'", "integer"]),
        (["run", "imp", "--mask1", "random"], ["'random'", "original", "signed_constant"]),
        (["run", "imp", "--controls", "reinit,shuffle"], ["'shuffle'", "random_prune"]),
        (["run", "imp", "--device", "tpu"], ["'tpu'", "cpu", "cuda"]),
        (["verify", "record.json", "--steps", "0"], ["--steps 0", "positive"]),
        (["verify", "record.json", "--trials", "-2"], ["--trials -2", "positive"]),
        (["data", "imagenet"], ["'imagenet'", "fashion-mnist"]),
        (["train"], ["'train'", "run", "verify", "bench", "data"]),
    ],
)
def test_bad_arguments_get_one_line_naming_the_value_and_the_valid_ones(args, names, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lthlib: error:")
    for name in names:
        assert name in err, err


def test_option_values_after_an_equals_sign_keep_their_dashes():
    from lthlib.cli.commands import parse_run

    config, _ = parse_run(["imp", "--dataset=fashion-mnist", "--fc-rate=0.3"])
    assert config.dataset == "fashion-mnist" and config.fc_rate == 0.3


def test_exit_code_two_from_a_real_process():
    finished = cli("run", "imp", "--criterion", "largest")
    assert finished.returncode == 2
    assert "largest" in finished.stderr and "Traceback" not in finished.stderr


def test_run_then_verify_from_the_command_line(fashion, tmp_path):
    short = ("--iterations", "100")  # a smoke run at half its length: the command line is what is tested
    run = cli(
        "run",
        "imp",
        "--dataset",
        "fashion-mnist",
        "--scale",
        "smoke",
        "--levels",
        "1",
        *short,
        "--store",
        str(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    assert "level  1 ticket" in run.stdout
    records = list(tmp_path.glob("imp/*/record.json"))
    assert len(records) == 1
    again = cli("run", "imp", "--scale", "smoke", "--levels", "1", *short, "--store", str(tmp_path))
    assert "already stored" in again.stdout
    check = cli("verify", str(records[0]), "--steps", "100")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "reproduced over the first 100 iterations" in check.stdout
    missing = cli("run", "imp", "--scale", "smoke", "--levels", "3", *short, "--store", str(tmp_path), "--read-only")
    assert (
        missing.returncode == 2
        and "python -m lthlib run imp --scale smoke --iterations 100 --levels 3" in missing.stderr
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_run_help_lists_every_setting_with_its_help(flag, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["run", "imp", flag])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert "--eval-every" in out and "steps between evaluations" in out and "--mask0" in out


def test_the_summary_has_one_line_per_level_and_arm_even_when_trials_differ_in_size():
    def run(trial, remaining, accuracy):
        return dict(level=0, arm="supermask", trial=trial, remaining=remaining, early_stop=dict(test_acc=accuracy))

    record = {"runs": [run(0, 0.50, 0.80), run(1, 0.52, 0.90)]}  # learned masks: each trial its own density
    assert summary_lines(record) == ["level  0 supermask      51.0% remaining  early-stop test accuracy 0.8500 (n=2)"]
