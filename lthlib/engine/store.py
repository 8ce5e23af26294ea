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
  checkpoint before it (or starts over).

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
import sys
import tempfile

import filelock
import numpy as np
import torch

from .config import ConfigError, ExperimentConfig, canonical_json, command_line, config_hash, resolve

RECORD = "record.json"
MASKS = "masks.npz"
WEIGHTS = "weights.npz"
CHECKPOINT_GLOB = "checkpoint-*.pt"
CHECKPOINT_MAGIC = b"lthlib-checkpoint sha256="


class StoreError(RuntimeError):
    """Base class of store errors."""


class MissingResult(StoreError):
    """A read-only store has no result for a config."""


class CorruptRecord(StoreError):
    """A stored record or its masks fail their checksum or cannot be parsed."""


def default_root() -> pathlib.Path:
    """``$LTHLIB_STORE`` if set, else the book's committed store ``book/results``."""
    env = os.environ.get("LTHLIB_STORE")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parents[2] / "book" / "results"


def _atomic_write(path: pathlib.Path, payload: bytes) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
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


class Store:
    """Results keyed by config. ``read_only=True`` forbids writes and makes a miss an error.

    ``fallback``: another store, only read, where a result this one lacks is looked for (a reader's own store
    in front of the book's committed one: what the book already holds is read there, never computed again).
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
        if not (self.directory(config) / RECORD).exists() and self.fallback is not None:
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
        if not path.exists():
            if self.read_only:
                raise MissingResult(self.describe_miss(config))
            return None
        record = self.read_record(path)
        if record["hash"] != config_hash(config) or record["experiment"] != config.experiment:
            raise CorruptRecord(
                f"{path}: holds the result of {record['experiment']} {record['hash']}, "
                f"not of {config.experiment} {config_hash(config)}"
            )
        return record

    @staticmethod
    def read_record(path) -> dict:
        """Parse and verify one ``record.json`` (and its ``masks.npz`` if the record names one)."""
        path = pathlib.Path(path)
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CorruptRecord(f"{path}: cannot be read as JSON ({error})") from error
        if not isinstance(record, dict) or not {"config", "runs", "hash"} <= set(record):
            raise CorruptRecord(f"{path}: not an lthlib record (it lacks config, runs or hash)")
        if record.get("checksum") != record_checksum(record):
            raise CorruptRecord(f"{path}: checksum mismatch; the record was changed after it was written")
        try:
            own_hash = config_hash(ExperimentConfig.from_dict(record["config"]))
        except (ConfigError, TypeError) as error:
            raise CorruptRecord(f"{path}: its config is not valid ({error})") from None
        if own_hash != record["hash"] or own_hash != path.parent.name:
            raise CorruptRecord(
                f"{path}: its config hashes to {own_hash}, but it is stored as "
                f"{path.parent.name} (record says {record['hash']}); a record answers only its "
                f"own config"
            )
        for name, key in ((MASKS, "masks_sha256"), (WEIGHTS, "weights_sha256")):
            if record.get(key):
                companion = path.parent / name
                if not companion.exists() or hashlib.sha256(companion.read_bytes()).hexdigest() != record[key]:
                    raise CorruptRecord(f"{companion}: missing or does not match the checksum in {path.name}")
        return record

    def load_masks(self, config: ExperimentConfig) -> dict[str, np.ndarray]:
        record, holder = self._load_with_holder(config)
        if record is None:
            raise MissingResult(self.describe_miss(config))
        return unpack_masks((holder.directory(config) / MASKS).read_bytes())

    def load_weights(self, config: ExperimentConfig) -> dict[str, np.ndarray] | None:
        """The float32 arrays of the record's ``weights.npz`` (verified with the record), ``None`` if it has none."""
        record, holder = self._load_with_holder(config)
        if record is None:
            raise MissingResult(self.describe_miss(config))
        if not record.get("weights_sha256"):
            return None
        with np.load(io.BytesIO((holder.directory(config) / WEIGHTS).read_bytes())) as arrays:
            return {key: arrays[key] for key in arrays.files}

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
        """Delete temporary files a killed run left in ``config``'s directory; return them."""
        orphans = list(self.directory(config).glob(".*.tmp"))
        for path in orphans:
            path.unlink(missing_ok=True)
        return orphans

    def lock(self, config: ExperimentConfig, report=None) -> filelock.FileLock:
        """A held file lock on ``config``'s result; while another process holds it, waits and says so (``report``)."""
        report = report or (lambda message: print(message, file=sys.stderr))
        self._check_writable()
        path = self.root / config.experiment / f".{config_hash(config)}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(path)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            report(
                f"lthlib: another process is computing {config.experiment} {config_hash(config)} "
                f"(lock {path}); waiting for it to finish"
            )
            lock.acquire()
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


def _read_checkpoint(path: pathlib.Path) -> dict:
    """The checkpoint's contents, after its checksum is verified (``ValueError`` when it fails)."""
    blob = path.read_bytes()
    header, newline, payload = blob.partition(b"\n")
    if not header.startswith(CHECKPOINT_MAGIC) or not newline:
        raise ValueError("no checksum header")
    if hashlib.sha256(payload).hexdigest().encode() != header[len(CHECKPOINT_MAGIC) :]:
        raise ValueError("checksum mismatch")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
