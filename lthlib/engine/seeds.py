"""Deterministic seeds derived from readable parts, stable across runs and machines."""

import hashlib

import torch


def derive_seed(*parts) -> int:
    """A 63-bit seed from any parts (ints, strings), e.g. ``derive_seed(0, "init", 3)``."""
    text = "/".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def generator(*parts) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``derive_seed(*parts)``."""
    return torch.Generator().manual_seed(derive_seed(*parts))
