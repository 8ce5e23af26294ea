"""Every bad input is refused before any work: one line naming the value and what is valid, exit code 2."""

from __future__ import annotations

import pytest

from lthlib.cli.commands import main
from lthlib.engine import experiments, train
from lthlib.engine.config import ConfigError, ExperimentConfig, resolve


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """Any training or computing during these cases is a failure: bad input must stop first."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started for a bad input")

    monkeypatch.setattr(experiments, "compute", refuse)
    monkeypatch.setattr(train, "train", refuse)


FILE = "<a file>"

CASES = [
    # sizes larger than the data
    (["run", "imp", "--val-size", "100000"], ["val_size=100000", "0..59,999"]),
    (["run", "imp", "--train-subset", "56000"], ["train_subset=56000", "1..55,000"]),
    (["run", "imp", "--test-subset", "20000"], ["test_subset=20000", "1..10,000"]),
    (["run", "imp", "--batch-size", "100000"], ["batch_size=100000", "1..55,000"]),
    (["run", "imp", "--scale", "smoke", "--batch-size", "6000"], ["batch_size=6000", "1..5,000"]),
    # integers that overflow, sizes that would exhaust memory
    (["run", "imp", "--split-seed", "99999999999999999999999"], ["split_seed=99999999999999999999999", "valid"]),
    (["run", "imp", "--seed", "-1"], ["seed=-1", "valid"]),
    (["run", "imp", "--trials", "1000000000000"], ["trials=1000000000000", "10,000"]),
    (["run", "oneshot", "--trials", "3000"], ["trials=3000", "GiB"]),
    (["run", "imp", "--levels", "1000000000000"], ["levels=1000000000000", "200"]),
    (["run", "imp", "--levels", "150"], ["levels=150", "every weight of layer", "at most"]),
    (["run", "imp", "--iterations", "1e20"], ["--iterations '1e20'", "integer"]),
    (["run", "imp", "--iterations", "100000000000"], ["iterations=100000000000", "10,000,000"]),
    # stores that are not writable directories
    (["run", "dense", "--scale", "smoke", "--store", "/proc/x"], ["/proc/x", "writable directory"]),
    (["run", "dense", "--scale", "smoke", "--store", FILE], ["a-file", "writable directory"]),
    (["run", "dense", "--scale", "smoke", "--store", ""], ["empty string", "writable directory"]),
    # settings that do not fit the run
    (["run", "imp", "--warmup", "100000"], ["warmup=100000", "iterations=5000"]),
    (["run", "imp", "--rewind", "5000"], ["rewind=5000", "0..4999"]),
    (["run", "imp", "--eval-every", "6000"], ["eval_every=6000", "iterations=5000"]),
    (["run", "imp", "--conv-rate", "0.1"], ["conv_rate=0.1", "lenet"]),
    (["run", "dense", "--criterion", "movement"], ["criterion='movement'", "dense"]),
    (["run", "dense", "--levels", "3"], ["levels=3", "dense"]),
    (["run", "imp", "--momentum", "0.5"], ["momentum=0.5", "sgd"]),
    (["run", "imp", "--network", "conv2", "--dataset", "mnist1d"], ["conv2", "mnist1d", "lenet"]),
    (["run", "imp", "--trials", "2", "--trials", "3"], ["--trials", "twice"]),
    (["run", "imp", "--read-only=no"], ["--read-only", "'no'"]),
    (["run", "imp", "--dropout", "1"], ["dropout=1.0", "[0, 1)"]),
    (["run", "imp", "--lr", "nan"], ["lr=nan", "positive number"]),
    (["run", "imp", "--device", "cuda"], ["cuda", "valid here"]),
    # verify
    (["verify", "<tmp>/missing.json"], ["missing.json", "not a stored record"]),
    (["verify", "<tmp>"], ["record.json", "not a stored record"]),
    (["verify", "<tmp>/garbage.json"], ["garbage.json", "JSON"]),
    (["verify", "<tmp>/other.json"], ["other.json", "not an lthlib record"]),
    (["verify", "<tmp>/other.json", "--steps", "0"], ["--steps 0", "positive"]),
    # a Ray cluster that is malformed or does not answer (Ray itself would retry it for minutes)
    (["sweep", "dense", "--scale", "smoke", "--address", "cluster"], ["--address 'cluster'", "host:port"]),
    (["sweep", "dense", "--scale", "smoke", "--address", "host:99999"], ["--address 'host:99999'", "host:port"]),
    (["sweep", "dense", "--scale", "smoke", "--address", "127.0.0.1:1"], ["'127.0.0.1:1'", "nothing answers"]),
    # data and chapters
    (["data", "imagenet"], ["'imagenet'", "fashion-mnist"]),
    (["chapter", "nope"], ["'nope'", "lottery-ticket"]),
    (["chapter", "foundations", "-p", "bogus", "1"], ["bogus", "scale"]),
]


@pytest.mark.parametrize("args, names", CASES, ids=[" ".join(args)[:60] for args, _ in CASES])
def test_bad_input_is_one_line_with_exit_code_two_before_any_work(args, names, tmp_path, capsys):
    if "cuda" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA device is present, so --device cuda is valid here")
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"some": "json"}')
    (tmp_path / "a-file").write_text("")
    args = [arg.replace("<tmp>", str(tmp_path)).replace(FILE, str(tmp_path / "a-file")) for arg in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lthlib: error:"), err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err


def test_the_smoke_scales_subsets_fit_a_smaller_variant_but_given_subsets_are_checked():
    fitted = resolve(ExperimentConfig(scale="smoke", dataset="mnist1d:classes=5-9"))
    assert (fitted.train_subset, fitted.test_subset) == (4510, 990)  # the scale's 5,000 and 2,000, cut to the data
    assert resolve(ExperimentConfig(scale="smoke")).train_subset == 5000
    with pytest.raises(ConfigError, match="train_subset=5000 is larger than the 4,510 training sequences"):
        resolve(ExperimentConfig(scale="smoke", dataset="mnist1d:classes=5-9", train_subset=5000))
