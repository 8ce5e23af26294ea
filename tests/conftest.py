"""Shared fixtures: real Fashion-MNIST (prepared once) and a smoke-scale IMP record in a temporary store."""

from __future__ import annotations

import os

import pytest
import torch

from lthlib import data, experiments
from lthlib.config import ExperimentConfig
from lthlib.store import Store
from lthlib.train import bfloat16_is_native

# LTHLIB_FULL=1 runs in full what make test samples.
FULL = bool(os.environ.get("LTHLIB_FULL"))
# Where the CPU has no native bfloat16, a bfloat16 Conv-2 trains eleven times slower than in float32 (0.6 against
# 6.8 network-steps/s on 2 cores with AVX2 alone): make test leaves its bfloat16 convolutional checks to FULL there.
BFLOAT16_TOO_SLOW = not FULL and not bfloat16_is_native(torch.device("cpu"))


@pytest.fixture(scope="session")
def fashion():
    """Makes sure the unpacked Fashion-MNIST files are in the data root (the Makefile's ``data`` step)."""
    data.prepare("fashion-mnist")
    return data.default_root()


@pytest.fixture(scope="session")
def smoke_config():
    return ExperimentConfig(experiment="imp", scale="smoke")


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory):
    return Store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def smoke_record(fashion, smoke_config, smoke_store):
    """A smoke IMP run (2 trials, 2 levels, both controls) computed once for the session."""
    return experiments.result(smoke_config, smoke_store)
