"""Datasets as normalised tensors on a device, from a table of named datasets.

``load(name, device)`` returns a :class:`Dataset` whose three splits
(train / val / test) are already on ``device``: the whole dataset fits in
memory for every dataset the book uses, so training loops index tensors
instead of iterating a ``DataLoader``. Getting the built-in datasets' files
(download, Debian package, generation) and reading them into raw tensors is
:mod:`lthlib.engine.sources`' job; this module splits, subsets, normalises and caches.

The table
    The built-in datasets :data:`DATASETS` (``fashion-mnist``, ``mnist``,
    ``cifar10``, ``mnist1d``) and whatever :func:`register` added in this
    process; :func:`names` lists them all and :func:`info` describes one
    without loading it. A registered dataset is any function that returns
    raw train and test tensors; it is then used by name like a built-in one.

Splits
    The validation split is carved from the training set with a permutation
    drawn from ``torch.Generator().manual_seed(split_seed)``: the first
    ``val_size`` permuted indices are validation, the rest training
    (``train_subset`` keeps the first n of those). The test split is the
    dataset's own test set (``test_subset`` keeps its first n examples).
    Default ``val_size``: 5 000 for the built-in image datasets, 1 000 for
    mnist1d, the registered value for a registered dataset.

Normalisation
    Built-in image pixels are scaled to [0, 1]; then every split has the
    per-channel mean subtracted and is divided by the per-channel standard
    deviation, both computed on the returned training split only. Sequences
    (N, L) are one channel.

Verification
    The built-in files are checked against pinned digests before they are read
    (:mod:`lthlib.engine.sources`); what is read is then checked against the
    table: sizes, example shape, dtypes, and labels in 0..num_classes-1, or
    :class:`DatasetUnavailable` in one line before any training. A registered
    dataset is digested at registration and again at each read.
    :func:`digest` names the data a record is trained on.
"""

from __future__ import annotations

import functools
import math
import os
import pathlib
import re
from collections.abc import Callable, Mapping

import torch

from . import sources
from .datasets import CLASS_NAMES, Dataset, DatasetInfo, Entry, Split
from .sources import DatasetUnavailable, default_root
from .variants import TILT_DEGREES, VARIANT_HELP, VARIANTS  # noqa: F401  (TILT_DEGREES: the book cites it)
from .variants import canonical as canonical_variant

__all__ = [
    "CLASS_NAMES",
    "DATASETS",
    "DatasetInfo",
    "DatasetUnavailable",
    "Split",
    "Dataset",
    "canonical_name",
    "check_sizes",
    "clear_cache",
    "digest",
    "default_root",
    "info",
    "load",
    "names",
    "prepare",
    "register",
    "unregister",
]

_IMAGE_VAL_SIZE = 5000
_MNIST1D_VAL_SIZE = 1000
_CACHE_SIZE = 8
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_RAW_FIELDS = ("x_train", "y_train", "x_test", "y_test")


def _builtin(name: str, sizes: Callable[[], tuple[int, int, tuple[int, ...]]], val_size: int) -> Entry:
    """A built-in dataset: ``sizes()`` gives (train_size, test_size, input_shape) of its files."""

    def read(root: pathlib.Path) -> sources.Raw:
        return sources.read(name, root)

    def describe() -> DatasetInfo:
        train_size, test_size, input_shape = sizes()
        return DatasetInfo(
            name, train_size, test_size, input_shape, len(CLASS_NAMES[name]), val_size, CLASS_NAMES[name]
        )

    return Entry(read=read, info=describe)


def _mnist1d_sizes() -> tuple[int, int, tuple[int, ...]]:
    n_train = sources.MNIST1D_NUM_TRAIN
    return n_train, sources.MNIST1D_NUM_SAMPLES - n_train, (sources.MNIST1D_LENGTH,)


# Registered dataset -> the SHA-256 of its tensors at registration (see :func:`_raw_sha256`).
_REGISTERED_DIGESTS: dict[str, str] = {}

