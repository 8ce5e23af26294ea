"""The files a dataset is read from: digests, checks against pinned ones, damaged files set aside.

Every file is digested once per process (for its path, size and modification
time). A file that does not match its pinned digest is a
:class:`DatasetUnavailable` naming it, what was expected and how to get a good
copy; preparing a dataset sets such a file aside as ``*.corrupt``. A download
that fails removes what it created (:func:`remove_created_on_error`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import shutil
import stat
from collections.abc import Iterator

import numpy as np

DATA_ENV_VAR = "LTHLIB_DATA"


class DatasetUnavailable(RuntimeError):
    """The files a dataset is read from are missing or unreadable, or fetching them failed.

    The message is one line: what is missing, where it was looked for, and how to get it.
    """


def show(path: pathlib.Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def has_files(folder: pathlib.Path, names) -> bool:
    return all((folder / n).is_file() for n in names)


# (resolved path, size, modification time in ns, algorithm) -> hex digest: each file is read once per process.
FILE_DIGESTS: dict[tuple[str, int, int, str], str] = {}


def file_digest(path: pathlib.Path, algorithm: str = "sha256") -> str:
    """The hex digest of the regular file ``path``, computed once per process for its path, size and modification
    time. ``OSError`` when it cannot be read; ``ValueError`` when it is not a regular file (a FIFO would block)."""
    path = pathlib.Path(path).resolve()
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("it is not a regular file")
    key = (str(path), info.st_size, info.st_mtime_ns, algorithm)
    if key not in FILE_DIGESTS:
        digest = hashlib.new(algorithm)
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(2**22), b""):
                digest.update(chunk)
        FILE_DIGESTS[key] = digest.hexdigest()
    return FILE_DIGESTS[key]


def file_problem(path: pathlib.Path, expected: str, algorithm: str = "sha256") -> str | None:
    """What is wrong with ``path`` against its pinned digest, or ``None`` when it matches."""
    try:
        found = file_digest(path, algorithm)
    except (OSError, ValueError) as error:
        return f"{show(path)} cannot be read ({getattr(error, 'strerror', None) or error})"
    if found != expected:
        return (
            f"{show(path)} has {'SHA-256' if algorithm == 'sha256' else algorithm} {found}, expected {expected} "
            f"(the file is damaged or not the published release)"
        )
    return None


def check_files(name: str, folder: pathlib.Path, pinned: dict[str, str], how: str, algorithm="sha256") -> None:
    """Raise :class:`DatasetUnavailable` (one line: the file, what was expected, how to get a good copy) unless every
    file of ``pinned`` in ``folder`` has its pinned digest."""
    for file, expected in pinned.items():
        problem = file_problem(folder / file, expected, algorithm)
        if problem:
            raise DatasetUnavailable(f"{name}: {problem}. {how}")


def set_aside_damaged(folder: pathlib.Path, pinned: dict[str, str], algorithm="sha256") -> list[str]:
    """Rename the files of ``pinned`` present in ``folder`` that fail their digest to ``*.corrupt``; their names."""
    damaged = []
    for file, expected in pinned.items():
        path = folder / file
        if (path.exists() or path.is_symlink()) and file_problem(path, expected, algorithm):
            os.replace(path, path.with_name(path.name + ".corrupt"))
            damaged.append(file)
    return damaged


def aside_note(damaged: list[str]) -> str:
    return f" (set aside {len(damaged)} damaged file(s) as *.corrupt: {', '.join(damaged)})" if damaged else ""


def pins_digest(pins: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{file} {digest}\n" for file, digest in pins.items()).encode()).hexdigest()


def arrays_sha256(*arrays: np.ndarray) -> str:
    """The SHA-256 of arrays: each one's dtype, shape and C-ordered bytes, in turn."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{tuple(array.shape)}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


@contextlib.contextmanager
def remove_created_on_error(folders: list[pathlib.Path]) -> Iterator[None]:
    """On an exception, delete what appeared in ``folders`` (shallowest first) since entry.

    Folders that did not exist, and missing ancestors of ``folders[0]``, are
    removed whole; in folders that existed only the new entries are removed.
    """
    first_missing = None
    for path in (folders[0], *folders[0].parents):
        if path.exists():
            break
        first_missing = path
    before = {f: set(os.listdir(f)) for f in folders if f.is_dir()}
    try:
        yield
    except BaseException:
        if first_missing is not None:
            shutil.rmtree(first_missing, ignore_errors=True)
        for folder in reversed(folders):
            if folder not in before or not folder.is_dir():
                continue
            for entry in set(os.listdir(folder)) - before[folder]:
                path = folder / entry
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise
