"""``python -m lthlib run|sweep|verify|bench|data|chapter``: every bad argument is one line on stderr and exit code 2.

The options of ``run`` are generated from the fields of
:class:`lthlib.engine.config.ExperimentConfig` (name, type and help text), and every
value is checked by :func:`lthlib.engine.config.resolve` before any work starts,
together with the store (a writable directory) and the device.
"""

from __future__ import annotations

import argparse
import sys

from ..engine.config import (
    DEVICES,
    PRECISIONS,
    ConfigError,
    ExperimentConfig,
    field_help,
    field_names,
    field_types,
    resolve_device,
)
from ..engine.kind import names as experiment_kinds
from .arguments import Once, OnceFlag, Parser, UsageError


def _converter(name: str):
    """The text -> value function of config field ``name`` (from its annotation), with one-line errors."""
    kind = field_types()[name]
    option = f"--{name.replace('_', '-')}"

    def convert(text: str):
        if "tuple" in kind:
            return tuple(part for part in text.split(",") if part and part != "none")
        if text.lower() == "none" and "None" in kind:
            return None
        for token, parse, description in (
            ("int", int, "an integer"),
            ("float", float, "a number"),
            ("str", str, "text"),
        ):
            if kind.startswith(token):
                try:
                    return parse(text)
                except ValueError:
                    raise UsageError(f"{option} {text!r} is not {description}") from None
        raise UsageError(f"cannot parse {option}")

    return convert


def _positive(option: str):
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UsageError(f"{option} {text!r} is not an integer") from None
        if value <= 0:
            raise UsageError(f"{option} {value} must be a positive integer")
        return value

    return convert


def _settings_parser(prog: str, grid: bool) -> Parser:
    """``EXPERIMENT --SETTING VALUE ...`` (one value each), or with ``grid`` one or more experiments and values."""
    parser = Parser(prog=prog, allow_abbrev=False)
    many = {"nargs": "+"} if grid else {}
    parser.add_argument("experiment", help=f"one of: {', '.join(experiment_kinds())}", **many)
    helps = field_help()
    for name in field_names():
        if name == "experiment":
            continue
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=_converter(name),
            action=Once,
            default=argparse.SUPPRESS,
            help=helps[name] + (" (one or more values)" if grid else ""),
            **many,
        )
    parser.add_argument("--store", action=Once, help="result store directory (default: the book's)")
    parser.add_argument("--device", action=Once, default="auto", help=", ".join(DEVICES))
    return parser


def _run_parser() -> Parser:
    parser = _settings_parser("python -m lthlib run", grid=False)
    parser.add_argument("--read-only", action=OnceFlag, help="a missing result is an error, nothing is computed")
    return parser


def _parse(parser: Parser, args: list[str]) -> argparse.Namespace:
    known = {option for action in parser._actions for option in action.option_strings}
    for arg in args:
        option = arg.split("=", 1)[0]
        if option.startswith("--") and option not in known:
            raise UsageError(f"unknown option {option!r}; valid: {', '.join(sorted(known - {'-h', '--help'}))}")
    namespace = parser.parse_args(args)
    namespace.__dict__.pop("_given", None)
    return namespace


def parse_run(args: list[str]) -> tuple[ExperimentConfig, dict]:
    """The config and the run's other options (store, device, read_only), all checked before any work."""
    from ..engine.store import Store

    options = vars(_parse(_run_parser(), args))
    if options["experiment"] not in experiment_kinds():
        raise UsageError(f"experiment {options['experiment']!r} is not valid; valid: {', '.join(experiment_kinds())}")
    settings = {name: options[name] for name in field_names() if name in options}
    config = ExperimentConfig(**settings)
    from ..engine.config import resolve

    resolve(config)
    store = Store(options["store"], read_only=options["read_only"])
    if not store.read_only:
        store.check_writable()
    extras = {"store": store, "device": resolve_device(options["device"]), "read_only": options["read_only"]}
    return config, extras


def command_run(args: list[str]) -> int:
    from ..analysis.progress import ProgressBar
    from ..engine import experiments
    from ..engine.config import resolve

    config, extras = parse_run(args)
    store, resolved = extras["store"], resolve(config)
    with ProgressBar(resolved) as bar:
        record = experiments.result(resolved, store, extras["device"], allow_train=not store.read_only, progress=bar)
    path = store.directory(resolved) / "record.json"
    print(f"computed {path}" if bar.started else f"already stored: {path}")
    for line in summary_lines(record):
        print(line)
    return 0


def summary_lines(record: dict) -> list[str]:
    """Mean percent remaining and early-stop test accuracy per level and arm, one line each.

    The trials of a level share their size when pruned, not when their masks are learned (supermasks).
    """
    table = {}
    for run in record["runs"]:
        table.setdefault((run["level"], run["arm"]), []).append((run["remaining"], run["early_stop"]["test_acc"]))
    lines = []
    for (level, arm), runs in sorted(table.items()):
        remaining, accuracy = (sum(values) / len(runs) for values in zip(*runs))
        lines.append(
            f"level {level:2d} {arm:13s} {100 * remaining:5.1f}% remaining  early-stop test accuracy "
            f"{accuracy:.4f} (n={len(runs)})"
        )
    return lines


