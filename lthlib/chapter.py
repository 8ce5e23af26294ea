"""What a chapter notebook needs: checked parameters, results from the store, and a note on provenance.

A chapter opens with ``book = chapter.open(...)`` on its papermill
parameters. Every parameter is checked there, so a bad value stops the
notebook in its first cells with a message listing the valid ones. Results
come from the store; a missing one is computed only when ``allow_train`` is
true, and is otherwise an error naming the command that computes it. When
``store`` names another directory than the book's committed store, the
committed store is still read first and new results go to ``store``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import torch

from . import experiments
from .config import SCALES, ConfigError, ExperimentConfig, resolve
from .data import DATASETS
from .store import Store, default_root

DEVICES = ("auto", "cpu", "cuda")
CONV_NETWORKS = ("conv2", "conv4", "conv6")


class ParameterError(ValueError):
    """A chapter parameter has a bad value; the message names it and the valid values."""


def check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: {', '.join(map(str, valid))}")


def check_positive_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: a positive integer")


def check_non_negative_int(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: an integer >= 0")


def check_fraction(name: str, value, low_inclusive: bool = True) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        0 <= value < 1 if low_inclusive else 0 < value < 1)
    if not ok:
        interval = "[0, 1)" if low_inclusive else "(0, 1)"
        raise ParameterError(f"parameter {name}={value!r} is not valid; valid: a number in {interval}")


def parse_conv_runs(text: str) -> list[tuple[str, float]]:
    """``"conv2:0,conv4:0.5"`` -> ``[("conv2", 0.0), ("conv4", 0.5)]`` (network and dropout rate)."""
    runs = []
    for item in str(text).split(","):
        network, _, dropout = item.strip().partition(":")
        check_choice("conv_runs network", network, CONV_NETWORKS)
        try:
            rate = float(dropout or 0)
        except ValueError:
            raise ParameterError(f"parameter conv_runs has dropout {dropout!r} in {item!r}; valid: a number in [0, 1)") from None
        check_fraction("conv_runs dropout", rate)
        runs.append((network, rate))
    return runs


@dataclass
class Chapter:
    """A chapter's shared settings and its access to the store."""

    dataset: str
    scale: str
    trials: int
    device: str
    store: Store
    allow_train: bool
    committed: Store | None = None
    used: list = field(default_factory=list)

    def config(self, **fields) -> ExperimentConfig:
        """The resolved config of an experiment with this chapter's dataset, scale and trials."""
        base = dict(dataset=self.dataset, scale=self.scale, trials=self.trials)
        base.update(fields)
        try:
            return resolve(ExperimentConfig(**base))
        except ConfigError as error:
            raise ParameterError(str(error)) from None

    def result(self, **fields) -> dict:
        """The record of ``config(**fields)``: from the committed store, else this chapter's store."""
        config = self.config(**fields)
        record = self.committed.load(config) if self.committed is not None else None
        if record is None:
            record = experiments.result(config, self.store, self.device, allow_train=self.allow_train)
        self.used.append(record)
        return record

    def provenance_note(self) -> str:
        """One sentence: scale, device and total training time of the records used so far."""
        if not self.used:
            return "No stored results were used."
        seconds = sum(r["provenance"]["wall_seconds"] for r in self.used)
        devices = sorted({f"{r['provenance']['device']}, {r['provenance']['threads']} threads" for r in self.used})
        scales = sorted({r["config"]["scale"] for r in self.used})
        untimed = sum(r["provenance"].get("untimed_levels", 0) for r in self.used)
        caveat = (f" The time of {untimed} pruning levels finished before an interruption was not recorded."
                  if untimed else "")
        return (f"The results in this chapter were computed at scale {' and '.join(scales)} on "
                f"{'; '.join(devices)}, in {format_duration(seconds)} of training in all "
                f"({len(self.used)} stored experiments).{caveat}")


def format_duration(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 1:
        return f"{seconds:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def open(dataset: str = "fashion-mnist", scale: str = "book", trials: int = 5, device: str = "auto",
         store: str | None = None, allow_train: bool = False) -> Chapter:
    """Check the common parameters and return the chapter's :class:`Chapter`."""
    check_choice("dataset", dataset, DATASETS)
    check_choice("scale", scale, SCALES)
    check_positive_int("trials", trials)
    check_choice("device", device, DEVICES)
    check_choice("allow_train", allow_train, (True, False))
    if store is not None and not isinstance(store, (str, pathlib.Path)):
        raise ParameterError(f"parameter store={store!r} is not valid; valid: None (the book's store) or a directory")
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("parameter device='cuda' is not valid here: no CUDA device; valid: auto, cpu")
    resolved_device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    committed_root = default_root()
    root = pathlib.Path(store).resolve() if store is not None else committed_root
    committed = Store(committed_root) if root != committed_root else None  # only ever read
    return Chapter(dataset, scale, trials, resolved_device, Store(root, read_only=not allow_train),
                   allow_train, committed)
