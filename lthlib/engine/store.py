"""The result store: one directory per config hash, written atomically, checked on read.

Layout: ``<root>/<experiment>/<hash>/record.json`` (+ ``masks.npz``; +
``weights.npz``, trained weights a longer sweep goes on from; +
``checkpoint-<level>.pt`` files while a run is unfinished). Nothing read
back is trusted:

- ``record.json`` carries a SHA-256 checksum over its own canonical JSON and
  over ``masks.npz`` and ``weights.npz``, so a record edited or truncated by hand is refused
  (:class:`CorruptRecord`) instead of being plotted;
- the hash of the record's own config must equal the directory it sits in
  and the config asked for, so a record copied into another config's folder
  is refused;
- a checkpoint starts with the SHA-256 of its payload; one that fails it is
  reported, set aside as ``*.corrupt`` and the run resumes from the
  checkpoint before it (or starts over);
- only regular files of a bounded size are read (:func:`read_regular`): a
  FIFO, a device, a directory or a symlink loop in place of a file is refused
  by name instead of blocking or filling the memory; a binary or absurdly
  nested ``record.json`` is a :class:`CorruptRecord` like any other damage.
  Every such refusal is one line naming the path and what is wrong. A run that
  is about to compute a result sets aside (as ``*.corrupt``) a damaged record
  and whatever is not a regular file where it writes, so the damage is kept
  for inspection and the result is computed again.

Writes are atomic (temporary file, then rename); temporary files orphaned by
a killed run are removed when the next run of that result starts. One
process at a time computes a result: :meth:`Store.lock` is a file lock per
result, and a second process waits for it and then reads what the first one
stored. In read-only mode a missing result is an error that names the
config and the command that computes it.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pathlib
import shutil
import stat
import sys
import tempfile
import zipfile

import filelock
import numpy as np
import torch

from . import data
from .config import (
    ConfigError,
    ExperimentConfig,
    canonical_json,
    command_line,
    config_hash,
    hashed_fields,
    resolve,
)

RECORD = "record.json"
MASKS = "masks.npz"
WEIGHTS = "weights.npz"
CHECKPOINT_GLOB = "checkpoint-*.pt"
CHECKPOINT_MAGIC = b"lthlib-checkpoint sha256="
# The largest file of each kind that is read, far above any the book stores (records: under 1 MB; masks: under
# 12 MB; checkpoints: 20 MB): a bound that stops a link to /dev/zero or a runaway file from filling the memory.
MAX_RECORD_BYTES = 256 * 2**20
MAX_ARRAYS_BYTES = 8 * 2**30
MAX_CHECKPOINT_BYTES = 16 * 2**30


class StoreError(RuntimeError):
    """Base class of store errors."""


class MissingResult(StoreError):
    """A read-only store has no result for a config."""


class CorruptRecord(StoreError):
    """A stored record or its masks fail their checksum or cannot be parsed."""


class StaleRecord(CorruptRecord):
    """A stored record was trained on other data than the data present (its ``data_sha256`` differs)."""


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes, else :class:`CorruptRecord`
    naming it and what is wrong. It is opened without blocking and checked through the open descriptor, so a FIFO or
    a device in its place is refused at once (nothing waits for a writer, nothing reads without end)."""
    path = pathlib.Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise CorruptRecord(f"{path}: cannot be opened ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CorruptRecord(f"{path}: is {_file_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise CorruptRecord(f"{path}: is {info.st_size:,} bytes, more than the {limit:,} such a file may have")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(2**24, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise CorruptRecord(f"{path}: grew past the {limit:,} bytes such a file may have while it was read")
        return b"".join(chunks)
    except OSError as error:
        raise CorruptRecord(f"{path}: cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)


def _entry_exists(path: pathlib.Path) -> bool:
    """Whether anything is at ``path``: a file, a directory, a FIFO, a dangling or looping symlink."""
    try:
        path.lstat()
    except OSError:
        return False
    return True


def set_aside(path: pathlib.Path) -> pathlib.Path:
    """Rename the damaged entry ``path`` to ``<path>.corrupt`` (or ``.corrupt-N`` when that is taken by a
    directory), keeping it for inspection; return where it went."""
    for n in range(100):
        target = path.with_name(path.name + (".corrupt" if n == 0 else f".corrupt-{n}"))
        if target.is_dir() and not target.is_symlink():
            continue
        try:
            os.replace(path, target)
            return target
        except OSError as error:
            if error.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise StoreError(f"cannot set aside {path}: {error.strerror or error}") from None
    raise StoreError(f"cannot set aside {path}: {path.name}.corrupt to .corrupt-99 are all taken")


def _make_folder(folder: pathlib.Path) -> None:
    """``folder`` and its parents as directories, or :class:`StoreError` naming what is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in (folder, *folder.parents) if _entry_exists(p) and not p.is_dir()), None)
        if blocker is not None:
            raise StoreError(
                f"{blocker} is not a directory, but the store keeps results in it; valid: remove it, or another --store"
            ) from None
        raise StoreError(f"cannot create the store folder {folder}: {error.strerror or error}") from None


def default_root() -> pathlib.Path:
    """``$LTHLIB_STORE`` if set, else the book's committed store ``book/results``."""
    env = os.environ.get("LTHLIB_STORE")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[2] / "book" / "results"


def _atomic_write(path: pathlib.Path, payload: bytes) -> None:
    tmp = None
    _make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as error:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            free = shutil.disk_usage(path.parent).free if path.parent.exists() else 0
            raise StoreError(
                f"no space left to write {path}: it needs {len(payload):,} bytes and {free:,} are free"
            ) from None
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def record_checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def pack_masks(masks: dict[str, np.ndarray]) -> bytes:
    """Boolean arrays as bit-packed, compressed ``.npz`` bytes (shapes kept under ``<key>.shape``)."""
    arrays = {}
    for key, mask in masks.items():
        arrays[key] = np.packbits(np.asarray(mask, dtype=bool).ravel())
        arrays[f"{key}.shape"] = np.asarray(mask.shape, dtype=np.int64)
    return pack_arrays(arrays)


def pack_arrays(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as compressed ``.npz`` bytes, as they are."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def unpack_masks(payload: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(payload)) as arrays:
        out = {}
        for key in arrays.files:
            if key.endswith(".shape"):
                continue
            shape = tuple(arrays[f"{key}.shape"])
            out[key] = np.unpackbits(arrays[key], count=int(np.prod(shape))).astype(bool).reshape(shape)
        return out


# What a damaged .npz raises while it is unpacked.
_NPZ_ERRORS = (OSError, ValueError, KeyError, EOFError, TypeError, zipfile.BadZipFile, RuntimeError)


def read_companion(path, sha256: str | None) -> bytes:
    """The bytes of a record's ``masks.npz`` or ``weights.npz`` at ``path``, read as :func:`read_regular` reads and
    checked against ``sha256`` (the record's), else :class:`CorruptRecord`."""
    path = pathlib.Path(path)
    if not _entry_exists(path):
        raise CorruptRecord(f"{path}: missing, but its record names it")
    payload = read_regular(path, MAX_ARRAYS_BYTES)
    if sha256 is not None and hashlib.sha256(payload).hexdigest() != sha256:
        raise CorruptRecord(f"{path}: does not match the checksum in {RECORD}")
    return payload


def read_masks(path, sha256: str | None) -> dict[str, np.ndarray]:
    """The masks of the ``masks.npz`` at ``path`` (checked against ``sha256``), or :class:`CorruptRecord`."""
    payload = read_companion(path, sha256)
    try:
        return unpack_masks(payload)
    except _NPZ_ERRORS as error:
        raise CorruptRecord(f"{path}: cannot be unpacked as masks ({type(error).__name__}: {error})") from None


class Store:
    """Results keyed by config. ``read_only=True`` forbids writes and makes a miss an error.

    ``fallback``: another store, only read, where a result this one lacks is looked for (a reader's own store
    in front of the book's committed one: what the book already holds is read there, never computed again).
    This is the one lookup order, for every reader (chapters, the command line, the experiments): this store,
    then its fallback; a result is computed only when neither holds it.
    """

    def __init__(self, root=None, read_only: bool = False, fallback: Store | None = None):
        if root is not None and str(root) == "":
            raise StoreError("the store is the empty string; valid: a writable directory")
        self.root = pathlib.Path(root) if root is not None else default_root()
        self.read_only = read_only
        self.fallback = fallback

    def without_fallback(self) -> Store:
        """The same store, reading nothing from elsewhere."""
        return Store(self.root, read_only=self.read_only)

    def _load_with_holder(self, config: ExperimentConfig) -> tuple[dict | None, Store]:
        """The verified record of ``config`` and the store holding it: this one, else the fallback. A corrupt copy
        in the fallback is reported and passed over (this store may then compute its own)."""
        if not _entry_exists(self.directory(config) / RECORD) and self.fallback is not None:
            try:
                record, holder = self.fallback._load_with_holder(config)
            except CorruptRecord as error:
                print(f"lthlib: not reading the fallback store's copy: {error}", file=sys.stderr)
            except MissingResult:  # a read-only fallback refuses a miss; here it is only a miss
                pass
            else:
                if record is not None:
                    return record, holder
        return self._load_own(config), self

    def directory(self, config: ExperimentConfig) -> pathlib.Path:
        return self.root / config.experiment / config_hash(config)

    def describe_miss(self, config: ExperimentConfig) -> str:
        resolved = resolve(config)
        return (
            f"no stored result for {config.experiment} (hash {config_hash(config)}) in {self.root}; "
            f"config {canonical_json(resolved.to_dict())}; compute it with: "
            f"{command_line(config)} --store {self.root}"
        )

    def load(self, config: ExperimentConfig) -> dict | None:
        """The verified record for ``config`` (here, else in the fallback), or ``None`` when absent (an error if
        read-only)."""
        return self._load_with_holder(config)[0]

    def _load_own(self, config: ExperimentConfig) -> dict | None:
        path = self.directory(config) / RECORD
        if not _entry_exists(path):
            if self.read_only:
                raise MissingResult(self.describe_miss(config))
            return None
        record = self.read_record(path)
        if record["hash"] != config_hash(config) or record["experiment"] != config.experiment:
            raise CorruptRecord(
                f"{path}: holds the result of {record['experiment']} {record['hash']}, "
                f"not of {config.experiment} {config_hash(config)}"
            )
        check_data(path, record, config, self.root)
        return record

    @staticmethod
    def read_record(path) -> dict:
        """Parse and verify one ``record.json`` (and its ``masks.npz`` if the record names one)."""
        path = pathlib.Path(path)
        blob = read_regular(path, MAX_RECORD_BYTES)
        try:
            record = json.loads(blob.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise CorruptRecord(
                f"{path}: cannot be read as JSON (not UTF-8 text: {error.reason} at byte {error.start})"
            ) from None
        except json.JSONDecodeError as error:
            raise CorruptRecord(f"{path}: cannot be read as JSON ({error})") from None
        except RecursionError:
            raise CorruptRecord(f"{path}: cannot be read as JSON (nested too deeply for a record)") from None
        if not isinstance(record, dict) or not {"config", "runs", "hash"} <= set(record):
            raise CorruptRecord(f"{path}: not an lthlib record (it lacks config, runs or hash)")
        try:
            intact = record.get("checksum") == record_checksum(record)
        except (RecursionError, ValueError, TypeError):
            intact = False
        if not intact:
            raise CorruptRecord(f"{path}: checksum mismatch; the record was changed after it was written")
        try:
            own_hash = config_hash(ExperimentConfig.from_dict(record["config"]))
        except (ConfigError, TypeError, ValueError, AttributeError) as error:
            raise CorruptRecord(f"{path}: its config is not valid ({' '.join(str(error).split())})") from None
        if own_hash != record["hash"] or own_hash != path.parent.name:
            raise CorruptRecord(
                f"{path}: its config hashes to {own_hash}, but it is stored as "
                f"{path.parent.name} (record says {record['hash']}); a record answers only its "
                f"own config"
            )
        for name, key in ((MASKS, "masks_sha256"), (WEIGHTS, "weights_sha256")):
            if record.get(key):
                read_companion(path.parent / name, record[key])
        return record

    def load_masks(self, config: ExperimentConfig) -> dict[str, np.ndarray]:
        record, holder = self._load_with_holder(config)
        if record is None:
            raise MissingResult(self.describe_miss(config))
        return read_masks(holder.directory(config) / MASKS, record.get("masks_sha256"))

    def load_weights(self, config: ExperimentConfig) -> dict[str, np.ndarray] | None:
        """The float32 arrays of the record's ``weights.npz`` (verified with the record), ``None`` if it has none."""
        record, holder = self._load_with_holder(config)
        if record is None:
            raise MissingResult(self.describe_miss(config))
        if not record.get("weights_sha256"):
            return None
        path = holder.directory(config) / WEIGHTS
        payload = read_companion(path, record["weights_sha256"])
        try:
            with np.load(io.BytesIO(payload)) as arrays:
                return {key: arrays[key] for key in arrays.files}
        except _NPZ_ERRORS as error:
            raise CorruptRecord(f"{path}: cannot be unpacked as weights ({type(error).__name__}: {error})") from None

    def save(
        self,
        config: ExperimentConfig,
        record: dict,
        masks: dict[str, np.ndarray] | None = None,
        weights: dict[str, np.ndarray] | None = None,
    ) -> dict:
        """Write masks and weights, then the record (with their checksums), each atomically; drop the checkpoints."""
        self._check_writable()
        directory = self.directory(config)
        record = dict(record)
        for name, key, arrays, pack in (
            (MASKS, "masks_sha256", masks, pack_masks),
            (WEIGHTS, "weights_sha256", weights, pack_arrays),
        ):
            if arrays:
                payload = pack(arrays)
                _atomic_write(directory / name, payload)
                record[key] = hashlib.sha256(payload).hexdigest()
        record.pop("checksum", None)
        record["checksum"] = record_checksum(record)
        _atomic_write(directory / RECORD, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        self.remove_checkpoints(config)
        return record

    def remove_checkpoints(self, config: ExperimentConfig) -> None:
        """Drop every checkpoint of ``config`` (its run then starts from the beginning)."""
        for path in self.directory(config).glob(CHECKPOINT_GLOB):
            path.unlink(missing_ok=True)

    def save_checkpoint(self, config: ExperimentConfig, level: int, state: dict) -> None:
        """Write the state after ``level`` with its checksum; keep the one before it, drop older ones."""
        self._check_writable()
        buffer = io.BytesIO()
        torch.save({"hash": config_hash(config), "level": level, "state": state}, buffer)
        payload = buffer.getvalue()
        header = CHECKPOINT_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n"
        directory = self.directory(config)
        _atomic_write(directory / f"checkpoint-{level}.pt", header + payload)
        for older, path in self._checkpoints(directory):
            if older < level - 1:
                path.unlink(missing_ok=True)

    @staticmethod
    def _checkpoints(directory: pathlib.Path) -> list[tuple[int, pathlib.Path]]:
        """``(level, path)`` of the checkpoints in ``directory``, newest first."""
        found = []
        for path in directory.glob(CHECKPOINT_GLOB):
            level = path.stem.removeprefix("checkpoint-")
            if level.isdigit():
                found.append((int(level), path))
        return sorted(found, reverse=True)

    def load_checkpoint(self, config: ExperimentConfig, report=None) -> dict | None:
        """The newest trustworthy state saved by an interrupted run of ``config``, or ``None``.

        A checkpoint that fails its checksum, cannot be read or belongs to
        another config is reported through ``report`` (default: a line on
        stderr), renamed ``*.corrupt`` and never resumed from; the next older
        one is tried instead.
        """
        report = report or (lambda message: print(message, file=sys.stderr))
        for level, path in self._checkpoints(self.directory(config)):
            problem = None
            try:
                saved = _read_checkpoint(path)
            except (OSError, ValueError, RuntimeError, EOFError) as error:
                problem = str(error)
            else:
                if saved.get("hash") != config_hash(config) or saved.get("level") != level:
                    problem = "it belongs to another config or level"
            if problem is None:
                return saved["state"]
            if not self.read_only:
                path.replace(path.with_name(path.name + ".corrupt"))
            report(f"lthlib: checkpoint {path} is not trusted ({problem}); level {level} will be recomputed")
        return None

    def remove_orphans(self, config: ExperimentConfig) -> list[pathlib.Path]:
        """Delete temporary files a killed run left in ``config``'s directory, and the checkpoints left beside a
        finished record (a run killed between writing its record and dropping them); return them."""
        directory = self.directory(config)
        orphans = [path for path in directory.glob(".*.tmp") if not path.is_dir()]
        if (directory / RECORD).is_file():
            orphans += [path for _, path in self._checkpoints(directory) if not path.is_dir()]
        for path in orphans:
            path.unlink(missing_ok=True)
        return orphans

    def prepare_directory(self, config: ExperimentConfig, report=None) -> None:
        """Before ``config`` is computed (its lock held): its directory made, checked writable, and anything that is
        not a regular file where a result file goes (record, masks, weights) or a damaged record set aside as
        ``*.corrupt``, each reported; :class:`StoreError` in one line when the directory cannot be written."""
        report = report or (lambda message: print(message, file=sys.stderr))
        self._check_writable()
        directory = self.directory(config)
        _make_folder(directory)
        for name in (RECORD, MASKS, WEIGHTS):
            path = directory / name
            if _entry_exists(path) and (path.is_symlink() or not path.is_file()):
                kind = "a symlink" if path.is_symlink() else _file_kind(path.lstat().st_mode)
                report(f"lthlib: {path} is {kind}, not a result file; set aside as {set_aside(path).name}")
        try:
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as error:
            raise StoreError(
                f"cannot write in {directory} ({error.strerror or error}), where the result and its checkpoints "
                f"go; valid: a writable directory"
            ) from None

    def load_or_set_aside(self, config: ExperimentConfig, report=None) -> dict | None:
        """As :meth:`load`, for a process that holds ``config``'s lock and will compute what is missing: a damaged
        record of this store is set aside (:meth:`set_aside_record`) and ``None`` returned."""
        try:
            return self.load(config)
        except CorruptRecord as error:
            self.set_aside_record(config, str(error), report)
            return None

    def set_aside_record(self, config: ExperimentConfig, problem: str, report=None) -> None:
        """Set aside the damaged record of ``config`` and its arrays as ``*.corrupt`` (it is then computed again)."""
        report = report or (lambda message: print(message, file=sys.stderr))
        self._check_writable()
        directory = self.directory(config)
        for name in (RECORD, MASKS, WEIGHTS):
            path = directory / name
            if _entry_exists(path):
                set_aside(path)
        report(f"lthlib: {problem}; set aside as {RECORD}.corrupt, the result will be computed again")

    def lock(self, config: ExperimentConfig, report=None) -> filelock.FileLock:
        """A held file lock on ``config``'s result; while another process holds it, waits and says so (``report``)."""
        report = report or (lambda message: print(message, file=sys.stderr))
        self._check_writable()
        path = self.root / config.experiment / f".{config_hash(config)}.lock"
        _make_folder(path.parent)
        if _entry_exists(path) and not path.is_file():  # a directory, a FIFO, a dangling or looping symlink
            kind = "a symlink that leads nowhere" if path.is_symlink() else _file_kind(path.lstat().st_mode)
            raise StoreError(f"the lock file {path} is {kind}, not a file; valid: remove it (it holds nothing)")
        lock = filelock.FileLock(path)
        try:
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                report(
                    f"lthlib: another process is computing {config.experiment} {config_hash(config)} "
                    f"(lock {path}); waiting for it to finish"
                )
                lock.acquire()
        except OSError as error:
            raise StoreError(
                f"cannot take the lock {path}: {error.strerror or error}; valid: a writable file"
            ) from None
        return lock

    def check_writable(self) -> None:
        """Raise :class:`StoreError` unless results can be written under the root (checked before any work)."""
        self._check_writable()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as error:
            raise StoreError(
                f"the store {str(self.root)!r} is not a writable directory "
                f"({error.strerror or error}); valid: a writable directory"
            ) from None

    def _check_writable(self):
        if self.read_only:
            raise StoreError(f"the store at {self.root} is read-only")


def check_data(path, record: dict, config: ExperimentConfig, root) -> None:
    """Raise :class:`StaleRecord` when ``record`` (of ``config``, in the store at ``root``) names the digest of the
    data it was trained on (``provenance.data_sha256``) and the data present differs; records that predate the
    digest pass. The message names the command that recomputes it (a run sets the stale record aside first)."""
    recorded = record.get("provenance")
    recorded = recorded.get("data_sha256") if isinstance(recorded, dict) else None
    if recorded is None:
        return
    present = data.digest(config.dataset)
    if recorded != present:
        try:
            command = f"{command_line(config)} --store {root}"
        except ConfigError:  # a config the shortest command cannot spell: every setting of the record's
            given = {k: v for k, v in hashed_fields(config).items() if k != "experiment"}
            spelled = {k: ",".join(v) or "none" if isinstance(v, list) else v for k, v in given.items()}
            settings = "".join(f" --{k.replace('_', '-')} {v}" for k, v in spelled.items())
            command = f"python -m lthlib run {config.experiment}{settings} --store {root}"
        raise StaleRecord(
            f"{path}: trained on {config.dataset} data with SHA-256 {recorded}, but the data here has {present}; "
            f"it is not a result of this data; recompute it with: {command}"
        )


def _read_checkpoint(path: pathlib.Path) -> dict:
    """The checkpoint's contents, after its checksum is verified (``ValueError`` when it fails)."""
    blob = read_regular(path, MAX_CHECKPOINT_BYTES)
    header, newline, payload = blob.partition(b"\n")
    if not header.startswith(CHECKPOINT_MAGIC) or not newline:
        raise ValueError("no checksum header")
    if hashlib.sha256(payload).hexdigest().encode() != header[len(CHECKPOINT_MAGIC) :]:
        raise ValueError("checksum mismatch")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
