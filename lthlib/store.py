"""The result store: one directory per config hash, written atomically, checked on read.

Layout: ``<root>/<experiment>/<hash>/record.json`` (+ ``masks.npz``; + a
``checkpoint.pt`` while a run is unfinished). ``record.json`` carries a
SHA-256 checksum over its own canonical JSON and over ``masks.npz``, so a
record edited or truncated by hand is refused (:class:`CorruptRecord`)
instead of being plotted. In read-only mode a missing result is an error
that names the config and the command that computes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import tempfile

import numpy as np
import torch

from .config import ExperimentConfig, canonical_json, command_line, config_hash, resolve

RECORD = "record.json"
MASKS = "masks.npz"
CHECKPOINT = "checkpoint.pt"


class StoreError(RuntimeError):
    """Base class of store errors."""


class MissingResult(StoreError):
    """A read-only store has no result for a config."""


class CorruptRecord(StoreError):
    """A stored record or its masks fail their checksum or cannot be parsed."""


def default_root() -> pathlib.Path:
    """``$LTHLIB_STORE`` if set, else the book's committed store ``book/results``."""
    env = os.environ.get("LTHLIB_STORE")
    return pathlib.Path(env) if env else pathlib.Path(__file__).resolve().parent.parent / "book" / "results"


def _atomic_write(path: pathlib.Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
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
    """Results keyed by config. ``read_only=True`` forbids writes and makes a miss an error."""

    def __init__(self, root=None, read_only: bool = False):
        self.root = pathlib.Path(root) if root is not None else default_root()
        self.read_only = read_only

    def directory(self, config: ExperimentConfig) -> pathlib.Path:
        return self.root / config.experiment / config_hash(config)

    def describe_miss(self, config: ExperimentConfig) -> str:
        resolved = resolve(config)
        return (f"no stored result for {config.experiment} (hash {config_hash(config)}) in {self.root}; "
                f"config {canonical_json(resolved.to_dict())}; compute it with: "
                f"{command_line(config)} --store {self.root}")

    def load(self, config: ExperimentConfig) -> dict | None:
        """The verified record for ``config``, or ``None`` when absent (an error if read-only)."""
        path = self.directory(config) / RECORD
        if not path.exists():
            if self.read_only:
                raise MissingResult(self.describe_miss(config))
            return None
        return self.read_record(path)

    @staticmethod
    def read_record(path) -> dict:
        """Parse and verify one ``record.json`` (and its ``masks.npz`` if the record names one)."""
        path = pathlib.Path(path)
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CorruptRecord(f"{path}: cannot be read as JSON ({error})") from error
        if record.get("checksum") != record_checksum(record):
            raise CorruptRecord(f"{path}: checksum mismatch; the record was changed after it was written")
        if record.get("masks_sha256"):
            masks = path.parent / MASKS
            if not masks.exists() or hashlib.sha256(masks.read_bytes()).hexdigest() != record["masks_sha256"]:
                raise CorruptRecord(f"{masks}: missing or does not match the checksum in {path.name}")
        return record

    def load_masks(self, config: ExperimentConfig) -> dict[str, np.ndarray]:
        record = self.load(config)
        if record is None:
            raise MissingResult(self.describe_miss(config))
        return unpack_masks((self.directory(config) / MASKS).read_bytes())

    def save(self, config: ExperimentConfig, record: dict, masks: dict[str, np.ndarray] | None = None) -> dict:
        """Write masks then the record (with checksums), each atomically; drop the checkpoint."""
        self._check_writable()
        directory = self.directory(config)
        record = dict(record)
        if masks:
            payload = pack_masks(masks)
            _atomic_write(directory / MASKS, payload)
            record["masks_sha256"] = hashlib.sha256(payload).hexdigest()
        record.pop("checksum", None)
        record["checksum"] = record_checksum(record)
        _atomic_write(directory / RECORD, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        (directory / CHECKPOINT).unlink(missing_ok=True)
        return record

    def save_checkpoint(self, config: ExperimentConfig, state: dict) -> None:
        self._check_writable()
        buffer = io.BytesIO()
        torch.save({"hash": config_hash(config), "state": state}, buffer)
        _atomic_write(self.directory(config) / CHECKPOINT, buffer.getvalue())

    def load_checkpoint(self, config: ExperimentConfig) -> dict | None:
        """The state saved by an interrupted run of ``config``, or ``None``.

        An unreadable checkpoint or one written for another config raises
        :class:`CorruptRecord` rather than being resumed from.
        """
        path = self.directory(config) / CHECKPOINT
        if not path.exists():
            return None
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise CorruptRecord(f"{path}: unreadable checkpoint ({error}); delete it to start over") from error
        if saved.get("hash") != config_hash(config):
            raise CorruptRecord(f"{path}: checkpoint belongs to another config; delete it to start over")
        return saved["state"]

    def _check_writable(self):
        if self.read_only:
            raise StoreError(f"the store at {self.root} is read-only")
