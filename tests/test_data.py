"""Tests for lthlib.data on small files written in the real on-disk formats."""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import pickle
import random
import struct

import numpy as np
import pytest
import torch
import torchvision

from lthlib import data

N_TRAIN, N_TEST = 60, 20


@pytest.fixture(autouse=True)
def _fresh_cache():
    data.clear_cache()
    yield
    data.clear_cache()


def write_idx(folder: pathlib.Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write uint8 images (N, H, W) and labels (N,) as big-endian IDX files."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">iiii", 2051, n, h, w) + images.astype(np.uint8).tobytes()
    )
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">ii", 2049, n) + labels.astype(np.uint8).tobytes()
    )


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
    assert data.default_root() == pathlib.Path(data.__file__).resolve().parent.parent / "data"
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


def test_prepare_mnist_without_network_raises(tmp_path, monkeypatch):
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
    monkeypatch.setattr(data, "MNIST1D_NUM_SAMPLES", 600)
    monkeypatch.setattr(data, "MNIST1D_NUM_TRAIN", 500)
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
    assert data.MNIST1D_NUM_TRAIN - data._SPECS["mnist1d"].val_size >= 10_000
    assert data.MNIST1D_NUM_SAMPLES - data.MNIST1D_NUM_TRAIN == 2000


# ---------------------------------------------------------------- Fashion-MNIST


needs_debian_fashion = pytest.mark.skipif(
    not (data.DEBIAN_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian package dataset-fashion-mnist not installed ({data.DEBIAN_FASHION_MNIST_DIR} missing)",
)


@needs_debian_fashion
def test_fashion_mnist_from_debian_package(tmp_path):
    msg = data.prepare("fashion-mnist", root=tmp_path)
    assert "Debian package dataset-fashion-mnist" in msg
    for name in data.IDX_FILES:
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
    for name in data.IDX_FILES:
        path = folder / name
        path.with_name(name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()


def test_fashion_mnist_installs_with_apt_when_root(tmp_path, monkeypatch):
    debian = tmp_path / "usr-share"
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", debian)
    monkeypatch.setattr(data, "APT_GET", "fake-apt-get")
    monkeypatch.setattr(data.shutil, "which", lambda cmd: "/bin/fake-apt-get" if cmd == "fake-apt-get" else None)
    monkeypatch.setattr(data, "_is_root", lambda: True)
    calls = []

    def fake_run(cmd, check, env):
        calls.append(cmd[1:])
        if cmd[1] == "install":
            _write_fake_debian(debian)

    monkeypatch.setattr(data.subprocess, "run", fake_run)
    root = tmp_path / "root"
    msg = data.prepare("fashion-mnist", root=root)
    assert calls == [["update"], ["install", "-y", "dataset-fashion-mnist"]]
    assert "installed the Debian package" in msg
    ds = data.load("fashion-mnist", root=root, val_size=20)
    assert ds.train.x.shape == (40, 1, 28, 28)
    assert ids_of(ds)["test"].tolist() == list(range(N_TRAIN, N_TRAIN + N_TEST))


def test_fashion_mnist_no_source_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "absent")
    monkeypatch.setattr(data, "_is_root", lambda: False)

    def no_network(self):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", no_network)
    with pytest.raises(data.DatasetUnavailable) as err:
        data.prepare("fashion-mnist", root=tmp_path)
    assert "dataset-fashion-mnist" in str(err.value)
    with pytest.raises(data.DatasetUnavailable, match="dataset-fashion-mnist"):
        data.load("fashion-mnist", root=tmp_path)
