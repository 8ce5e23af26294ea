"""Nothing corrupt gets in: one hash per computation, values that cannot train, chapter outputs that never overwrite
sources, a damaged store refused in one line (and set aside where it is safe), verified datasets."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal

import numpy as np
import pytest
import torch

from lthlib.cli import chapter_run
from lthlib.cli.commands import main
from lthlib.engine import data, experiments, files, sources, train
from lthlib.engine.config import ConfigError, ExperimentConfig, config_hash, resolve
from lthlib.engine.store import CorruptRecord, Store, StoreError, record_checksum

# ---------------------------------------------------------------- one computation, one hash

ALIASES = [
    (dict(conv_rate=-0.0), dict(conv_rate=0.0)),
    (dict(conv_rate=-0.0), dict(conv_rate=0)),
    (dict(network="conv2", conv_rate=-0.0), dict(network="conv2", conv_rate=0)),
    (dict(weight_decay=-0.0), dict(weight_decay=0)),
    (dict(experiment="supermask", weight_decay=-0.0), dict(experiment="supermask", weight_decay=0)),
    (dict(dropout=-0.0), dict(dropout=0)),
    (dict(controls=("random_prune", "reinit")), dict(controls=("reinit", "random_prune"))),
    (dict(controls=("random_prune", "reinit")), dict()),  # the default, in the registry's order
    (
        dict(controls=("finetune", "rewind", "reinit")),
        dict(controls=("reinit", "rewind", "finetune")),
    ),
    (dict(dataset="fashion-mnist:classes=0,1,2,3,4"), dict(dataset="fashion-mnist:classes=0-4")),
    (dict(dataset="fashion-mnist:classes=5,6,7,8,9"), dict(dataset="fashion-mnist:classes=5-9")),
    (dict(dataset="fashion-mnist:classes=00-04"), dict(dataset="fashion-mnist:classes=0-4")),
    (dict(dataset="fashion-mnist:classes=1,3,5"), dict(dataset="fashion-mnist:classes=01,03,05")),
    (dict(dataset="fashion-mnist:rotated="), dict(dataset="fashion-mnist:rotated")),
    (dict(dataset="fashion-mnist:inverted="), dict(dataset="fashion-mnist:inverted")),
    (
        dict(experiment="transfer", dataset="fashion-mnist:classes=5,6,7,8,9", mask_from="fashion-mnist:classes=0-4"),
        dict(experiment="transfer", dataset="fashion-mnist:classes=5-9", mask_from="fashion-mnist:classes=0,1,2,3,4"),
    ),
]


@pytest.mark.parametrize("one, other", ALIASES, ids=[str(one) for one, _ in ALIASES])
def test_every_alias_of_one_computation_resolves_to_one_hash(one, other):
    a, b = ExperimentConfig(scale="smoke", **one), ExperimentConfig(scale="smoke", **other)
    assert config_hash(a) == config_hash(b)
    assert resolve(a) == resolve(b)


def test_the_canonical_spellings_are_the_committed_ones_and_distinct_computations_keep_distinct_hashes():
    spelled = resolve(ExperimentConfig(dataset="fashion-mnist:classes=0,1,2,3,4"))
    assert spelled.dataset == "fashion-mnist:classes=0-4"  # the committed records' spelling
    assert resolve(ExperimentConfig(dataset="fashion-mnist:rotated=")).dataset == "fashion-mnist:rotated"
    assert resolve(ExperimentConfig(controls=("random_prune", "reinit"))).controls == ("reinit", "random_prune")
    assert config_hash(ExperimentConfig()) == "1522c73229ab8acf"  # the default config hashes as it always did
    # the order of a class list is its relabelling: another computation
    assert config_hash(ExperimentConfig(dataset="fashion-mnist:classes=4,3,2,1,0")) != config_hash(
        ExperimentConfig(dataset="fashion-mnist:classes=0-4")
    )
    assert config_hash(ExperimentConfig(controls=("reinit",))) != config_hash(ExperimentConfig())


@pytest.mark.parametrize(
    "settings, names",
    [
        (dict(controls=("reinit", "reinit")), ["'reinit' twice", "each control once"]),
        (dict(controls=("random_prune", "reinit", "random_prune")), ["'random_prune' twice"]),
        (dict(dataset="fashion-mnist:classes=0-0"), ["classes='0-0'", "two or more"]),
        (dict(dataset="fashion-mnist:half="), ["half=''", "half=a"]),
    ],
)
def test_a_control_named_twice_and_an_empty_variant_are_refused_in_one_line(settings, names):
    with pytest.raises(ConfigError) as error:
        resolve(ExperimentConfig(**settings))
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert name in message, message


# ---------------------------------------------------------------- bad input on the command line, before any work


@pytest.fixture
def no_training(monkeypatch):
    """Any training or computing during these cases is a failure: bad input must stop first."""

    def refuse(*args, **kwargs):
        raise AssertionError("work started for a bad input")

    monkeypatch.setattr(experiments, "compute", refuse)
    monkeypatch.setattr(train, "train", refuse)
    monkeypatch.setattr(chapter_run, "execute", refuse)


CLI_CASES = [
    (["run", "imp", "--lr", "1e308"], ["lr=1e+308", "optimizer='adam'", "up to 1"]),
    (["run", "imp", "--lr", "1.5"], ["lr=1.5", "up to 1"]),
    (["run", "imp", "--optimizer", "sgd", "--lr", "11"], ["lr=11.0", "optimizer='sgd'", "up to 10"]),
    (["run", "supermask", "--lr", "20000"], ["lr=20000.0", "up to 10000", "mask scores"]),
    (["run", "imp", "--controls", "reinit,reinit"], ["'reinit' twice"]),
    (["chapter", "foundations", "-p", "scale", "smoke", "-p", "scale", "book"], ["-p scale", "twice"]),
    (["chapter", "foundations", "--output", "a", "--output", "b"], ["--output", "twice"]),
    (["chapter", "foundations", "--output", "<book>"], ["inside the book's sources", "valid: a folder outside"]),
    (["chapter", "foundations", "--output", "<book>/results/x"], ["inside the book's sources"]),
    (["chapter", "foundations", "--output", "<tmp>/a-file"], ["a-file", "existing file"]),
    (["chapter", "foundations", "--output", "<tmp>/foreign"], ["foundations.ipynb", "not written by this command"]),
    (["chapter", "foundations", "--output", "<tmp>/foreign-config"], ["_config.yml", "not written by this command"]),
    (["chapter", "foundations", "--output", ""], ["empty string"]),
]


@pytest.mark.parametrize("args, names", CLI_CASES, ids=[" ".join(args)[:60] for args, _ in CLI_CASES])
def test_bad_input_is_one_line_with_exit_code_two_before_any_work(args, names, tmp_path, capsys, no_training):
    (tmp_path / "a-file").write_text("mine\n")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "foundations.ipynb").write_text('{"cells": [], "metadata": {}}')
    (tmp_path / "foreign-config").mkdir()
    (tmp_path / "foreign-config" / "_config.yml").write_text("title: my own book\n")
    args = [arg.replace("<tmp>", str(tmp_path)).replace("<book>", str(chapter_run.BOOK)) for arg in args]
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lthlib: error:"), err
    for name in names:
        assert name in err, err
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


def test_a_diverged_member_is_one_line_naming_it_its_level_and_a_lower_learning_rate(fashion, tmp_path, capsys):
    args = ["run", "dense", "--scale", "smoke", "--optimizer", "sgd", "--lr", "10", "--trials", "1"]
    args += ["--iterations", "10", "--eval-every", "10", "--batch-size", "50", "--train-subset", "200"]
    args += ["--test-subset", "100", "--val-size", "100", "--store", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("lthlib: error: dense ") and "Traceback" not in err, err
    for name in ("member 0 at level 0 diverged", "validation loss nan", "lower learning rate than lr=10"):
        assert name in err, err
    assert not list(tmp_path.rglob("record.json"))


# ---------------------------------------------------------------- chapter outputs never overwrite sources


def _papermill_notebook(text: str) -> str:
    return json.dumps({"cells": [], "metadata": {"papermill": {"note": text}}, "nbformat": 4, "nbformat_minor": 5})


def test_a_failed_chapter_run_replaces_no_file_and_a_good_one_lands_by_rename(tmp_path, monkeypatch, capsys):
    import papermill

    output = tmp_path / "runs"
    output.mkdir()
    earlier = output / "foundations.ipynb"
    earlier.write_text(_papermill_notebook("an earlier run"))
    outcome = {}

    def execute(notebook, path, parameters):
        outcome["path"] = pathlib.Path(path)
        pathlib.Path(path).write_text(_papermill_notebook("this run"))
        if outcome.get("fail"):
            raise papermill.PapermillExecutionError(1, 1, "boom", "ParameterError", "bad", [])

    monkeypatch.setattr(chapter_run, "execute", execute)
    outcome["fail"] = True
    assert chapter_run.main(["foundations", "--output", str(output), "--no-html"]) == 2
    assert outcome["path"] != earlier and outcome["path"].parent == output  # executed into a temporary file
    assert json.loads(earlier.read_text())["metadata"]["papermill"]["note"] == "an earlier run"
    failed = list(output.glob("foundations.failed-*.ipynb"))
    assert len(failed) == 1 and str(failed[0]) in capsys.readouterr().err
    assert not list(output.glob(".*tmp*"))

    outcome["fail"] = False
    assert chapter_run.main(["foundations", "--output", str(output), "--no-html"]) == 0
    assert json.loads(earlier.read_text())["metadata"]["papermill"]["note"] == "this run"
    assert not list(output.glob(".*tmp*"))


# ---------------------------------------------------------------- a damaged store: one line, set aside where safe

CONFIG = ExperimentConfig(experiment="dense", scale="smoke")


@contextlib.contextmanager
def no_hang(seconds: int = 20):
    """Fail instead of blocking (a FIFO read would wait for a writer for ever)."""

    def stop(*_):
        raise AssertionError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def plant_record(root: pathlib.Path, config=CONFIG) -> pathlib.Path:
    """A valid record of ``config`` (no runs) with masks and weights, saved through the store; its folder."""
    store = Store(root)
    resolved = resolve(config)
    record = {"experiment": resolved.experiment, "hash": config_hash(resolved), "config": resolved.to_dict()}
    record.update(runs=[], provenance={})
    masks = {"level0/ticket/0/fc1": np.ones((3, 4), dtype=bool)}
    store.save(resolved, record, masks=masks, weights={"weights/fc1": np.zeros((3, 4), np.float32)})
    return store.directory(resolved)


def rechecksum(path: pathlib.Path, **changes) -> None:
    record = json.loads(path.read_text())
    record.update(changes)
    record["checksum"] = record_checksum(record)
    path.write_text(json.dumps(record))


def _binary(folder):
    (folder / "record.json").write_bytes(b"\xff\xfe\x00lthlib\x80" * 100)


def _nested(folder):
    (folder / "record.json").write_text("[" * 200_000 + "]" * 200_000)


def _dev_zero(folder):
    (folder / "record.json").unlink()
    (folder / "record.json").symlink_to("/dev/zero")


def _fifo(name):
    def damage(folder):
        (folder / name).unlink()
        os.mkfifo(folder / name)

    return damage


def _directory(name):
    def damage(folder):
        (folder / name).unlink()
        (folder / name).mkdir()

    return damage


def _symlink_loop(folder):
    (folder / "record.json").unlink()
    (folder / "record.json").symlink_to("record.json")


def _flipped_masks(folder):
    blob = bytearray((folder / "masks.npz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (folder / "masks.npz").write_bytes(bytes(blob))


def _garbage_masks_with_a_fresh_checksum(folder):
    import hashlib

    (folder / "masks.npz").write_bytes(b"PK\x03\x04 not a zip at all")
    rechecksum(folder / "record.json", masks_sha256=hashlib.sha256((folder / "masks.npz").read_bytes()).hexdigest())


def _huge(folder):
    with open(folder / "record.json", "r+b") as handle:
        handle.truncate(300 * 2**20)  # sparse: no disk, but larger than any record may be


DAMAGES = [
    (_binary, ["record.json", "not UTF-8"]),
    (_nested, ["record.json", "nested too deeply"]),
    (_dev_zero, ["record.json", "character device"]),
    (_fifo("record.json"), ["record.json", "FIFO"]),
    (_fifo("masks.npz"), ["masks.npz", "FIFO"]),
    (_directory("record.json"), ["record.json", "directory"]),
    (_symlink_loop, ["record.json", "symbolic links"]),
    (_flipped_masks, ["masks.npz", "checksum"]),
    (_garbage_masks_with_a_fresh_checksum, ["masks.npz", "cannot be unpacked"]),
    (_huge, ["record.json", "more than the"]),
]
DAMAGE_IDS = [damage.__name__ if hasattr(damage, "__name__") else str(i) for i, (damage, _) in enumerate(DAMAGES)]


@pytest.mark.parametrize("damage, names", DAMAGES, ids=DAMAGE_IDS)
def test_a_damaged_entry_is_one_line_from_run_read_only_and_verify(damage, names, tmp_path, capsys, no_training):
    folder = plant_record(tmp_path)
    damage(folder)
    with no_hang():
        with pytest.raises(CorruptRecord) as error:
            Store(tmp_path).load_masks(CONFIG)
        assert "\n" not in str(error.value)
        for name in names:
            assert name in str(error.value), error.value
        commands = [["verify", str(folder), "--device", "cpu"]]
        if damage is not _garbage_masks_with_a_fresh_checksum:  # its record is intact: run reads no masks
            commands.append(["run", "dense", "--scale", "smoke", "--store", str(tmp_path), "--read-only"])
        for args in commands:
            assert main(args) == 2, args
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and err.startswith("lthlib: error:"), err
            assert str(folder) in err, err


@pytest.mark.parametrize("damage, names", DAMAGES[:6], ids=DAMAGE_IDS[:6])
def test_a_run_sets_a_damaged_record_aside_and_computes_it_again(damage, names, tmp_path, monkeypatch, capsys):
    folder = plant_record(tmp_path)
    damage(folder)
    computed = []

    def compute(config, store, device="cpu", progress=None):
        store.prepare_directory(config)
        computed.append(config)
        return {"computed": True}

    monkeypatch.setattr(experiments, "compute", compute)
    with no_hang():
        assert experiments.result(CONFIG, Store(tmp_path)) == {"computed": True}
    assert len(computed) == 1
    assert (folder / "record.json.corrupt").exists() or (folder / "record.json.corrupt").is_symlink()
    assert not (folder / "record.json").exists() and not (folder / "masks.npz").exists()
    err = capsys.readouterr().err
    assert "set aside" in err and names[1] in err, err


def test_a_non_file_where_a_result_goes_is_set_aside_before_any_training(tmp_path, capsys):
    store = Store(tmp_path)
    directory = store.directory(CONFIG)
    directory.mkdir(parents=True)
    (directory / "masks.npz").mkdir()
    os.mkfifo(directory / "weights.npz")
    store.prepare_directory(CONFIG)
    assert (directory / "masks.npz.corrupt").is_dir() and (directory / "weights.npz.corrupt").exists()
    assert not (directory / "masks.npz").exists() and not (directory / "weights.npz").exists()
    assert "masks.npz is a directory" in capsys.readouterr().err


def test_a_fifo_checkpoint_is_set_aside_without_blocking(tmp_path, capsys):
    store = Store(tmp_path)
    directory = store.directory(CONFIG)
    directory.mkdir(parents=True)
    os.mkfifo(directory / "checkpoint-0.pt")
    with no_hang():
        assert store.load_checkpoint(CONFIG) is None
    assert (directory / "checkpoint-0.pt.corrupt").exists()
    assert "FIFO" in capsys.readouterr().err


def _lock_directory(lock):
    lock.mkdir(parents=True)


def _lock_loop(lock):
    lock.parent.mkdir(parents=True)
    lock.symlink_to(lock.name)


@pytest.mark.parametrize(
    "damage, names",
    [(_lock_directory, ["is a directory", "remove it"]), (_lock_loop, ["symlink that leads nowhere", "remove it"])],
)
def test_a_lock_that_is_not_a_file_is_one_line_before_any_work(damage, names, tmp_path, capsys, no_training):
    lock = tmp_path / "dense" / f".{config_hash(CONFIG)}.lock"
    damage(lock)
    with no_hang():
        assert main(["run", "dense", "--scale", "smoke", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(lock) in err, err
    for name in names:
        assert name in err, err


def test_a_lock_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, no_training):
    import filelock

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    with pytest.raises(StoreError, match="cannot take the lock .*Permission denied"):
        Store(tmp_path).lock(CONFIG)


def test_a_store_folder_that_is_a_file_is_one_line(tmp_path, capsys, no_training):
    (tmp_path / "dense").write_text("not a folder")
    assert main(["run", "dense", "--scale", "smoke", "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{tmp_path / 'dense'} is not a directory" in err, err


def test_checkpoints_left_beside_a_finished_record_are_removed_by_the_next_run(tmp_path, monkeypatch):
    folder = plant_record(tmp_path)
    for level in (0, 1):
        (folder / f"checkpoint-{level}.pt").write_bytes(b"left by a kill after the record was written")
    (folder / ".record.json.abc.tmp").write_bytes(b"half written")
    monkeypatch.setattr(experiments, "compute", lambda *a, **k: pytest.fail("a stored record was computed again"))
    record = experiments.result(CONFIG, Store(tmp_path))
    assert record["hash"] == config_hash(CONFIG)
    assert sorted(path.name for path in folder.iterdir()) == ["masks.npz", "record.json", "weights.npz"]


# ---------------------------------------------------------------- verified datasets


@pytest.fixture
def fashion_copy(fashion, tmp_path, monkeypatch):
    """A copy of the Fashion-MNIST files as the data root ($LTHLIB_DATA), to damage."""
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for path in (fashion / "FashionMNIST" / "raw").iterdir():
        if path.name in sources.IDX_FILES:
            (raw / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("LTHLIB_DATA", str(tmp_path / "data"))
    data.clear_cache()
    yield raw
    data.clear_cache()


def _shift_labels(raw):
    path = raw / "train-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[8:] = bytes((label + 1) % 10 for label in blob[8:])
    path.write_bytes(bytes(blob))


def _wrong_magic(raw):
    path = raw / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x0a\x03" + path.read_bytes()[4:])


def _labels_out_of_range(raw):
    path = raw / "t10k-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[8] = 200
    path.write_bytes(bytes(blob))


def _truncated(raw):
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])


def _fifo_file(raw):
    (raw / "train-labels-idx1-ubyte").unlink()
    os.mkfifo(raw / "train-labels-idx1-ubyte")


DATA_DAMAGES = [
    (_shift_labels, "train-labels-idx1-ubyte"),
    (_wrong_magic, "t10k-images-idx3-ubyte"),
    (_labels_out_of_range, "t10k-labels-idx1-ubyte"),
    (_truncated, "train-images-idx3-ubyte"),
    (_fifo_file, "train-labels-idx1-ubyte"),
]


@pytest.mark.parametrize("damage, file", DATA_DAMAGES, ids=[damage.__name__ for damage, _ in DATA_DAMAGES])
def test_a_damaged_dataset_file_is_one_line_before_any_training(damage, file, fashion_copy, tmp_path, capsys):
    damage(fashion_copy)

    def refuse(*args, **kwargs):
        raise AssertionError("trained on damaged data")

    with pytest.MonkeyPatch.context() as patch, no_hang():
        patch.setattr(train, "train", refuse)
        assert main(["run", "imp", "--scale", "smoke", "--store", str(tmp_path / "store")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("lthlib: error: fashion-mnist:"), err
    assert file in err and "python -m lthlib data fashion-mnist" in err, err
    if damage is not _fifo_file:
        assert f"expected {sources.FASHION_IDX_SHA256[file]}" in err, err
    assert not list((tmp_path / "store").rglob("record.json"))


def test_preparing_sets_a_damaged_file_aside_and_gets_a_good_copy(fashion_copy):
    _shift_labels(fashion_copy)
    message = data.prepare("fashion-mnist")
    assert "set aside 1 damaged file(s)" in message and "train-labels-idx1-ubyte" in message, message
    assert (fashion_copy / "train-labels-idx1-ubyte.corrupt").is_file()
    assert (
        files.file_digest(fashion_copy / "train-labels-idx1-ubyte")
        == sources.FASHION_IDX_SHA256["train-labels-idx1-ubyte"]
    )
    assert data.load("fashion-mnist", train_subset=10, test_subset=10).train.x.shape == (10, 1, 28, 28)


def test_the_pinned_fashion_mnist_digests_are_the_published_files(fashion):
    raw = fashion / "FashionMNIST" / "raw"
    for file, expected in sources.FASHION_IDX_SHA256.items():
        assert files.file_digest(raw / file) == expected


def test_the_mnist_files_are_checked_when_read_not_only_when_prepared(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for file in sources.IDX_FILES:
        (raw / file).write_bytes(b"\x00\x00\x08\x01" + bytes(16))
    with pytest.raises(data.DatasetUnavailable) as error:
        sources.read("mnist", tmp_path)
    message = str(error.value)
    assert "\n" not in message and sources.MNIST_IDX_SHA256["train-images-idx3-ubyte"] in message
    assert "python -m lthlib data mnist" in message


def test_a_file_is_digested_once_per_process_until_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "file"
    path.write_bytes(b"first")
    first = files.file_digest(path)

    def no_reading(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(sources, "open", no_reading, raising=False)
    assert files.file_digest(path) == first
    monkeypatch.undo()
    path.write_bytes(b"second, longer")
    assert files.file_digest(path) != first


def test_the_mnist1d_cache_is_checked_against_the_arrays_the_generator_must_make(tmp_path, monkeypatch):
    good = sources._mnist1d_path(data.default_root())
    if not good.is_file():
        pytest.skip("no generated MNIST-1D cache in the data root (make data)")
    with np.load(good) as f:
        x, y = f["x"], f["y"]
    assert files.arrays_sha256(x, y) == sources.MNIST1D_SHA256
    cache = sources._mnist1d_path(tmp_path)
    cache.parent.mkdir(parents=True)
    bad_y = y.copy()
    bad_y[0] = 200
    np.savez(cache, x=x, y=bad_y)
    with pytest.raises(data.DatasetUnavailable) as error:
        sources.read("mnist1d", tmp_path)
    message = str(error.value)
    assert "\n" not in message and cache.name in message and sources.MNIST1D_SHA256 in message
    assert "python -m lthlib data mnist1d" in message
    monkeypatch.setattr(sources, "_generate_mnist1d", lambda: {"x": x, "y": y})
    assert "set aside the damaged cache" in sources.prepare("mnist1d", tmp_path)
    assert torch.equal(sources.read("mnist1d", tmp_path).y_train, torch.from_numpy(y[: sources.MNIST1D_NUM_TRAIN]))


def test_a_generator_that_makes_other_arrays_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(
        sources,
        "_generate_mnist1d",
        lambda: {"x": np.zeros((sources.MNIST1D_NUM_SAMPLES, 40), np.float32), "y": np.zeros(13_000, np.int64)},
    )
    with pytest.raises(data.DatasetUnavailable, match="generator made arrays with SHA-256 .* mnist1d==0.0.2.post1"):
        sources.read("mnist1d", tmp_path)
    assert not sources._mnist1d_path(tmp_path).exists()


def test_what_is_read_is_checked_against_the_dataset_table(monkeypatch):
    info = data.info("fashion-mnist")
    raw = sources.Raw(
        torch.zeros(info.train_size, 1, 28, 28),
        torch.full((info.train_size,), 10, dtype=torch.int64),
        torch.zeros(info.test_size, 1, 28, 28),
        torch.zeros(info.test_size, dtype=torch.int64),
    )
    with pytest.raises(data.DatasetUnavailable, match=r"train labels lie in 10..10, outside 0..9"):
        data._check_read("fashion-mnist", raw, info)
    with pytest.raises(data.DatasetUnavailable, match=r"test examples are torch.int8"):
        bytes_for_pixels = raw._replace(y_train=torch.zeros_like(raw.y_train), x_test=raw.x_test.to(torch.int8))
        data._check_read("fashion-mnist", bytes_for_pixels, info)


def test_a_new_record_names_its_data_and_a_record_of_other_data_is_refused(tmp_path, monkeypatch, capsys):
    folder = plant_record(tmp_path)
    assert Store(tmp_path).load(CONFIG) is not None  # a record that predates the digest is read as before
    rechecksum(folder / "record.json", provenance={"data_sha256": data.digest(CONFIG.dataset)})
    assert Store(tmp_path).load(CONFIG) is not None
    rechecksum(folder / "record.json", provenance={"data_sha256": "0" * 64})
    with pytest.raises(CorruptRecord) as error:
        Store(tmp_path).load(CONFIG)
    message = str(error.value)
    assert "\n" not in message and "0" * 64 in message and data.digest(CONFIG.dataset) in message
    assert "recompute it with: python -m lthlib run dense --scale smoke" in message
    assert main(["verify", str(folder), "--device", "cpu"]) == 2
    assert "trained on fashion-mnist data with SHA-256" in capsys.readouterr().err
    monkeypatch.setattr(experiments, "compute", lambda config, store, *a, **k: {"computed": True})
    assert experiments.result(CONFIG, Store(tmp_path)) == {"computed": True}  # a run sets it aside, computes again
    assert (folder / "record.json.corrupt").is_file()


def test_a_registered_dataset_is_digested_at_registration_and_its_records_name_it(tmp_path):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(150, 1, 4, 4, generator=generator)
    y = torch.arange(150) % 3
    tensors = (x[:120], y[:120], x[120:], y[120:])
    data.register("reliability-tiny", lambda: tensors, num_classes=3, val_size=30)
    try:
        digest = data.digest("reliability-tiny")
        assert digest == files.arrays_sha256(
            *(t.float().numpy() if t.is_floating_point() else t.numpy() for t in tensors)
        )
        config = ExperimentConfig(
            experiment="dense", dataset="reliability-tiny", scale="smoke", trials=1, iterations=4, eval_every=2
        )
        config = config.replace(batch_size=10, val_size=30)
        record = experiments.result(config, Store(tmp_path))
        assert record["provenance"]["data_sha256"] == digest
        changed = (tensors[0] + 1, *tensors[1:])
        data.register("reliability-tiny", lambda: changed, num_classes=3, val_size=30)
        assert data.digest("reliability-tiny") != digest
        with pytest.raises(CorruptRecord, match="trained on reliability-tiny data with SHA-256"):
            Store(tmp_path).load(config)
    finally:
        data.unregister("reliability-tiny")
