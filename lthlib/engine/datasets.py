"""What a dataset is: its splits as tensors, what is known of it without loading it, its class names.

:mod:`lthlib.engine.data` keeps the table of datasets and loads them into these.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import sources


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
class DatasetInfo:
    """What a dataset is, known without loading it.

    train_size: examples in the training set *before* the validation split is
    carved from it; test_size: examples in the test set; input_shape: one
    example, (C, H, W) for images or (L,) for sequences; default_val_size:
    validation examples when ``load`` gets ``val_size=None``; class_names: one
    per class index 0..num_classes-1; builtin: False for a registered dataset.
    """

    name: str
    train_size: int
    test_size: int
    input_shape: tuple[int, ...]
    num_classes: int
    default_val_size: int
    class_names: tuple[str, ...]
    builtin: bool = True

    @property
    def unit(self) -> str:
        """What one example is called in messages: "images" or "sequences"."""
        return "images" if len(self.input_shape) == 3 else "sequences"


@dataclass(frozen=True)
class Entry:
    """How a dataset of the table is had: ``read(root)`` gives its raw tensors, ``info()`` what it is."""

    read: Callable[[pathlib.Path], sources.Raw]
    info: Callable[[], DatasetInfo]


CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "mnist": tuple(str(d) for d in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "mnist1d": tuple(str(d) for d in range(10)),
}
