"""Where a result comes from: the library source that computed it, the git commit, the processor, the times.

A record's provenance says which code computed which levels (a run resumed
or extended by another process notes its own code from the level it went
on from), on which processor (which decides whether it reproduces to the
last bit, see :mod:`lthlib.engine.verify`), and how long it trained.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib
import platform
import subprocess
import time

import torch

from .. import __version__

PACKAGE = pathlib.Path(__file__).resolve().parent.parent  # lthlib itself, all layers


def _git(*args) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=PACKAGE)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _git_commit() -> str | None:
    return _git("rev-parse", "--verify", "-q", "HEAD")


def source_digest(package: pathlib.Path) -> str:
    """The first 16 hex digits of a SHA-256 over the paths (relative to ``package``) and contents of the ``*.py``
    files in ``package`` and its subfolders."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def code_version() -> dict:
    """The library source this process runs: ``lthlib_sha256``, a digest of the package's Python files (names and
    contents), which identifies it with or without git; the git commit, and whether the package's files differ
    from it (``None`` outside a git clone)."""
    status = _git("status", "--porcelain", "--", ".")
    return {
        "lthlib_sha256": source_digest(PACKAGE),
        "git_commit": _git_commit(),
        "lthlib_modified": None if status is None else bool(status),
    }


code_version()  # read once, at import: the source this process loaded, not what the files say hours later


def note_fresh_start(state) -> None:
    """A run computed from level 0 by this process: its code is this process's."""
    if not state.code and not state.resumed_after_levels and not state.extended_from:
        state.code.append({"from_level": 0, **code_version()})


def note_resume(state) -> None:
    """This process goes on from ``state.level``: the levels after it are its code's."""
    state.resumed_after_levels.append(state.level)
    state.code.append({"from_level": state.level + 1, **code_version()})


def provenance(device, state, clock: float, finished: float | None = None) -> dict:
    """Where and how long: library and torch versions, device, threads, cumulative wall time (s) from ``clock`` to
    ``finished`` (``time.perf_counter()`` values; ``finished`` defaults to now)."""
    device = torch.device(device)
    extended = {}
    if state.extended_from:
        extended["extended_from"] = state.extended_from
        if "untimed_levels" in state.extended_from:  # levels whose time the shorter sweep could not record
            extended["untimed_levels"] = state.extended_from["untimed_levels"]
    if state.trained_with:  # the records computed in the same batched cohorts; wall_seconds is their joint time
        extended["trained_with"] = state.trained_with
    return {
        "lthlib": __version__,
        "git_commit": code_version()["git_commit"],  # of the source this process loaded, not of the files now
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "processor": processor(),
        "threads": torch.get_num_threads(),
        "wall_seconds": round((finished or time.perf_counter()) - clock, 1),
        "resumed_after_levels": state.resumed_after_levels,
        "code": [entry for entry in state.code if entry["from_level"] <= state.level],  # not a resume with nothing left
        **extended,
    }


@functools.cache
def processor() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo, else the platform's word) and the vector instructions PyTorch's
    kernels use on it, e.g. ``"AMD EPYC (AVX2)"``: together they decide whether a run is reproduced to the last bit
    (:mod:`lthlib.engine.verify`). A virtual machine's model name alone may hide them: a LeNet record computed on one
    "AMD EPYC" drifted by 2e-3 within 250 steps on another that has AVX2 alone."""
    return f"{_model_name()} ({torch.backends.cpu.get_cpu_capability()})"


def _model_name() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
