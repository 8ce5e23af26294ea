"""Shared fixtures: real Fashion-MNIST (prepared once) and a smoke-scale IMP record in a temporary store."""

from __future__ import annotations

import pytest

from lthlib.engine import data, experiments
from lthlib.engine.config import ExperimentConfig
from lthlib.engine.store import Store


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