def command_verify(args: list[str]) -> int:
    from ..engine.verify import verify

    parser = Parser(prog="python -m lthlib verify", allow_abbrev=False)
    parser.add_argument("record", help="a result folder of the store, or its record.json")
    parser.add_argument("--steps", type=_positive("--steps"), default=200, action=Once)
    parser.add_argument("--all-levels", action=OnceFlag)
    parser.add_argument("--trials", type=_positive("--trials"), default=None, action=Once)
    parser.add_argument("--device", default="auto", action=Once)
    options = _parse(parser, args)
    report = verify(options.record, options.steps, resolve_device(options.device), options.all_levels, options.trials)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def command_sweep(args: list[str]) -> int:
    from ..engine import sweep
    from ..engine.store import Store

    parser = _settings_parser("python -m lthlib sweep", grid=True)
    parser.add_argument("--address", action=Once, help="a running Ray cluster (default: start a local one)")
    parser.add_argument("--cpus-per-task", type=_positive("--cpus-per-task"), default=1, action=Once)
    parser.add_argument(
        "--together",
        action=OnceFlag,
        help="train iterative sweeps that differ only in criterion, mask1, mask0, controls or levels as one "
        "batched computation (one task each group)",
    )
    options = vars(_parse(parser, args))
    bad = [name for name in options["experiment"] if name not in experiment_kinds()]
    if bad:
        raise UsageError(f"experiment {bad[0]!r} is not valid; valid: {', '.join(experiment_kinds())}")
    settings = {name: options[name] for name in field_names() if name in options and name != "experiment"}
    configs = sweep.grid(options["experiment"], settings)
    device = options["device"]
    if device not in DEVICES:  # resolved on each worker: the driver need not have the workers' GPUs
        raise UsageError(f"--device {device!r} is not valid; valid: {', '.join(DEVICES)}")
    problem = sweep.address_problem(options["address"])
    if problem:
        raise UsageError(problem)
    store = Store(options["store"])
    store.check_writable()
    try:
        outcomes = sweep.run(
            configs, store, options["address"], device, options["cpus_per_task"], together=options["together"]
        )
    except sweep.SweepError as error:
        raise UsageError(str(error)) from None
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0


def _choices(option: str, valid):
    def convert(text: str) -> tuple[str, ...]:
        values = tuple(text.split(","))
        bad = [v for v in values if v not in valid]
        if bad:
            raise UsageError(f"{option} {bad[0]!r} is not valid; valid: {', '.join(valid)}")
        return values

    return convert


def _sizes(option: str):
    """A comma-separated list of positive integers, e.g. cohort sizes ``1,8,24``."""
    one = _positive(option)
    return lambda text: tuple(one(part) for part in text.split(","))


def command_bench(args: list[str]) -> int:
    from ..engine import bench

    parser = Parser(prog="python -m lthlib bench", allow_abbrev=False)
    parser.add_argument("--members", type=_positive("--members"), default=8, action=Once)
    parser.add_argument("--steps", type=_positive("--steps"), default=60, action=Once)
    parser.add_argument(
        "--networks", type=_choices("--networks", bench.NETWORKS), default=("lenet", "conv2", "conv4"), action=Once
    )
    parser.add_argument("--precisions", type=_choices("--precisions", PRECISIONS), default=PRECISIONS, action=Once)
    parser.add_argument("--profile", type=_sizes("--profile"), default=(), action=Once)
    options = _parse(parser, args)
    bench.main(options.networks, options.members, options.steps, options.precisions, options.profile)
    return 0


def command_data(args: list[str]) -> int:
    from ..engine import data

    parser = Parser(prog="python -m lthlib data", allow_abbrev=False)
    parser.add_argument("names", nargs="*", type=_choices("dataset", data.names()), default=[("fashion-mnist",)])
    options = _parse(parser, args)
    for (name,) in options.names:
        print(data.prepare(name))
    return 0


def command_chapter(args: list[str]) -> int:
    from . import chapter_run

    return chapter_run.main(args)


COMMANDS = {
    "run": command_run,
    "sweep": command_sweep,
    "verify": command_verify,
    "bench": command_bench,
    "data": command_data,
    "chapter": command_chapter,
}

USAGE = """usage:
  python -m lthlib run EXPERIMENT [--SETTING VALUE ...] [--store DIR] [--device auto|cpu|cuda] [--read-only]
  python -m lthlib sweep EXPERIMENT ... [--SETTING VALUE ...] ... [--store DIR] [--address RAY] [--cpus-per-task N]
  python -m lthlib verify RECORD [--steps N] [--all-levels] [--trials N] [--device auto|cpu|cuda]
  python -m lthlib bench [--members K] [--steps N] [--networks lenet,conv2,conv4] [--precisions float32,bfloat16]
                   [--profile 1,8,24]
  python -m lthlib data [NAME ...]
  python -m lthlib chapter NAME [-p KEY VALUE ...]
EXPERIMENT is one of: {experiments}. `python -m lthlib run EXPERIMENT --help` lists the SETTINGs."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(experiments=", ".join(experiment_kinds())))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"lthlib: error: unknown command {command!r}; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    from ..engine.data import DatasetUnavailable
    from ..engine.store import StoreError
    from ..engine.train import Diverged

    try:
        return COMMANDS[command](rest)
    except (UsageError, ConfigError, DatasetUnavailable, StoreError, Diverged) as error:
        message = " ".join(str(error).split())
        print(f"lthlib: error: {message}", file=sys.stderr)
        return 2
