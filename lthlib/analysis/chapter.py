"""What a chapter notebook needs: checked parameters, results from the store, and a note on provenance.

A chapter opens with ``book = chapter.open(name=..., ...)`` on its papermill
parameters: its entry in :mod:`lthlib.analysis.chapters` says which it has,
and a parameter left at ``None`` means "the scale decides" (its value comes
from the chapter's defaults there, then from
:data:`lthlib.analysis.parameters.SCALE_DEFAULTS`: ``book`` holds the values
the committed results were computed with, so the book reads the committed
store; ``smoke`` runs in seconds; ``paper`` is the papers' settings). Every
parameter is checked there, alone (:data:`lthlib.analysis.parameters.CHECKS`)
and together with the others (:mod:`lthlib.analysis.checks`: the rewinding
iteration against the training length at that scale, the convolutional runs
against the dataset), so a bad value stops the notebook in its first cells
with a :class:`ParameterError` that names it and the valid values.

Results come from the store; a missing one is computed only when
``allow_train`` is true, with a progress bar, and is otherwise an error naming
the command that computes it. When ``store`` names another directory than the
book's committed store, a result is read there, else from the committed
store (the store's one lookup order, :class:`lthlib.engine.store.Store`), and
new results go to ``store``.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from types import SimpleNamespace

import pandas as pd

from ..engine import data, experiments, joint, kind
from ..engine.config import DEVICES, SCALES, ConfigError, ExperimentConfig, config_hash, resolve, resolve_device
from ..engine.models import NETWORK_NAMES
from ..engine.store import Store, StoreError, default_root
from . import chapters, provenance
from .parameters import (
    CHECKS,
    CONV_FIELDS,
    CONV_NETWORKS,
    LENET_FIELDS,
    ConvRun,
    ParameterError,
    check_choice,
    check_dataset,
    parse_conv_runs,
    parse_probe_run,
    parse_short_run,
    refuse,
)
from .progress import ProgressBar

DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST", "cifar10": "CIFAR-10", "mnist1d": "MNIST-1D"}


def is_image_dataset(name: str) -> bool:
    """Whether ``name``'s examples are images (convolutional networks need them); mnist1d's are 1-D sequences."""
    return len(data.info(name).input_shape) == 3


@dataclass
class Chapter:
    """A chapter's shared settings, its resolved parameters and its access to the store."""

    dataset: str
    scale: str
    trials: int
    device: str
    store: Store
    allow_train: bool
    used: list = field(default_factory=list)
    parameters: SimpleNamespace = field(default_factory=SimpleNamespace)
    given: frozenset = frozenset()
    name: str | None = None

    @property
    def spec(self) -> chapters.ChapterSpec:
        """The chapter's entry in :mod:`lthlib.analysis.chapters` (its parameters, defaults, checks and paper)."""
        return chapters.find(self.name)

    @property
    def images(self) -> bool:
        """Whether the dataset is made of images; if not, sections on convolutional networks are skipped."""
        return is_image_dataset(self.dataset)

    @property
    def main_network(self) -> str:
        """The network of the chapter's main sweeps: its parameter ``network`` where it has one, else LeNet-300-100.
        The parameters iterations, eval_every and levels set its runs."""
        return getattr(self.parameters, "network", "lenet")

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks this dataset can feed: LeNet always, the convolutional networks on images only."""
        return ("lenet", *CONV_NETWORKS) if self.images else ("lenet",)

    @property
    def conv_runs(self) -> list[ConvRun]:
        """The convolutional runs: ``conv_runs`` parsed, empty on a dataset without images."""
        if not self.images or not hasattr(self.parameters, "conv_runs"):
            return []
        return parse_conv_runs(self.parameters.conv_runs)

    @property
    def short_run(self) -> dict | None:
        """The settings of the shorter LeNet run the chapter compares with (``short_run`` parsed), or ``None``."""
        return parse_short_run(getattr(self.parameters, "short_run", ""))

    @property
    def probe_run(self) -> dict | None:
        """The settings of the long dense LeNet run (``probe_run`` parsed), or ``None``."""
        return parse_probe_run(getattr(self.parameters, "probe_run", ""))

    @property
    def conv_skipped(self) -> str | None:
        """Why the sections on convolutional networks are skipped (a clause), or ``None`` when they run."""
        if not self.images:
            shape = data.info(self.dataset).input_shape
            return (
                f"the convolutional networks need images, and the examples of {self.dataset} are "
                f"one-dimensional sequences of length {shape[0]}"
            )
        if hasattr(self.parameters, "conv_runs") and not self.conv_runs:
            return "the parameter conv_runs is empty"
        return None

    def conv_settings(self, experiment: str = "imp") -> dict:
        """The experiment settings of the convolutional runs set by the conv_* parameters (unset ones omitted)."""
        settings = {}
        for name, setting in CONV_FIELDS.items():
            value = getattr(self.parameters, name, None)
            if value is None or (setting == "levels" and experiment == "dense"):
                continue
            settings[setting] = value
        return settings

    def conv_run_settings(self, run: ConvRun) -> dict:
        """The experiment settings of one of the ``conv_runs``: the conv_* parameters, then the run's own."""
        return {**self.conv_settings(), "dropout": run.dropout, **dict(run.own)}

    def lenet_settings(self, experiment: str = "imp") -> dict:
        """The experiment settings of the main network's runs (LeNet-300-100 unless the chapter has a ``network``
        parameter) set by the chapter's parameters iterations, eval_every and levels (unset ones omitted)."""
        names = [name for name in LENET_FIELDS if not (name == "levels" and experiment == "dense")]
        return {
            name: getattr(self.parameters, name) for name in names if getattr(self.parameters, name, None) is not None
        }

    def lenet_config(self, experiment: str = "imp", **fields) -> ExperimentConfig:
        """The resolved config of a run of this chapter's main network (its parameters, then ``fields``)."""
        settings = {"network": self.main_network, **self.lenet_settings(experiment), **fields}
        return self.config(experiment=experiment, **settings)

    def config(self, **fields) -> ExperimentConfig:
        """The resolved config of an experiment with this chapter's dataset, scale and trials."""
        base = dict(dataset=self.dataset, scale=self.scale, trials=self.trials)
        base.update(fields)
        try:
            return resolve(ExperimentConfig(**base))
        except ConfigError as error:
            raise ParameterError(str(error)) from None

    def dense_config(self, network: str) -> ExperimentConfig:
        """The resolved config of ``network``'s dense run here (conv_* parameters for conv nets, LeNet's for LeNet)."""
        settings = self.conv_settings("dense") if network in CONV_NETWORKS else self.lenet_settings("dense")
        return self.config(experiment="dense", network=network, **settings)

    def result(self, **fields) -> dict:
        """The record of ``config(**fields)``: this chapter's store, else the committed one (:meth:`Store.load`).

        A record computed here shows a progress bar while it trains; a stored one shows nothing. Without
        ``allow_train`` the store is read-only, and a missing record is an error naming the command.
        """
        config = self.config(**fields)
        record = self.store.load(config)
        if record is None:
            with ProgressBar(config) as bar:
                record = experiments.result(config, self.store, self.device, progress=bar)
        self.used.append(record)
        return record

    def results_together(self, *field_sets: dict) -> list[dict]:
        """The records of ``config(**fields)`` for each of ``field_sets``: iterative sweeps that differ only in
        :data:`lthlib.engine.joint.ARM_FIELDS`; the missing ones are trained together, with one progress bar.

        Read as :meth:`result` reads; without ``allow_train`` a missing one is an error naming the command.
        """
        configs = [self.config(**fields) for fields in field_sets]
        try:
            joint.check_joint(configs)
        except joint.JointError as error:
            raise ParameterError(str(error)) from None
        records = [self.store.load(c) for c in configs]
        missing = [c for c, record in zip(configs, records) if record is None]
        if missing:
            with ProgressBar(max(missing, key=lambda c: c.levels)) as bar:
                computed = joint.compute_together(missing, self.store, self.device, progress=bar)
            found = {config_hash(c): record for c, record in zip(missing, computed)}
            records = [record or found[config_hash(c)] for c, record in zip(configs, records)]
        self.used += records
        return records

    def provenance_note(self) -> str:
        """One sentence: scale, device and total training time of the records used so far
        (:func:`lthlib.analysis.provenance.provenance_note`)."""
        return provenance.provenance_note(self.used)

    def settings_table(self) -> pd.DataFrame:
        """This chapter's settings beside its paper's (its entry's ``paper``), from the configs of the records used.

        One row per setting (dataset, networks, training length, training images, trials, precision,
        hardware); where networks differ, the value is given per network. The row *training images* is shown only
        where a run learns from a subset of the training set.
        """
        records = self.used
        here = {
            "dataset": DATASET_NAMES.get(self.dataset, self.dataset),
            "networks": ", ".join(dict.fromkeys(NETWORK_NAMES[r["config"]["network"]] for r in records)),
            "training length": _per_network(
                records,
                lambda c: f"{c['iterations']:,} iterations, evaluated every {c['eval_every']:,}",
            ),
            "training images": _per_network(records, _training_images),
            "trials": _per_network(records, lambda c: f"{c['trials']}", kind=True),
            "precision": _per_network(records, lambda c: c["precision"]),
            "hardware": "; ".join(
                sorted({f"{r['provenance']['device']}, {r['provenance']['threads']} threads" for r in records})
            ),
        }
        if not any(record["config"]["train_subset"] for record in records):
            del here["training images"]
        paper, box = self.spec.paper
        return pd.DataFrame(
            [{"setting": name, "this chapter": value, paper: box[name]} for name, value in here.items()]
        )

    def parameters_table(self) -> pd.DataFrame:
        """The value of every scale-driven parameter and where it came from (given, or the scale's table)."""
        rows = []
        conv_networks = list(dict.fromkeys(run.network for run in self.conv_runs))
        if not conv_networks and self.images and getattr(self.parameters, "conv_network", None):
            conv_networks = [self.parameters.conv_network]
        for name, value in self.parameter_values().items():
            if name.startswith("conv_") and not self.images:
                shown = "not used: no images"
            elif name.startswith("conv_") and name != "conv_runs" and self.conv_skipped:
                shown = "not used: conv_runs is empty"
            elif name in CONV_FIELDS and value is None:
                shown = self._describe_unset(name, conv_networks)
            elif name in LENET_FIELDS and value is None:
                shown = f"{getattr(self.lenet_config(), name):,}"
            else:
                shown = "none" if value == "" else f"{value:,}" if isinstance(value, int) else str(value)
                shown = shown.replace(",", ", ") if isinstance(value, str) else shown  # lists wrap in a narrow column
            rows.append(
                {"parameter": name, "value": shown, "from": "given" if name in self.given else f"scale {self.scale}"}
            )
        return pd.DataFrame(rows)

    def parameter_values(self) -> dict:
        """Every scale-driven parameter of this chapter as resolved: ``trials`` first, then the chapter's own."""
        return {"trials": self.trials, **vars(self.parameters)}

    def _describe_unset(self, name: str, networks: list[str]) -> str:
        """An unset convolutional setting as the configs resolve it, per network when they differ."""
        setting = CONV_FIELDS[name]
        values = {}
        for network in networks:
            value = getattr(self.config(experiment="imp", network=network, **self.conv_settings()), setting)
            if value is None and setting == "val_size":
                value = f"{data.info(self.dataset).default_val_size:,} (the dataset's default)"
            elif value is None and setting == "test_subset":
                value = "the full test set"
            values[network] = f"{value:,}" if isinstance(value, int) else str(value)
        if len(set(values.values())) <= 1:
            return next(iter(values.values()), "the experiment's default")
        return "; ".join(f"{network} {value}" for network, value in values.items())


