"""Datasets as normalised tensors on a device.

``load(name, device)`` returns a :class:`Dataset` whose three splits
(train / val / test) are already on ``device``: the whole dataset fits in
memory for every dataset the book uses, so training loops index tensors
instead of iterating a ``DataLoader``.

Sources
    fashion-mnist, mnist
        The unpacked IDX files read by :class:`torchvision.datasets.FashionMNIST`
        / :class:`torchvision.datasets.MNIST` under ``<root>/FashionMNIST/raw`` and
        ``<root>/MNIST/raw``. 60 000 train and 10 000 test images of 1x28x28.
    cifar10
        The python pickles read by :class:`torchvision.datasets.CIFAR10` under
        ``<root>/cifar-10-batches-py``. 50 000 train and 10 000 test images of 3x32x32.
    mnist1d
        Generated in memory by the ``mnist1d`` package with seed
        :data:`MNIST1D_SEED`: :data:`MNIST1D_NUM_SAMPLES` = 13 000 sequences of
        length 40, the first :data:`MNIST1D_NUM_TRAIN` = 11 000 for training (10 000
        after the default 1 000 validation examples are carved off) and the
        last 2 000 for testing. Cached as ``.npz`` under ``<root>/mnist1d``.

Splits
    The validation split is carved from the training set with a permutation
    drawn from ``torch.Generator().manual_seed(split_seed)``: the first
    ``val_size`` permuted indices are validation, the rest training. The test
    split is the dataset's own test set.

Normalisation
    Image pixels are scaled to [0, 1]; then every split has the per-channel mean
    subtracted and is divided by the per-channel standard deviation, both
    computed on the returned training split only. mnist1d is one channel.

``prepare(name)`` fetches or unpacks the files ``load`` reads; it is what
``python -m lthlib data NAME`` runs.
"""

from __future__ import annotations

import functools
import gzip
import os
import pathlib
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torchvision

__all__ = [
    "DATASETS",
    "DatasetUnavailable",
    "Split",
    "Dataset",
    "default_root",
    "load",
    "prepare",
    "clear_cache",
]

DATA_ENV_VAR = "LTHLIB_DATA"

IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

DEBIAN_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FASHION_MNIST_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
APT_GET = "apt-get"

MNIST1D_SEED = 0
MNIST1D_NUM_SAMPLES = 13_000
MNIST1D_NUM_TRAIN = 11_000
MNIST1D_LENGTH = 40

_IMAGE_VAL_SIZE = 5000
_MNIST1D_VAL_SIZE = 1000
_CACHE_SIZE = 8


class DatasetUnavailable(RuntimeError):
    """The files a dataset is read from are missing or unreadable.

    The message says what is missing, where it was looked for, and how to get it.
    """


@dataclass(frozen=True)
class Split:
    """One split of a dataset.

    x: float32, normalised; (N, C, H, W) for images, (N, L) for sequences.
    y: int64 class indices, (N,).
    """

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} examples but y has {len(self.y)}")

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """A dataset with three disjoint splits, all on the same device.

    input_shape is the shape of one example, e.g. (1, 28, 28) or (40,).
    """

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    input_shape: tuple[int, ...]