_TABLE: dict[str, Entry] = {
    "fashion-mnist": _builtin("fashion-mnist", lambda: (60_000, 10_000, (1, 28, 28)), _IMAGE_VAL_SIZE),
    "mnist": _builtin("mnist", lambda: (60_000, 10_000, (1, 28, 28)), _IMAGE_VAL_SIZE),
    "cifar10": _builtin("cifar10", lambda: (50_000, 10_000, (3, 32, 32)), _IMAGE_VAL_SIZE),
    "mnist1d": _builtin("mnist1d", _mnist1d_sizes, _MNIST1D_VAL_SIZE),
}

DATASETS: tuple[str, ...] = tuple(_TABLE)
"""The built-in datasets, in the book's order; :func:`names` adds the registered ones."""


def names() -> tuple[str, ...]:
    """Every dataset ``load`` accepts by itself: the built-in ones, then the registered ones in registration order.

    Each also has the variants of :data:`VARIANTS`, named ``"<dataset>:<variant>"``.
    """
    return tuple(_TABLE)


# Variant entries made so far, by full name, so that a variant's described sizes are computed once; register and
# unregister empty it, since a variant of a re-registered base must be derived anew.
_MADE_VARIANTS: dict[str, Entry] = {}


def _variant(name: str) -> Entry:
    if name not in _MADE_VARIANTS:
        _MADE_VARIANTS[name] = _make_variant(name)
    return _MADE_VARIANTS[name]


def _make_variant(name: str) -> Entry:
    base_name, _, spec = name.partition(":")
    base = _entry(base_name)
    meta = base.info()
    kind, _, argument = spec.partition("=")
    if kind not in VARIANTS:
        raise ValueError(f"unknown variant {spec!r} of dataset {base_name!r}; valid: {VARIANT_HELP}")
    change, sizes = VARIANTS[kind](argument, meta, base)

    def describe() -> DatasetInfo:
        train_size, test_size, class_names = sizes()
        return DatasetInfo(
            name,
            train_size,
            test_size,
            meta.input_shape,
            len(class_names),
            meta.default_val_size,
            class_names,
            meta.builtin,
        )

    return Entry(read=lambda root: change(base.read(root)), info=describe)


def _entry(name: str) -> Entry:
    if isinstance(name, str) and ":" in name:
        return _variant(name)
    entry = _TABLE.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(
            f"unknown dataset {name!r}; valid: {', '.join(names())}, each also as <dataset>:<variant> with a "
            f"variant {VARIANT_HELP}"
        )
    return entry


def check_name(name) -> str | None:
    """Why ``name`` is not a dataset ``load`` accepts (one line naming the valid ones), or ``None``."""
    try:
        _entry(name)
    except ValueError as error:
        return str(error)
    return None


def canonical_name(name):
    """The one spelling of a dataset or variant name, so that one computation has one config hash:
    ``fashion-mnist:classes=0,1,2,3,4`` -> ``fashion-mnist:classes=0-4``, ``fashion-mnist:rotated=`` ->
    ``fashion-mnist:rotated``. A name that is not a known variant's is returned as it is (:func:`check_name`
    refuses what is invalid)."""
    if not isinstance(name, str) or ":" not in name:
        return name
    base, _, spec = name.partition(":")
    kind, _, argument = spec.partition("=")
    if kind not in VARIANTS:
        return name
    argument = canonical_variant(kind, argument)
    return f"{base}:{kind}={argument}" if argument else f"{base}:{kind}"


def digest(name: str) -> str:
    """The SHA-256 of the data dataset ``name`` is made from: a built-in dataset's pinned files
    (:func:`lthlib.engine.sources.data_sha256`), a registered one's tensors as registered; a variant's is its base's
    (the variant is a function of the base data named in the config). ``ValueError`` for an unknown name."""
    _entry(name)
    base = name.partition(":")[0]
    if base in _REGISTERED_DIGESTS:
        return _REGISTERED_DIGESTS[base]
    return sources.data_sha256(base)


