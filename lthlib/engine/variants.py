"""Variants of a dataset, named ``"<dataset>:<variant>"``: the same files, changed by one small function.

Each variant is a function of (its argument, the base dataset's
:class:`lthlib.engine.data.DatasetInfo` ``meta``, the base's entry ``base``,
whose ``read(root)`` gives its raw tensors) that checks the argument and
returns how the raw tensors change and a function giving the variant's train
size, test size and class names. :mod:`lthlib.engine.data` names and caches
the variants it makes from these.
"""

from __future__ import annotations

import functools

import torch

from . import sources

# A variant of a dataset is named "<dataset>:<variant>", e.g. "fashion-mnist:classes=0-4": the same files,
# changed by one small function of the raw tensors. The review's transfer and overfitting questions use them.
VARIANT_HELP = (
    "classes=A-B or classes=A,B,... (those classes, relabelled 0..), inverted, rotated, tilted, half=a, half=b"
)
TILT_DEGREES = 30.0
_HALF_SEED = 20190801  # the halves of a training set are fixed, whatever the experiment's seeds


def _parse_classes(argument: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,3,5"`` -> [1, 3, 5]; ``[]`` when it is neither."""
    try:
        if "-" in argument:
            low, high = (int(part) for part in argument.split("-"))
            return list(range(low, high + 1))
        return [int(part) for part in argument.split(",")]
    except ValueError:
        return []


def canonical(kind: str, argument: str) -> str:
    """The one spelling of a variant's argument: a run of two or more consecutive classes as ``A-B`` (the spelling
    the committed records use), other class lists as ``A,B,...`` in the order given (the order is the relabelling,
    so it is part of the computation). Other arguments, and class lists that cannot be read (the variant refuses
    them), are returned as they are."""
    if kind != "classes":
        return argument
    chosen = _parse_classes(argument)
    if not chosen:
        return argument
    if len(chosen) >= 2 and chosen == list(range(chosen[0], chosen[0] + len(chosen))):
        return f"{chosen[0]}-{chosen[-1]}"
    return ",".join(str(c) for c in chosen)


def _class_list(argument: str, meta) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"1,3,5"`` -> [1, 3, 5]; at least two distinct classes of ``meta``."""
    chosen = _parse_classes(argument)
    if len(chosen) < 2 or len(set(chosen)) < len(chosen) or not all(0 <= c < meta.num_classes for c in chosen):
        raise ValueError(
            f"classes={argument!r} of {meta.name} is not valid; valid: two or more distinct classes from 0 to "
            f"{meta.num_classes - 1}, as A-B or A,B,..."
        )
    return chosen


def _keep_classes(raw: sources.Raw, chosen: list[int]) -> sources.Raw:
    lookup = torch.full((max(chosen) + 1,), -1, dtype=torch.int64)
    lookup[chosen] = torch.arange(len(chosen))
    keep_train, keep_test = torch.isin(raw.y_train, torch.tensor(chosen)), torch.isin(raw.y_test, torch.tensor(chosen))
    return sources.Raw(
        raw.x_train[keep_train], lookup[raw.y_train[keep_train]], raw.x_test[keep_test], lookup[raw.y_test[keep_test]]
    )


def _half(raw: sources.Raw, which: str) -> sources.Raw:
    order = torch.randperm(len(raw.y_train), generator=torch.Generator().manual_seed(_HALF_SEED))
    half = order[: len(order) // 2] if which == "a" else order[len(order) // 2 :]
    return sources.Raw(raw.x_train[half], raw.y_train[half], raw.x_test, raw.y_test)


def _images_only(kind: str, meta) -> None:
    if len(meta.input_shape) != 3:
        raise ValueError(f"variant {kind!r} needs images; {meta.name}'s examples are sequences; valid: classes, half")


def _classes_variant(argument: str, meta, base):
    chosen = _class_list(argument, meta)

    @functools.cache
    def described() -> tuple[int, int]:
        raw = base.read(sources.resolve_root(None))
        return int(torch.isin(raw.y_train, torch.tensor(chosen)).sum()), int(
            torch.isin(raw.y_test, torch.tensor(chosen)).sum()
        )

    return (
        lambda raw: _keep_classes(raw, chosen),
        lambda: (*described(), tuple(meta.class_names[c] for c in chosen)),
    )


def _half_variant(argument: str, meta, base):
    if argument not in ("a", "b"):
        raise ValueError(f"half={argument!r} of {meta.name} is not valid; valid: half=a, half=b")
    size = meta.train_size // 2 if argument == "a" else meta.train_size - meta.train_size // 2
    return (lambda raw: _half(raw, argument), lambda: (size, meta.test_size, meta.class_names))


def _pixel_variant(kind: str, change):
    def variant(argument: str, meta, base):
        _images_only(kind, meta)
        if argument:
            raise ValueError(f"variant {kind!r} takes no value; got {kind}={argument}; valid: {kind}")
        return (
            lambda raw: sources.Raw(change(raw.x_train), raw.y_train, change(raw.x_test), raw.y_test),
            lambda: (meta.train_size, meta.test_size, meta.class_names),
        )

    return variant


def _tilted(x: torch.Tensor) -> torch.Tensor:
    """Images rotated by :data:`TILT_DEGREES` counter-clockwise about their centre, bilinear, corners filled with 0."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2.functional import rotate

    return rotate(x, TILT_DEGREES, interpolation=InterpolationMode.BILINEAR).contiguous()


# Each variant: a function of (argument, the base's info, the base's entry) that checks the argument and returns
# (how the raw tensors change, a function giving the variant's train size, test size and class names).
# For a fully-connected network trained with Adam, "inverted" and "rotated" are exact symmetries: after the
# per-channel standardisation, inverted images are the negated originals and a quarter turn permutes the pixels,
# so training on them equals training on the originals with the first layer's weights negated or its inputs
# permuted. "tilted" (a rotation that interpolates) is a shift no reparametrisation of the first layer undoes.
VARIANTS = {
    "classes": _classes_variant,
    "half": _half_variant,
    "inverted": _pixel_variant("inverted", lambda x: 1.0 - x),
    "rotated": _pixel_variant("rotated", lambda x: torch.rot90(x, 1, dims=(2, 3)).contiguous()),
    "tilted": _pixel_variant("tilted", _tilted),
}