def experiment_kind(config: dict) -> str:
    """What a record's experiment is called in the text: dense, iterative or one-shot pruning, rewinding."""
    if config["experiment"] == "imp" and config["rewind"]:
        return f"rewinding to {config['rewind']:,}"
    return kind.KINDS[config["experiment"]].description


def _training_images(config: dict) -> str:
    """How many training examples a run of ``config`` learns from, and how they were chosen."""
    meta = data.info(config["dataset"])
    left = meta.train_size - data.check_sizes(config["dataset"], config["val_size"])
    if config["train_subset"] is None or config["train_subset"] >= left:
        return f"all {left:,} outside the validation set"
    return f"{config['train_subset']:,} of the {left:,} outside the validation set"


def _per_network(records: list[dict], describe, kind: bool = False) -> str:
    """``describe(config)`` for each record, merged: one value, or "value (who); other (who)" when they differ.

    who is the network (and, with ``kind``, the experiment) of the records that share a value.
    """
    groups: dict[str, list[str]] = {}
    for record in records:
        config = record["config"]
        who = NETWORK_NAMES[config["network"]] + (f" {experiment_kind(config)}" if kind else "")
        names = groups.setdefault(describe(config), [])
        if who not in names:
            names.append(who)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{value} ({', '.join(who)})" for value, who in groups.items())


