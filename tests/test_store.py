"""The store: checksums catch tampering, read-only misses say how to compute, hashes ignore defaults."""

from __future__ import annotations

import json
import shutil

import pytest

from lthlib import verify
from lthlib.config import ExperimentConfig, config_hash, resolve
from lthlib.store import CorruptRecord, MissingResult, Store, record_checksum


def copy_record(smoke_store, smoke_config, tmp_path):
    source = smoke_store.directory(smoke_config)
    target = tmp_path / "copy"
    shutil.copytree(source, target)
    return target / "record.json"


def test_hash_ignores_fields_at_their_default_and_sees_the_rest():
    base = ExperimentConfig(scale="smoke")
    assert config_hash(base) == config_hash(base.replace(criterion="large_final"))
    assert config_hash(base) == config_hash(resolve(base))  # filled-in defaults hash the same
    assert config_hash(base) != config_hash(base.replace(criterion="movement"))
    assert config_hash(base) != config_hash(base.replace(trials=3))
    assert len(config_hash(base)) == 16


def test_stored_record_round_trips(smoke_record, smoke_store, smoke_config):
    assert smoke_store.load(smoke_config) == smoke_record
    files = sorted(p.name for p in smoke_store.directory(smoke_config).iterdir())
    assert files == ["masks.npz", "record.json"]  # no checkpoint, no temp files left behind


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


def test_verify_reproduces_a_stored_record(smoke_record, smoke_store, smoke_config):
    report = verify.verify(smoke_store.directory(smoke_config) / "record.json", steps=100, all_levels=True)
    assert report.ok, report.lines()
    assert [check.level for check in report.checks] == [0, 1, 2]
    assert all(check.iterations == [0, 50, 100] for check in report.checks)
    assert all(check.max_deviation == 0.0 for check in report.checks)


def test_verify_detects_a_tampered_curve_even_with_a_fresh_checksum(smoke_store, smoke_config, tmp_path):
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
