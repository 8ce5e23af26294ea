"""``python -m lthlib sweep``: every missing result of a grid of configs, each computed as a task on Ray.

A grid is the product of the values given for each setting
(``--criterion large_final movement --network conv2 conv4`` is four configs).
Every config is resolved, and so checked, before Ray starts; configs that
resolve to the same result are counted once, and results already in the
store are skipped.

The content-addressed store is the only meeting point: each task calls
:func:`lthlib.engine.experiments.result`, which takes the result's file lock, so no
two tasks (of this sweep or of another one) compute the same record, and a
task that finds its result stored reads it instead. On a cluster the store
must be a directory every node sees at the same path (a shared file system),
and every node needs the same lthlib.

With ``together``, iterative sweeps of the grid that differ only in their
mask criterion, mask actions, controls or levels form one task and train as
one batched computation (:func:`lthlib.engine.joint.compute_together`): their
dense level once, then each round of all their levels as one cohort. That is
cheaper on one machine or one GPU; separate tasks spread over more machines.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass

from . import kind
from .config import ExperimentConfig, canonical_json, config_hash, resolve
from .store import Store


@dataclass(frozen=True)
class Outcome:
    """What one task did: ``status`` is ``computed``, ``stored`` (another process had computed it) or ``failed``."""

    experiment: str
    hash: str
    status: str
    seconds: float
    error: str = ""

    def line(self) -> str:
        done = f"{self.status} {self.experiment}/{self.hash} in {self.seconds:.0f} s"
        return f"{done}: {self.error}" if self.error else done


def grid(experiments: list[str], settings: dict[str, list]) -> list[ExperimentConfig]:
    """Every combination of ``experiments`` and the settings' values, resolved, each result once, in order.

    Raises :class:`lthlib.engine.config.ConfigError` naming the first bad combination.
    """
    names = list(settings)
    configs, seen = [], set()
    for experiment in experiments:
        for values in itertools.product(*(settings[name] for name in names)):
            config = resolve(ExperimentConfig(experiment=experiment, **dict(zip(names, values))))
            key = (config.experiment, config_hash(config))
            if key not in seen:
                seen.add(key)
                configs.append(config)
    return configs


class _Trained:
    """A progress sink: a result that neither trained nor resumed here was read from the store."""

    worked = False

    def advance(self, steps: int) -> None:
        self.worked = True

    def resumed(self, level: int) -> None:
        self.worked = True


def compute_one(config: dict, root: str, device: str) -> Outcome:
    """A Ray task: the result of ``config`` in the store at ``root``, computed unless another process did."""
    from . import experiments
    from .config import resolve_device

    resolved = ExperimentConfig.from_dict(config)
    trained, start = _Trained(), time.perf_counter()
    try:
        experiments.result(resolved, Store(root), resolve_device(device), progress=trained)
    except Exception as error:  # reported with its config; the other tasks go on
        return Outcome(resolved.experiment, config_hash(resolved), "failed", time.perf_counter() - start, repr(error))
    status = "computed" if trained.worked else "stored"
    return Outcome(resolved.experiment, config_hash(resolved), status, time.perf_counter() - start)


def tasks(configs, together: bool = False) -> list[list[ExperimentConfig]]:
    """The configs of each task: one each, or with ``together`` every group that can train as one."""
    from . import joint as jointly

    if not together:
        return [[config] for config in configs]
    groups = {}
    for config in configs:
        joint = kind.of(config).extendable
        key = canonical_json(jointly.shared_settings(config)) if joint else config_hash(config)
        groups.setdefault((joint, key), []).append(config)
    return list(groups.values())


def compute_group(configs: list[dict], root: str, device: str) -> list[Outcome]:
    """A Ray task: the results of ``configs`` (one config, or sweeps that train together) in the store at ``root``."""
    from .config import resolve_device
    from .joint import compute_together

    if len(configs) == 1:
        return [compute_one(configs[0], root, device)]
    resolved = [ExperimentConfig.from_dict(config) for config in configs]
    store, start = Store(root), time.perf_counter()
    stored = {config_hash(c) for c in resolved if store.load(c) is not None}
    try:
        compute_together(resolved, store, resolve_device(device))
    except Exception as error:  # reported with its configs; the other tasks go on
        seconds = time.perf_counter() - start
        return [Outcome(c.experiment, config_hash(c), "failed", seconds, repr(error)) for c in resolved]
    seconds = time.perf_counter() - start
    return [
        Outcome(c.experiment, config_hash(c), "stored" if config_hash(c) in stored else "computed", seconds)
        for c in resolved
    ]


class SweepError(RuntimeError):
    """Ray cannot run the sweep as asked (no cluster at the address, a task larger than any machine)."""


ADDRESS_FORMS = "host:port, ray://host:port or auto"
CONNECT_SECONDS = 5.0  # how long an address may take to answer before it is refused as unreachable


def address_problem(address: str | None) -> str | None:
    """Why ``address`` cannot be a Ray cluster to join (malformed, or nothing answers there within
    :data:`CONNECT_SECONDS`), or ``None``. ``None`` and ``"auto"`` are left to Ray: no address starts a local
    instance, and ``auto`` finds one on this machine. Checked before any work, since Ray itself retries an
    unreachable address for minutes."""
    if address is None or address == "auto":
        return None
    match = re.fullmatch(r"(?:ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})", address)
    if not match or not 0 < int(match.group(2)) < 65536:
        return f"--address {address!r} is not valid; valid: {ADDRESS_FORMS}"
    why = unreachable(match.group(1).strip("[]"), int(match.group(2)))
    if why:
        return f"--address {address!r} is not valid: nothing answers there ({why}); valid: {ADDRESS_FORMS}"
    return None


def unreachable(host: str, port: int) -> str | None:
    """Why nothing answers a TCP connection at ``host``:``port`` within :data:`CONNECT_SECONDS`, or ``None``."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def run(
    configs,
    store: Store,
    address: str | None = None,
    device: str = "auto",
    cpus_per_task: int = 1,
    report=print,
    together: bool = False,
):
    """Compute every config of ``configs`` missing from ``store`` on Ray; return the configs' outcomes.

    ``address``: a running Ray cluster (``None`` starts a local one). Each
    task asks for one GPU when the cluster has any and ``device`` is not
    ``cpu``, else ``cpus_per_task`` CPUs. A task whose worker dies is a
    ``failed`` outcome for each of its configs; the other tasks go on.
    ``together``: see :func:`tasks`.
    """
    todo = [config for config in configs if store.load(config) is None]
    report(f"{len(configs)} configs: {len(configs) - len(todo)} already stored, {len(todo)} to compute")
    if not todo:
        return []
    if address is None:  # a local instance: token authentication, Ray's default, set before import so Ray is quiet
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    import ray

    with terminated_as_exit():
        try:
            ray.init(address=address, include_dashboard=False, configure_logging=False, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as error:
            why = " ".join(str(error).split())
            where = (
                f"--address {address!r}: no Ray cluster to join" if address else "a local Ray instance did not start"
            )
            raise SweepError(f"{where} ({why})") from None
        return _run_on_ray(ray, todo, store, device, cpus_per_task, report, together)


def _run_on_ray(ray, todo, store: Store, device: str, cpus_per_task: int, report, together: bool) -> list:
    """:func:`run`'s work once Ray is up: one task per group of ``todo``; Ray is shut down however it ends."""
    try:
        resources = _task_resources(device, cpus_per_task)
        task = ray.remote(compute_group).options(**resources)
        root = str(store.root.resolve())
        pending = {task.remote([c.to_dict() for c in group], root, device): group for group in tasks(todo, together)}
        outcomes = []
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            group = pending.pop(done)
            try:
                finished = ray.get(done)
            except ray.exceptions.RayError as error:  # the worker died (out of memory, killed, lost node)
                finished = [Outcome(c.experiment, config_hash(c), "failed", 0.0, type(error).__name__) for c in group]
            for outcome in finished:
                report(outcome.line())
            outcomes += finished
        return outcomes
    finally:
        ray.shutdown()


@contextlib.contextmanager
def terminated_as_exit():
    """Within it, SIGTERM raises SystemExit (exit status 128 + 15), so that a terminated sweep still runs its
    ``finally``: ``ray.shutdown()`` stops the helper processes of the local Ray instance. (A SIGKILL cannot be
    caught; the helpers of a sweep killed so outlive it.) Only the main thread can set a signal handler; elsewhere
    it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _task_resources(device: str, cpus_per_task: int) -> dict:
    """What one task asks Ray for, checked against the cluster's machines."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    gpus = sum(node.get("GPU", 0) for node in nodes)
    if device == "cuda" and not gpus:
        raise SweepError("--device 'cuda' is not valid: the Ray cluster has no GPU; valid: auto, cpu")
    if gpus and device != "cpu":
        return {"num_gpus": 1}
    largest = max(node.get("CPU", 0) for node in nodes)
    if cpus_per_task > largest:
        raise SweepError(
            f"--cpus-per-task {cpus_per_task} is not valid: the largest machine of the Ray cluster has "
            f"{largest:g} CPUs; valid: 1 to {largest:g}"
        )
    return {"num_cpus": cpus_per_task}