def open(
    dataset: str = "fashion-mnist",
    scale: str = "book",
    trials: int | None = None,
    device: str = "auto",
    store: str | None = None,
    allow_train: bool = False,
    name: str | None = None,
    **knobs,
) -> Chapter:
    """Check the parameters, fill those left at ``None`` from the chapter's defaults at the scale, and return the
    :class:`Chapter`; a bad value is a :class:`ParameterError` before any work.

    ``name`` is the chapter's (its notebook's): its entry in :mod:`lthlib.analysis.chapters` says which ``knobs``
    it takes (its own parameters, e.g. ``levels=None, rewind=None, conv_runs=None``; their resolved values are
    ``book.parameters.<name>``), their defaults where they differ from the scale's, and the checks of them together.
    Without a name, any parameter of :data:`lthlib.analysis.parameters.CHECKS` is taken and every check runs.
    """
    refuse(_problem_alone(dataset, scale, trials, device, allow_train, store, name, knobs))
    spec = chapters.find(name)
    defaults = spec.scale_defaults(scale)
    given, values = set(), {}
    for knob, value in {"trials": trials, **knobs}.items():
        if value is None:
            value = defaults[knob]
            if isinstance(value, str):
                value = value.format(dataset=dataset)  # defaults that name a variant of the chapter's dataset
        else:
            given.add(knob)
        values[knob] = value
    try:
        resolved_device = resolve_device(device)
        committed_root = default_root()
        root = pathlib.Path(store).resolve() if store not in (None, "") else committed_root
        committed = Store(committed_root) if root != committed_root else None  # only ever read
        results = Store(root if store != "" else "", read_only=not allow_train, fallback=committed)
        if allow_train:
            results.check_writable()
    except (ConfigError, StoreError) as error:
        refuse(f"parameter {'store' if isinstance(error, StoreError) else 'device'}: {error}")
    trials = values.pop("trials")
    book = Chapter(
        dataset,
        scale,
        trials,
        resolved_device,
        results,
        allow_train,
        parameters=SimpleNamespace(**values),
        given=frozenset(given),
        name=name,
    )
    _fit_levels(book)
    for check in spec.checks:
        refuse(check(book))
    return book