@dataclass(frozen=True)
class _Raw:
    """A dataset as read from disk, before splitting and normalisation.

    x_*: float32, pixels in [0, 1] for images. y_*: int64, (N,).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class _Spec:
    read: Callable[[pathlib.Path], _Raw]
    prepare: Callable[[pathlib.Path], str]
    num_classes: int
    val_size: int


def default_root() -> pathlib.Path:
    """``$LTHLIB_DATA`` if set, else ``<repository root>/data``."""
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path(__file__).resolve().parent.parent / "data"


def _root(root: str | os.PathLike | None) -> pathlib.Path:
    return default_root() if root is None else pathlib.Path(root).expanduser()


def _show(path: pathlib.Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _has_files(folder: pathlib.Path, names) -> bool:
    return all((folder / n).is_file() for n in names)


# ---------------------------------------------------------------- IDX datasets


def _idx_folder(cls: type, root: pathlib.Path) -> pathlib.Path:
    return root / cls.__name__ / "raw"


def _idx_unavailable(name: str, cls: type, root: pathlib.Path, how: str) -> DatasetUnavailable:
    folder = _idx_folder(cls, root)
    return DatasetUnavailable(
        f"{name}: the unpacked IDX files {', '.join(IDX_FILES)} were not found "
        f"(or are unreadable) in {folder}. {how}"
    )


_FASHION_HOW = (
    "Get them with `python -m lthlib data fashion-mnist`, which unpacks the Debian "
    f"package {DEBIAN_FASHION_MNIST_PACKAGE} (`apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}`, "
    f"files in {DEBIAN_FASHION_MNIST_DIR}) or else downloads them (needs internet); "
    f"or point ${DATA_ENV_VAR} at a folder that has them."
)
_MNIST_HOW = (
    "Get them with `python -m lthlib data mnist` on a machine with internet access "
    "(torchvision downloads them) and copy the folder here, "
    f"or point ${DATA_ENV_VAR} at a folder that has them."
)
_CIFAR_HOW = (
    "Get them with `python -m lthlib data cifar10` on a machine with internet access "
    "(torchvision downloads and unpacks cifar-10-python.tar.gz) and copy the folder here, "
    f"or point ${DATA_ENV_VAR} at a folder that has them."
)


def _read_idx(name: str, cls: type, how: str) -> Callable[[pathlib.Path], _Raw]:
    """Reader for an MNIST-format torchvision dataset: images (N, 1, 28, 28) in [0, 1]."""

    def read(root: pathlib.Path) -> _Raw:
        try:
            train = cls(str(root), train=True, download=False)
            test = cls(str(root), train=False, download=False)
        except (RuntimeError, OSError, AssertionError) as err:
            raise _idx_unavailable(name, cls, root, how) from err
        return _Raw(
            x_train=train.data.unsqueeze(1).float().div_(255),
            y_train=train.targets.long(),
            x_test=test.data.unsqueeze(1).float().div_(255),
            y_test=test.targets.long(),
        )

    return read


def _gunzip_into(src_dir: pathlib.Path, dest: pathlib.Path) -> None:
    """Unpack ``src_dir/<f>.gz`` to ``dest/<f>`` for the four IDX files."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in IDX_FILES:
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.")
        try:
            with gzip.open(src_dir / f"{name}.gz", "rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp, dest / name)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise


def _debian_files_present() -> bool:
    return _has_files(DEBIAN_FASHION_MNIST_DIR, [f"{n}.gz" for n in IDX_FILES])


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_install_fashion() -> bool:
    """Install the Debian package with apt-get; True when its files are then present."""
    apt = shutil.which(APT_GET)
    if apt is None or not _is_root():
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run([apt, "update"], check=True, env=env)
        subprocess.run([apt, "install", "-y", DEBIAN_FASHION_MNIST_PACKAGE], check=True, env=env)
    except (subprocess.CalledProcessError, OSError):
        return False
    return _debian_files_present()


def _torchvision_download(name: str, cls: type, root: pathlib.Path, how: str) -> None:
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
    except Exception as err:
        detail = " ".join(str(err).split())[:300] or "no message"
        raise DatasetUnavailable(
            f"{name}: downloading with torchvision into {root} failed "
            f"({err.__class__.__name__}: {detail}); this needs internet access. {how}"
        ) from err


def _prepare_fashion(root: pathlib.Path) -> str:
    raw = _idx_folder(torchvision.datasets.FashionMNIST, root)
    if _has_files(raw, IDX_FILES):
        return f"fashion-mnist: already present in {_show(raw)}"
    if _debian_files_present():
        _gunzip_into(DEBIAN_FASHION_MNIST_DIR, raw)
        return (
            f"fashion-mnist: unpacked from the Debian package {DEBIAN_FASHION_MNIST_PACKAGE} "
            f"into {_show(raw)}"
        )
    if _apt_install_fashion():
        _gunzip_into(DEBIAN_FASHION_MNIST_DIR, raw)
        return (
            f"fashion-mnist: installed the Debian package {DEBIAN_FASHION_MNIST_PACKAGE} with "
            f"{APT_GET} and unpacked it into {_show(raw)}"
        )
    _torchvision_download("fashion-mnist", torchvision.datasets.FashionMNIST, root, _FASHION_HOW)
    return f"fashion-mnist: downloaded with torchvision into {_show(raw)}"


def _prepare_mnist(root: pathlib.Path) -> str:
    raw = _idx_folder(torchvision.datasets.MNIST, root)
    if _has_files(raw, IDX_FILES):
        return f"mnist: already present in {_show(raw)}"
    _torchvision_download("mnist", torchvision.datasets.MNIST, root, _MNIST_HOW)
    return f"mnist: downloaded with torchvision into {_show(raw)}"


# ---------------------------------------------------------------- CIFAR-10


def _cifar_files() -> list[str]:
    cls = torchvision.datasets.CIFAR10
    return [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]


def _read_cifar10(root: pathlib.Path) -> _Raw:
    """Images (N, 3, 32, 32) in [0, 1]."""
    cls = torchvision.datasets.CIFAR10
    try:
        train = cls(str(root), train=True, download=False)
        test = cls(str(root), train=False, download=False)
    except (RuntimeError, OSError, KeyError, EOFError, ValueError) as err:
        folder = root / cls.base_folder
        raise DatasetUnavailable(
            f"cifar10: the files {', '.join(_cifar_files())} were not found, are unreadable "
            f"or fail their md5 check in {folder}. {_CIFAR_HOW}"
        ) from err

    def images(data: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(data).permute(0, 3, 1, 2).float().div_(255).contiguous()

    return _Raw(
        x_train=images(train.data),
        y_train=torch.as_tensor(train.targets, dtype=torch.int64),
        x_test=images(test.data),
        y_test=torch.as_tensor(test.targets, dtype=torch.int64),
    )


def _prepare_cifar10(root: pathlib.Path) -> str:
    folder = root / torchvision.datasets.CIFAR10.base_folder
    if _has_files(folder, _cifar_files()):
        return f"cifar10: already present in {_show(folder)}"
    _torchvision_download("cifar10", torchvision.datasets.CIFAR10, root, _CIFAR_HOW)
    return f"cifar10: downloaded and unpacked with torchvision into {_show(folder)}"


# ---------------------------------------------------------------- MNIST-1D


def _mnist1d_path(root: pathlib.Path) -> pathlib.Path:
    name = f"mnist1d_seed{MNIST1D_SEED}_n{MNIST1D_NUM_SAMPLES}_train{MNIST1D_NUM_TRAIN}.npz"
    return root / "mnist1d" / name


def _generate_mnist1d() -> dict[str, np.ndarray]:
    """Sequences x (N, 40) float32 and labels y (N,) int64, N = MNIST1D_NUM_SAMPLES.

    ``make_dataset`` reseeds the global ``random`` and ``numpy`` generators; their
    state is restored afterwards.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise DatasetUnavailable(
            "mnist1d: the `mnist1d` package, which generates this dataset, is not "
            f"importable ({err}). Install it with `pip install mnist1d`."
        ) from err
    if MNIST1D_NUM_SAMPLES % 10:
        raise ValueError(f"MNIST1D_NUM_SAMPLES must be a multiple of 10, got {MNIST1D_NUM_SAMPLES}")
    if not 0 < MNIST1D_NUM_TRAIN < MNIST1D_NUM_SAMPLES:
        raise ValueError(
            f"MNIST1D_NUM_TRAIN must lie in (0, {MNIST1D_NUM_SAMPLES}), got {MNIST1D_NUM_TRAIN}"
        )
    args = get_dataset_args()
    args.seed = MNIST1D_SEED
    args.num_samples = MNIST1D_NUM_SAMPLES
    args.final_seq_length = MNIST1D_LENGTH
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        made = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    x = np.concatenate([made["x"], made["x_test"]]).astype(np.float32)
    y = np.concatenate([made["y"], made["y_test"]]).astype(np.int64)
    return {"x": x, "y": y}


def _mnist1d_arrays(root: pathlib.Path) -> tuple[dict[str, np.ndarray], str]:
    """The generated arrays and how they were obtained ("cached", "generated", ...)."""
    path = _mnist1d_path(root)
    if path.is_file():
        try:
            with np.load(path) as f:
                arrays = {"x": f["x"], "y": f["y"]}
            if arrays["x"].shape == (MNIST1D_NUM_SAMPLES, MNIST1D_LENGTH):
                return arrays, f"already cached in {_show(path)}"
        except (OSError, ValueError, KeyError):
            pass
    arrays = _generate_mnist1d()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mnist1d.", suffix=".npz")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    except OSError as err:
        return arrays, f"generated {MNIST1D_NUM_SAMPLES} examples (seed {MNIST1D_SEED}); not cached: {err}"
    return arrays, f"generated {MNIST1D_NUM_SAMPLES} examples (seed {MNIST1D_SEED}) and cached them in {_show(path)}"


def _read_mnist1d(root: pathlib.Path) -> _Raw:
    """Sequences (N, 40) as generated (roughly zero mean, unit std)."""
    arrays, _ = _mnist1d_arrays(root)
    x, y = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])
    n = MNIST1D_NUM_TRAIN
    return _Raw(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])


def _prepare_mnist1d(root: pathlib.Path) -> str:
    _, how = _mnist1d_arrays(root)
    return f"mnist1d: {how}"


# ---------------------------------------------------------------- the table

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
    "mnist": tuple(str(d) for d in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "mnist1d": tuple(str(d) for d in range(10)),
}

_SPECS: dict[str, _Spec] = {
    "fashion-mnist": _Spec(
        read=_read_idx("fashion-mnist", torchvision.datasets.FashionMNIST, _FASHION_HOW),
        prepare=_prepare_fashion,
        num_classes=10,
        val_size=_IMAGE_VAL_SIZE,
    ),
    "mnist": _Spec(
        read=_read_idx("mnist", torchvision.datasets.MNIST, _MNIST_HOW),
        prepare=_prepare_mnist,
        num_classes=10,
        val_size=_IMAGE_VAL_SIZE,
    ),
    "cifar10": _Spec(
        read=_read_cifar10,
        prepare=_prepare_cifar10,
        num_classes=10,
        val_size=_IMAGE_VAL_SIZE,
    ),
    "mnist1d": _Spec(
        read=_read_mnist1d,
        prepare=_prepare_mnist1d,
        num_classes=10,
        val_size=_MNIST1D_VAL_SIZE,
    ),
}

DATASETS: tuple[str, ...] = tuple(_SPECS)


def _spec(name: str) -> _Spec:
    spec = _SPECS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return spec


# ---------------------------------------------------------------- splitting


def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Subtract the per-channel mean of ``train`` and divide by its per-channel std.

    Channels are dim 1 of (N, C, ...) tensors; an (N, L) tensor is one channel.
    """
    dims = (0, *range(2, train.dim())) if train.dim() > 2 else tuple(range(train.dim()))
    std, mean = torch.std_mean(train, dim=dims, keepdim=True, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return [(t - mean) / std for t in (train, *others)]


def _check_count(label: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not (isinstance(value, int) and low <= value <= high):
        raise ValueError(f"{label} must be an int in [{low}, {high}], got {value!r}")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load_cached(
    name: str,
    device: str,
    root: str,
    val_size: int,
    split_seed: int,
    train_subset: int | None,
    test_subset: int | None,
) -> Dataset:
    spec = _SPECS[name]
    raw = spec.read(pathlib.Path(root))
    n_train, n_test = len(raw.y_train), len(raw.y_test)
    _check_count("val_size", val_size, 0, n_train - 1)
    _check_count("train_subset", train_subset, 1, n_train - val_size)
    _check_count("test_subset", test_subset, 1, n_test)

    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if train_subset is not None:
        train_idx = train_idx[:train_subset]
    test_end = n_test if test_subset is None else test_subset

    x_train, x_val, x_test = _standardise(
        raw.x_train[train_idx], raw.x_train[val_idx], raw.x_test[:test_end]
    )
    y_train, y_val, y_test = raw.y_train[train_idx], raw.y_train[val_idx], raw.y_test[:test_end]

    def split(x: torch.Tensor, y: torch.Tensor) -> Split:
        return Split(x=x.contiguous().to(device), y=y.contiguous().to(device))

    return Dataset(
        name=name,
        train=split(x_train, y_train),
        val=split(x_val, y_val),
        test=split(x_test, y_test),
        num_classes=spec.num_classes,
        input_shape=tuple(x_train.shape[1:]),
    )


def load(
    name: str,
    device: str | torch.device = "cpu",
    root: str | os.PathLike | None = None,
    *,
    val_size: int | None = None,
    split_seed: int = 0,
    train_subset: int | None = None,
    test_subset: int | None = None,
) -> Dataset:
    """Dataset ``name`` with train / val / test splits as normalised tensors on ``device``.

    ``val_size`` examples (default 5000 for images, 1000 for mnist1d) are carved
    from the training set by a permutation seeded with ``split_seed``;
    ``train_subset`` keeps the first n remaining training examples and
    ``test_subset`` the first n test examples. Results are cached in-process on
    all arguments, so repeated calls return the same object: do not modify its
    tensors in place. Raises ``ValueError`` for an unknown name and
    :class:`DatasetUnavailable` when the files are missing.
    """
    spec = _spec(name)
    return _load_cached(
        name,
        str(torch.device(device)),
        str(_root(root).resolve()),
        spec.val_size if val_size is None else val_size,
        split_seed,
        train_subset,
        test_subset,
    )


def clear_cache() -> None:
    """Forget every dataset ``load`` has cached (frees its device memory)."""
    _load_cached.cache_clear()


def prepare(name: str, root: str | os.PathLike | None = None) -> str:
    """Make dataset ``name`` available under ``root``; a one-line message says what happened.

    fashion-mnist: already unpacked, else unpacked from the Debian package's files,
    else the package is installed with apt-get (when running as root), else
    torchvision downloads it. mnist, cifar10: already present, else torchvision
    downloads them. mnist1d: generated and cached. Raises
    :class:`DatasetUnavailable` when nothing works.
    """
    return _spec(name).prepare(_root(root))
