"""The store: checksums catch tampering, read-only misses say how to compute, hashes ignore defaults."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import pytest

from lthlib.engine import config as config_module
from lthlib.engine import experiments, provenance, verify
from lthlib.engine.config import ExperimentConfig, Resolved, config_hash, resolve
from lthlib.engine.store import CorruptRecord, MissingResult, Store, StoreError, record_checksum


def copy_record(smoke_store, smoke_config, tmp_path, config=None):
    """A copy of the smoke record in a store under ``tmp_path``, in the folder of ``config`` (default: its own)."""
    source = smoke_store.directory(smoke_config)
    target = Store(tmp_path).directory(config or smoke_config)
    shutil.copytree(source, target)
    return target / "record.json"


def test_hash_ignores_fields_at_their_default_and_sees_the_rest():
    base = ExperimentConfig(scale="smoke")
    assert config_hash(base) == config_hash(base.replace(criterion="large_final"))
    assert config_hash(base) == config_hash(resolve(base))  # filled-in defaults hash the same
    assert config_hash(base) != config_hash(base.replace(criterion="movement"))
    assert config_hash(base) != config_hash(base.replace(trials=3))
    assert len(config_hash(base)) == 16


def test_a_config_is_resolved_once_on_its_way_to_the_store(tmp_path, monkeypatch):
    checked = []
    real = config_module._check_against_data
    monkeypatch.setattr(config_module, "_check_against_data", lambda c: checked.append(c) or real(c))
    resolved = resolve(ExperimentConfig(scale="smoke", criterion="movement", trials=3))
    assert isinstance(resolved, Resolved) and len(checked) == 1
    with pytest.raises(MissingResult):
        experiments.result(resolved, Store(tmp_path), allow_train=False)
    assert checked.count(resolved) == 1  # the store's lookup, hash and message did not resolve it again
    again = resolved.replace(trials=4)
    assert not isinstance(again, Resolved) and resolve(again).trials == 4 and checked[-1].trials == 4
    assert resolved == ExperimentConfig(**resolved.to_dict() | {"controls": resolved.controls})  # equal by value


def test_stored_record_round_trips(smoke_record, smoke_store, smoke_config):
    assert smoke_store.load(smoke_config) == smoke_record
    files = sorted(p.name for p in smoke_store.directory(smoke_config).iterdir())
    assert files == ["masks.npz", "record.json", "weights.npz"]  # no checkpoint, no temp files left behind


def test_a_changed_number_is_detected(smoke_store, smoke_config, tmp_path):
    path = copy_record(smoke_store, smoke_config, tmp_path)
    record = json.loads(path.read_text())
    record["runs"][3]["early_stop"]["test_acc"] = 0.99
    path.write_text(json.dumps(record))
    with pytest.raises(CorruptRecord, match="checksum mismatch"):
        Store.read_record(path)


def test_truncated_record_and_changed_masks_are_detected(smoke_store, smoke_config, tmp_path):
    path = copy_record(smoke_store, smoke_config, tmp_path)
    masks = path.parent / "masks.npz"
    masks.write_bytes(masks.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CorruptRecord, match="masks.npz"):
        Store.read_record(path)
    path.write_text(path.read_text()[:100])
    with pytest.raises(CorruptRecord, match="cannot be read"):
        Store.read_record(path)


def test_read_only_miss_names_the_config_and_the_command(tmp_path):
    store = Store(tmp_path, read_only=True)
    config = ExperimentConfig(scale="smoke", criterion="movement", trials=3)
    with pytest.raises(MissingResult) as error:
        store.load(config)
    message = str(error.value)
    assert config_hash(config) in message
    assert '"criterion":"movement"' in message
    assert "python -m lthlib run imp --scale smoke --trials 3 --criterion movement" in message
    with pytest.raises(Exception, match="read-only"):
        store.save(config, {})


def test_a_missing_transfer_names_a_command_with_its_datasets(tmp_path):
    config = ExperimentConfig(
        experiment="transfer", dataset="fashion-mnist:classes=5-9", mask_from="fashion-mnist:classes=0-4", levels=2
    )
    with pytest.raises(MissingResult) as error:
        Store(tmp_path, read_only=True).load(config)
    message = str(error.value)
    assert "python -m lthlib run transfer --dataset fashion-mnist:classes=5-9 --levels 2 " in message
    assert " --mask-from fashion-mnist:classes=0-4 " in message


def test_verify_reproduces_a_stored_record(smoke_record, smoke_store, smoke_config):
    report = verify.verify(smoke_store.directory(smoke_config) / "record.json", steps=100, all_levels=True)
    assert report.ok, report.lines()
    assert [check.level for check in report.checks] == [0, 1, 2]
    assert all(check.iterations == [0, 50, 100] for check in report.checks)
    assert all(check.max_deviation == 0.0 for check in report.checks)


def test_verify_detects_a_tampered_curve_even_with_a_fresh_checksum(smoke_record, smoke_store, smoke_config, tmp_path):
    path = copy_record(smoke_store, smoke_config, tmp_path)
    record = json.loads(path.read_text())
    record["runs"][-1]["curve"]["val_acc"][1] += 0.05  # level 2, random_prune, trial 1, iteration 50
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))
    report = verify.verify(path, steps=100)
    assert not report.ok
    by_level = {check.level: check for check in report.checks}
    assert by_level[0].ok and not by_level[2].ok
    assert by_level[2].max_deviation == pytest.approx(0.05, abs=1e-6)


def test_verify_of_the_first_trials_retrains_them_alone_and_checks_only_them(
    smoke_record, smoke_store, smoke_config, tmp_path
):
    path = copy_record(smoke_store, smoke_config, tmp_path)
    record = json.loads(path.read_text())
    record["runs"][-1]["curve"]["val_acc"][1] += 0.05  # level 2, random_prune, trial 1, iteration 50
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))
    first = verify.verify(path, steps=100, trials=1)
    assert first.ok and all(check.max_deviation == 0.0 for check in first.checks), first.lines()
    assert first.lines()[-1].endswith("(trials 0 to 0 of 2)")
    assert not verify.verify(path, steps=100, trials=2).ok  # every trial: the tampered one is found


def test_a_record_from_another_processor_is_held_to_a_looser_bound_but_its_untrained_start_is_not(
    smoke_record, smoke_store, smoke_config, tmp_path
):
    path = copy_record(smoke_store, smoke_config, tmp_path)
    record = json.loads(path.read_text())
    assert record["provenance"]["processor"] == provenance.processor()
    record["provenance"]["processor"] = "Another CPU"
    record["runs"][0]["curve"]["val_acc"][1] += 0.05  # level 0, trial 0, iteration 50: trained, drifted
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))
    report = verify.verify(path, steps=100)
    assert report.ok, report.lines()
    assert "computed on Another CPU" in report.lines()[0] and "tolerance 1e-01" in report.lines()[0]
    record["runs"][0]["curve"]["val_acc"][0] += 0.01  # iteration 0: nothing trained, nothing may differ
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))
    assert not verify.verify(path, steps=100).ok
    record["runs"][0]["curve"]["val_acc"][0] -= 0.01
    record["runs"][0]["curve"]["val_acc"][1] += 0.1  # 0.15 in all: beyond any processor's drift
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))
    assert not verify.verify(path, steps=100).ok


def test_a_record_copied_into_another_configs_folder_is_refused(smoke_record, smoke_store, smoke_config, tmp_path):
    other = smoke_config.replace(criterion="movement")
    path = copy_record(smoke_store, smoke_config, tmp_path, config=other)
    for store in (Store(tmp_path), Store(tmp_path, read_only=True)):
        with pytest.raises(CorruptRecord, match=f"hashes to {config_hash(smoke_config)}"):
            store.load(other)
    with pytest.raises(CorruptRecord, match="answers only its own config"):
        verify.verify(path.parent, steps=10)


def test_verify_takes_a_result_folder_and_refuses_what_is_not_a_record(
    smoke_record, smoke_store, smoke_config, tmp_path
):
    assert verify.verify(smoke_store.directory(smoke_config), steps=50).ok
    (tmp_path / "notes.json").write_text('{"a": 1}')
    (tmp_path / "garbage.json").write_text("not json")
    for path, message in (
        (tmp_path / "missing.json", "not a stored record"),
        (tmp_path, "not a stored record"),
        (tmp_path / "garbage.json", "cannot be read as JSON"),
        (tmp_path / "notes.json", "not an lthlib record"),
    ):
        with pytest.raises((StoreError, CorruptRecord), match=message):
            verify.verify(path)


def test_a_full_disk_is_one_line_naming_the_path_and_the_space(smoke_record, smoke_config, tmp_path, monkeypatch):
    def full(_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError) as error:
        Store(tmp_path).save(smoke_config, {"experiment": "imp", "runs": []})
    message = str(error.value)
    assert "no space left to write" in message and "record.json" in message and "bytes" in message
    assert "\n" not in message
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.parametrize(
    "root, expected",
    [("", "empty string"), ("/proc/lthlib-store", "not a writable directory"), ("FILE", "not a writable directory")],
)
def test_a_store_that_cannot_be_written_is_refused_before_any_work(root, expected, tmp_path):
    if root == "FILE":
        root = tmp_path / "a-file"
        root.write_text("")
    with pytest.raises(StoreError, match=expected):
        Store(root).check_writable()


def test_two_concurrent_runs_of_one_config_train_it_once(fashion, tmp_path):
    args = [
        sys.executable,
        "-m",
        "lthlib",
        "run",
        "dense",
        "--scale",
        "smoke",
        "--trials",
        "1",
        "--store",
        str(tmp_path),
        "--device",
        "cpu",
    ]
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    said = [out for out, _ in outputs]
    assert sum("computed " in out for out in said) == 1, said
    assert sum("already stored" in out for out in said) == 1, said


def test_verify_always_compares_a_trained_evaluation(smoke_record, smoke_store, smoke_config):
    """Fewer steps than the evaluation interval would compare only the untrained iteration 0."""
    report = verify.verify(smoke_store.directory(smoke_config) / "record.json", steps=10)
    assert report.ok, report.lines()
    assert all(check.iterations == [0, 50] for check in report.checks)


def test_a_store_reads_what_it_lacks_from_its_fallback_and_writes_only_to_itself(
    smoke_store, smoke_config, smoke_record, tmp_path
):
    mine = Store(tmp_path / "mine", fallback=smoke_store)
    assert mine.load(smoke_config) == smoke_record
    for key, mask in smoke_store.load_masks(smoke_config).items():
        assert (mine.load_masks(smoke_config)[key] == mask).all()
    other = smoke_config.replace(seed=1)
    assert mine.load(other) is None
    with pytest.raises(MissingResult, match=f"in {tmp_path / 'mine'}"):
        Store(tmp_path / "mine", read_only=True, fallback=smoke_store).load(other)


def test_a_corrupt_record_in_the_fallback_is_reported_and_passed_over(smoke_store, smoke_config, tmp_path, capsys):
    book = Store(tmp_path / "book")
    copy_record(smoke_store, smoke_config, tmp_path / "book")
    path = book.directory(smoke_config) / "record.json"
    path.write_text(path.read_text().replace('"trial": 1', '"trial": 7', 1))
    assert Store(tmp_path / "mine", fallback=book).load(smoke_config) is None  # not trusted: the reader computes
    assert "not reading the fallback store's copy" in capsys.readouterr().err


def test_the_verified_sample_covers_every_code_path_with_the_cheapest_records():
    base = ExperimentConfig(trials=5, controls=())
    configs = {
        "dense": base.replace(experiment="dense"),
        "imp": base.replace(controls=("reinit",)),
        "imp, other criterion": base.replace(controls=("reinit",), criterion="magnitude_increase"),  # no new path
        "imp, bigger, same paths": base.replace(controls=("reinit",), trials=9),
        "conv2": base.replace(network="conv2", precision="bfloat16", trials=2),
        "conv4, same paths as conv2": base.replace(network="conv4", precision="bfloat16", trials=1),
        "mask-0 freeze": base.replace(mask0="freeze_final"),
        "classes 0-4": base.replace(dataset="fashion-mnist:classes=0-4"),
        "classes 5-9, same paths": base.replace(dataset="fashion-mnist:classes=5-9", trials=6),
        "tilted": base.replace(dataset="fashion-mnist:tilted", trials=6),
    }
    chosen = verify.covering_sample(configs)
    assert sorted(chosen) == ["classes 0-4", "conv4, same paths as conv2", "dense", "imp", "mask-0 freeze", "tilted"]
    covered = set().union(*(verify.code_paths(configs[key]) for key in chosen))
    assert covered == set().union(*(verify.code_paths(config) for config in configs.values()))