def _problem_alone(dataset, scale, trials, device, allow_train, store, name, knobs: dict) -> str | None:
    """The first parameter that is bad on its own, in a message naming it and the valid values, or ``None``."""
    problem = (
        check_dataset("dataset", dataset)
        or check_choice("scale", scale, SCALES)
        or check_choice("device", device, DEVICES)
        or check_choice("allow_train", allow_train, (True, False))
    )
    if problem:
        return problem
    unknown = sorted(set(knobs) - set(CHECKS))
    if unknown:
        return f"unknown chapter parameter {unknown[0]!r}; valid: {', '.join(CHECKS)}"
    if store is not None and not isinstance(store, (str, pathlib.Path)):
        return f"parameter store={store!r} is not valid; valid: None (the book's store) or a directory"
    problem = check_choice("name", name, (None, *chapters.names()))
    if problem:
        return problem
    spec = chapters.find(name)
    if knobs.get("network") not in (None, "lenet") and "network" not in spec.parameters:
        return (
            f"parameter network does not apply to chapter {name!r}, whose runs are LeNet-300-100 and, where it has "
            f"conv_* parameters, the convolutional networks they name; valid: leave it out, or a chapter among "
            f"{', '.join(chapters.NETWORK_CHAPTERS)}"
        )
    foreign = [knob for knob in knobs if knob not in spec.parameters]
    if foreign:
        return f"parameter {foreign[0]} does not apply to chapter {name!r}; valid: {', '.join(spec.parameters)}"
    for knob, value in {"trials": trials, **knobs}.items():
        if value is not None:
            problem = CHECKS[knob](knob, value)
            if problem:
                return problem
    return None


def _fit_levels(book: Chapter) -> None:
    """extra_levels and action_levels count the levels of sweeps compared with the main one: left at the scale's
    default, each shrinks to the main sweep's levels where it would go deeper (given, the checks refuse it there)."""
    try:
        levels = book.lenet_config().levels
    except ParameterError:
        return  # the checks name the settings that do not resolve
    for name in ("extra_levels", "action_levels"):
        value = getattr(book.parameters, name, None)
        if value is not None and value > levels and name not in book.given:
            setattr(book.parameters, name, levels)