def info(name: str) -> DatasetInfo:
    """Sizes, shapes and classes of dataset ``name``, without loading it.

    Built-in datasets: constants of their published files. Registered ones:
    computed once, at registration. Raises ``ValueError`` naming the valid
    datasets when ``name`` is unknown.
    """
    return _entry(name).info()


# ---------------------------------------------------------------- sizes


def _count_error(label: str, value, low: int, high: int, problem: str) -> ValueError:
    return ValueError(f"{label}={value!r} {problem}; valid: {low:,}..{high:,}")


def _check_int(label: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _count_error(label, value, low, high, "is not an integer")
    if value < low:
        raise _count_error(label, value, low, high, "is negative" if value < 0 else f"must be at least {low:,}")


def _check_counts(name: str, unit: str, n_train: int, n_test: int, val_size, train_subset, test_subset) -> None:
    """Raise ``ValueError`` unless 0 <= val_size < n_train, 1 <= train_subset <= n_train - val_size
    and 1 <= test_subset <= n_test (``None`` subsets mean "all")."""
    _check_int("val_size", val_size, 0, n_train - 1)
    if val_size > n_train:
        raise _count_error("val_size", val_size, 0, n_train - 1, f"is larger than {name}'s {n_train:,} training {unit}")
    if val_size == n_train:
        raise _count_error(
            "val_size", val_size, 0, n_train - 1, f"leaves none of {name}'s {n_train:,} training {unit} for training"
        )
    left = n_train - val_size
    if train_subset is not None:
        _check_int("train_subset", train_subset, 1, left)
        if train_subset > left:
            raise _count_error(
                "train_subset",
                train_subset,
                1,
                left,
                f"is larger than the {left:,} training {unit} of {name} left after val_size={val_size:,}",
            )
    if test_subset is not None:
        _check_int("test_subset", test_subset, 1, n_test)
        if test_subset > n_test:
            raise _count_error("test_subset", test_subset, 1, n_test, f"is larger than {name}'s {n_test:,} test {unit}")


def check_sizes(
    name: str,
    val_size: int | None = None,
    train_subset: int | None = None,
    test_subset: int | None = None,
) -> int:
    """Check the split sizes ``load`` would get, from :func:`info` alone; return the resolved ``val_size``.

    ``val_size=None`` means the dataset's default. Valid: 0 <= val_size <
    train_size, 1 <= train_subset <= train_size - val_size, 1 <= test_subset
    <= test_size (``None`` subsets keep everything). Raises ``ValueError``
    with a one-line message naming the bad value and the valid range, e.g.
    "val_size=100000 is larger than fashion-mnist's 60,000 training images;
    valid: 0..59,999", or naming the valid datasets when ``name`` is unknown.
    """
    meta = info(name)
    val = meta.default_val_size if val_size is None else val_size
    _check_counts(name, meta.unit, meta.train_size, meta.test_size, val, train_subset, test_subset)
    return val


# ---------------------------------------------------------------- registration


def _refuse(name, problem: str) -> ValueError:
    return ValueError(f"cannot register dataset {name!r}: {problem}")


def _tensor(name: str, field: str, value) -> torch.Tensor:
    try:
        return torch.as_tensor(value).detach()
    except (TypeError, ValueError, RuntimeError) as err:
        raise _refuse(name, f"the loader's {field} is not convertible to a tensor ({err})") from err


def _checked_raw(name: str, out, num_classes: int) -> sources.Raw:
    """The loader's output as float32 x and int64 y on the CPU, or a ``ValueError`` saying what is wrong."""
    if isinstance(out, Mapping):
        missing = [f for f in _RAW_FIELDS if f not in out]
        if missing:
            raise _refuse(name, f"the loader returned a mapping without {', '.join(missing)}")
        out = tuple(out[f] for f in _RAW_FIELDS)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        raise _refuse(
            name,
            f"the loader must return (x_train, y_train, x_test, y_test); got {type(out).__name__}"
            + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""),
        )
    x_train, y_train, x_test, y_test = (_tensor(name, f, v) for f, v in zip(_RAW_FIELDS, out))
    for field, x in (("x_train", x_train), ("x_test", x_test)):
        if x.dtype == torch.bool or x.is_complex():
            raise _refuse(name, f"{field} must be real numbers; got dtype {x.dtype}")
        if x.dim() not in (2, 4):
            raise _refuse(name, f"{field} must be (N, C, H, W) images or (N, L) sequences; got shape {tuple(x.shape)}")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise _refuse(
            name,
            f"x_test examples have shape {tuple(x_test.shape[1:])} but x_train examples "
            f"have {tuple(x_train.shape[1:])}",
        )
    if math.prod(x_train.shape[1:]) == 0:
        raise _refuse(name, f"examples of shape {tuple(x_train.shape[1:])} are empty")
    for field, y, x in (("y_train", y_train, x_train), ("y_test", y_test, x_test)):
        if y.dim() != 1:
            raise _refuse(name, f"{field} must be one class index per example, shape (N,); got {tuple(y.shape)}")
        if y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
            raise _refuse(name, f"{field} must be integer class indices; got dtype {y.dtype}")
        if len(y) != len(x):
            raise _refuse(name, f"{field} has {len(y):,} labels but x{field[1:]} has {len(x):,} examples")
        if len(y) and not (0 <= int(y.min()) and int(y.max()) < num_classes):
            raise _refuse(
                name,
                f"{field} has labels in {int(y.min())}..{int(y.max())}, outside "
                f"0..{num_classes - 1} for num_classes={num_classes}",
            )
    if len(y_train) < 2:
        raise _refuse(name, f"it needs at least 2 training examples (one for validation); got {len(y_train)}")
    if len(y_test) < 1:
        raise _refuse(name, "it needs at least 1 test example; got 0")
    x_train, x_test = (x.to("cpu", torch.float32) for x in (x_train, x_test))
    for field, x in (("x_train", x_train), ("x_test", x_test)):
        if not bool(torch.isfinite(x).all()):
            raise _refuse(name, f"{field} has NaN or infinite values")
    return sources.Raw(x_train, y_train.to("cpu", torch.int64), x_test, y_test.to("cpu", torch.int64))


