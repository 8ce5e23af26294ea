"""``python -m lthlib run|verify|bench|data``: every bad argument is one line on stderr and exit code 2."""

from __future__ import annotations

import sys

from .config import EXPERIMENTS, PRECISIONS, ConfigError, ExperimentConfig, field_names, field_types

USAGE = """usage:
  python -m lthlib run EXPERIMENT [--SETTING VALUE ...] [--store DIR] [--device auto|cpu|cuda] [--read-only]
  python -m lthlib verify RECORD [--steps N] [--all-levels] [--device auto|cpu|cuda]
  python -m lthlib bench [--members K] [--steps N] [--networks lenet,conv2] [--precisions float32,bfloat16]
  python -m lthlib data [NAME ...]
EXPERIMENT is one of: {experiments}. SETTINGs: {settings}."""

DEVICES = ("auto", "cpu", "cuda")


class UsageError(Exception):
    """A bad command line; the message is printed on one line."""


def _convert(name: str, text: str):
    kind = field_types()[name]
    if "tuple" in kind:
        return tuple(part for part in text.split(",") if part and part != "none")
    if text.lower() == "none" and "None" in kind:
        return None
    converters = (("int", int, "an integer"), ("float", float, "a number"), ("str", str, "text"))
    for token, convert, description in converters:
        if kind.startswith(token):
            try:
                return convert(text)
            except ValueError:
                raise UsageError(f"--{name.replace('_', '-')} {text!r} is not {description}") from None
    raise UsageError(f"cannot parse --{name}")


def _options(args: list[str], flags: set[str], valued: set[str]) -> tuple[list[str], dict]:
    """Split ``args`` into positionals and ``{option: value}``; ``flags`` take no value."""
    positional, options = [], {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            positional.append(arg)
            i += 1
            continue
        name, has_value, value = arg[2:].partition("=")
        name = name.replace("-", "_")
        if has_value:
            options[name] = value
        elif name in flags:
            options[name] = True
        elif name in valued:
            if i + 1 >= len(args):
                raise UsageError(f"{arg} needs a value")
            options[name] = args[i + 1]
            i += 1
        if name not in valued | flags:
            valid = ", ".join(f"--{v.replace('_', '-')}" for v in sorted(valued | flags))
            raise UsageError(f"unknown option '--{name.replace('_', '-')}'; valid: {valid}")
        i += 1
    return positional, options


def _device(name: str):
    import torch

    if name not in DEVICES:
        raise UsageError(f"--device {name!r} is not valid; valid: {', '.join(DEVICES)}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available; valid here: auto, cpu")
    return name


def parse_run(args: list[str]) -> tuple[ExperimentConfig, dict]:
    settings = set(field_names()) - {"experiment"}
    positional, options = _options(args, {"read_only"}, settings | {"store", "device"})
    if len(positional) != 1:
        raise UsageError(f"run takes one EXPERIMENT, got {positional or 'none'}; valid: {', '.join(EXPERIMENTS)}")
    values = {"experiment": positional[0]}
    values.update({name: _convert(name, value) for name, value in options.items() if name in settings})
    from .config import resolve

    config = ExperimentConfig(**values)
    resolve(config)
    extras = {"store": options.get("store"), "device": _device(options.get("device", "auto")),
              "read_only": bool(options.get("read_only"))}
    return config, extras


class _Bar:
    """A tqdm bar on stderr fed by an experiment's progress reports."""

    def __init__(self, total: int, iterations: int, description: str):
        from tqdm import tqdm

        self.iterations = iterations
        self.bar = tqdm(total=total, desc=description, unit="step", file=sys.stderr, dynamic_ncols=True, miniters=1)

    def advance(self, steps: int) -> None:
        self.bar.update(steps)

    def resumed(self, level: int) -> None:
        self.bar.write(f"resuming after finished level {level}", file=sys.stderr)
        self.bar.update((level + 1) * self.iterations)


def command_run(args: list[str]) -> int:
    from . import experiments
    from .config import config_hash, resolve
    from .store import Store

    config, extras = parse_run(args)
    store = Store(extras["store"], read_only=extras["read_only"])
    resolved = resolve(config)
    record = store.load(config)
    if record is None:
        bar = _Bar(experiments.total_steps(resolved), resolved.iterations, f"{resolved.experiment} {config_hash(resolved)}")
        record = experiments.compute(resolved, store, extras["device"], progress=bar)
        bar.bar.close()
        print(f"computed {store.directory(resolved) / 'record.json'}")
    else:
        print(f"already stored: {store.directory(resolved) / 'record.json'}")
    for line in summary_lines(record):
        print(line)
    return 0


def summary_lines(record: dict) -> list[str]:
    """Mean early-stop test accuracy per level and arm, one line each."""
    table = {}
    for run in record["runs"]:
        table.setdefault((run["level"], run["arm"], round(run["remaining"] * 100, 1)), []).append(run["early_stop"]["test_acc"])
    return [f"level {level:2d} {arm:13s} {remaining:5.1f}% remaining  early-stop test accuracy "
            f"{sum(accs) / len(accs):.4f} (n={len(accs)})"
            for (level, arm, remaining), accs in sorted(table.items())]


def command_verify(args: list[str]) -> int:
    from .verify import verify

    positional, options = _options(args, {"all_levels"}, {"steps", "device"})
    if len(positional) != 1:
        raise UsageError("verify takes one RECORD path (a record.json in the store)")
    steps = _convert_positive("steps", options.get("steps", "200"))
    report = verify(positional[0], steps, _device(options.get("device", "auto")), bool(options.get("all_levels")))
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _convert_positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"--{name} {text!r} is not an integer") from None
    if value <= 0:
        raise UsageError(f"--{name} {value} must be a positive integer")
    return value


def command_bench(args: list[str]) -> int:
    from . import bench

    positional, options = _options(args, set(), {"members", "steps", "networks", "precisions"})
    if positional:
        raise UsageError(f"bench takes no positional arguments, got {positional}")
    networks = tuple(options.get("networks", "lenet,conv2").split(","))
    bad = [n for n in networks if n not in bench.NETWORKS]
    if bad:
        raise UsageError(f"--networks {bad[0]!r} is not valid; valid: {', '.join(bench.NETWORKS)}")
    precisions = tuple(options.get("precisions", "float32,bfloat16").split(","))
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad:
        raise UsageError(f"--precisions {bad[0]!r} is not valid; valid: {', '.join(PRECISIONS)}")
    bench.main(networks, members=_convert_positive("members", options.get("members", "8")),
               steps=_convert_positive("steps", options.get("steps", "60")), precisions=precisions)
    return 0


def command_data(args: list[str]) -> int:
    from . import data

    positional, _ = _options(args, set(), set())
    for name in positional or ["fashion-mnist"]:
        if name not in data.DATASETS:
            raise UsageError(f"unknown dataset {name!r}; valid: {', '.join(data.DATASETS)}")
        print(data.prepare(name))
    return 0


COMMANDS = {"run": command_run, "verify": command_verify, "bench": command_bench, "data": command_data}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(experiments=", ".join(EXPERIMENTS), settings=", ".join(field_names()[1:])))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"lthlib: error: unknown command {command!r}; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except (UsageError, ConfigError) as error:
        print(f"lthlib: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from .data import DatasetUnavailable
        from .store import StoreError

        if isinstance(error, (DatasetUnavailable, StoreError)):
            print(f"lthlib: error: {error}", file=sys.stderr)
            return 1
        raise