def _raw_sha256(raw: sources.Raw) -> str:
    """The SHA-256 of raw tensors (each one's dtype, shape and bytes, in the order of :class:`sources.Raw`)."""
    return sources.arrays_sha256(*(tensor.detach().cpu().contiguous().numpy() for tensor in raw))


def register(
    name: str,
    loader: Callable[[], tuple],
    *,
    num_classes: int,
    val_size: int,
    class_names: tuple[str, ...] | list[str] | None = None,
) -> DatasetInfo:
    """Make ``load(name, ...)``, :func:`info`, :func:`names` and experiment configs know a dataset of your own.

    ``loader()`` returns ``(x_train, y_train, x_test, y_test)`` (a tuple or a
    mapping with those keys): x as (N, C, H, W) images or (N, L) sequences of
    real numbers, any scale (they are standardised with the training split's
    per-channel mean and std); y as (N,) integer class indices in
    0..num_classes-1. Tensors or numpy arrays, on any device. ``val_size``
    validation examples (1 <= val_size < N_train) are carved from the training
    set by default. ``class_names`` default to "0", "1", ....

    ``loader`` is called once here, to check its output and compute
    :func:`info`, and again by each ``load`` not served from the cache. The
    name is what identifies the data in an experiment config and hence in the
    result store's hash: give different tensors a different name. Registering
    an already registered name replaces it (and clears the ``load`` cache); a
    built-in name cannot be registered. A bad registration raises one
    ``ValueError`` that says what is wrong. Returns the dataset's
    :class:`DatasetInfo`.
    """
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        raise _refuse(name, "a name is 1 to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit")
    if name in DATASETS:
        raise _refuse(name, f"it is a built-in dataset (built-in: {', '.join(DATASETS)}); choose another name")
    if not callable(loader):
        raise _refuse(name, f"loader must be a function of no arguments; got {type(loader).__name__}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise _refuse(name, f"num_classes must be an integer >= 2; got {num_classes!r}")
    if class_names is None:
        labels = tuple(str(k) for k in range(num_classes))
    elif isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise _refuse(name, "class_names must be a sequence of strings")
    else:
        labels = tuple(class_names)
        if len(labels) != num_classes:
            raise _refuse(name, f"class_names has {len(labels)} names for num_classes={num_classes}")
    raw = _checked_raw(name, loader(), num_classes)
    registered_digest = _raw_sha256(raw)
    n_train = len(raw.y_train)
    if isinstance(val_size, bool) or not isinstance(val_size, int) or not 1 <= val_size < n_train:
        raise _refuse(
            name,
            f"val_size={val_size!r} must be an integer in 1..{n_train - 1:,} "
            f"(the loader gives {n_train:,} training examples)",
        )
    described = DatasetInfo(
        name=name,
        train_size=n_train,
        test_size=len(raw.y_test),
        input_shape=tuple(raw.x_train.shape[1:]),
        num_classes=num_classes,
        default_val_size=val_size,
        class_names=labels,
        builtin=False,
    )

    def read(root: pathlib.Path) -> sources.Raw:
        again = _checked_raw(name, loader(), num_classes)
        shapes = (len(again.y_train), len(again.y_test), tuple(again.x_train.shape[1:]))
        if shapes != (described.train_size, described.test_size, described.input_shape):
            raise ValueError(
                f"dataset {name!r}: the loader now returns {shapes[0]:,} train and {shapes[1]:,} test examples "
                f"of shape {shapes[2]}, but {described.train_size:,} and {described.test_size:,} of shape "
                f"{described.input_shape} at registration; register changed data under a new name"
            )
        now = _raw_sha256(again)
        if now != registered_digest:
            raise ValueError(
                f"dataset {name!r}: the loader now returns data with SHA-256 {now}, but {registered_digest} at "
                f"registration; register changed data under a new name"
            )
        return again

    if name in _TABLE:
        clear_cache()
    _MADE_VARIANTS.clear()
    _TABLE[name] = Entry(read=read, info=lambda: described)
    _REGISTERED_DIGESTS[name] = registered_digest
    CLASS_NAMES[name] = labels
    return described


def unregister(name: str) -> None:
    """Forget the registered dataset ``name`` and clear the ``load`` cache; built-in names are refused."""
    if name in DATASETS:
        raise ValueError(f"cannot unregister {name!r}: it is a built-in dataset")
    _entry(name)
    del _TABLE[name]
    _REGISTERED_DIGESTS.pop(name, None)
    _MADE_VARIANTS.clear()
    CLASS_NAMES.pop(name, None)
    clear_cache()


# ---------------------------------------------------------------- splitting


def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Subtract the per-channel mean of ``train`` and divide by its per-channel std.

    Channels are dim 1 of (N, C, ...) tensors; an (N, L) tensor is one channel.
    """
    dims = (0, *range(2, train.dim())) if train.dim() > 2 else tuple(range(train.dim()))
    std, mean = torch.std_mean(train, dim=dims, keepdim=True, correction=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return [(t - mean) / std for t in (train, *others)]


def _check_read(name: str, raw: sources.Raw, meta: DatasetInfo) -> None:
    """Raise :class:`DatasetUnavailable` (one line) unless ``raw`` is what the table says of ``name``: float32 examples
    of its shape, one int64 label each, in 0..num_classes-1. (The counts of a built-in dataset's examples are its
    pinned files'; :func:`load` checks the split sizes against them.)"""
    base = name.partition(":")[0]
    how = f"get a good copy with `python -m lthlib data {base}`" if meta.builtin else "register good data"
    for split, x, y in (("train", raw.x_train, raw.y_train), ("test", raw.x_test, raw.y_test)):
        expected = tuple(meta.input_shape)
        problem = None
        if x.dtype != torch.float32 or tuple(x.shape[1:]) != expected:
            problem = f"{split} examples are {x.dtype} of shape {tuple(x.shape[1:])}, expected torch.float32 {expected}"
        elif y.dtype != torch.int64 or tuple(y.shape) != (len(x),):
            problem = f"{split} labels are {y.dtype} {tuple(y.shape)}, expected torch.int64 ({len(x)},), one each"
        elif len(y) and not (0 <= int(y.min()) and int(y.max()) < meta.num_classes):
            problem = (
                f"{split} labels lie in {int(y.min())}..{int(y.max())}, outside 0..{meta.num_classes - 1} for its "
                f"{meta.num_classes} classes"
            )
        if problem:
            raise DatasetUnavailable(f"{name}: the data read does not match the dataset's table: {problem}; {how}")


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
    entry = _entry(name)
    meta = entry.info()
    raw = entry.read(pathlib.Path(root))
    _check_read(name, raw, meta)
    n_train, n_test = len(raw.y_train), len(raw.y_test)
    _check_counts(name, meta.unit, n_train, n_test, val_size, train_subset, test_subset)

    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(split_seed))
    val_idx, train_idx = perm[:val_size], perm[val_size:]
    if train_subset is not None:
        train_idx = train_idx[:train_subset]
    test_end = n_test if test_subset is None else test_subset

    x_train, x_val, x_test = _standardise(raw.x_train[train_idx], raw.x_train[val_idx], raw.x_test[:test_end])
    y_train, y_val, y_test = raw.y_train[train_idx], raw.y_train[val_idx], raw.y_test[:test_end]

    def split(x: torch.Tensor, y: torch.Tensor) -> Split:
        return Split(x=x.contiguous().to(device), y=y.contiguous().to(device))

    return Dataset(
        name=name,
        train=split(x_train, y_train),
        val=split(x_val, y_val),
        test=split(x_test, y_test),
        num_classes=meta.num_classes,
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

    ``val_size`` examples (default ``info(name).default_val_size``) are carved
    from the training set by a permutation seeded with ``split_seed``;
    ``train_subset`` keeps the first n remaining training examples and
    ``test_subset`` the first n test examples. ``root`` is where the built-in
    datasets' files are (default :func:`default_root`); registered datasets
    ignore it. Results are cached in-process on all arguments, so repeated
    calls return the same object: do not modify its tensors in place. Raises
    ``ValueError`` for an unknown name or a size out of range (see
    :func:`check_sizes`) and :class:`DatasetUnavailable` when files are missing.
    """
    entry = _entry(name)
    val = check_sizes(name, val_size, train_subset, test_subset)
    where = str(sources.resolve_root(root).resolve()) if entry.info().builtin else ""
    return _load_cached(name, str(torch.device(device)), where, val, split_seed, train_subset, test_subset)


def clear_cache() -> None:
    """Forget every dataset ``load`` has cached (frees its device memory)."""
    _load_cached.cache_clear()


def prepare(name: str, root: str | os.PathLike | None = None) -> str:
    """Make dataset ``name`` available under ``root``; a one-line message says what happened.

    Built-in datasets: :func:`lthlib.engine.sources.prepare` (unpack, install,
    download or generate; :class:`DatasetUnavailable` when nothing works, after
    removing whatever a failed download created). Registered datasets live in
    memory and need nothing. Raises ``ValueError`` for an unknown name.
    """
    if _entry(name).info().builtin:
        return sources.prepare(name, root)
    return f"{name}: registered in this process; nothing to fetch"
