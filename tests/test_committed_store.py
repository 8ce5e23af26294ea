"""Committed results re-train to the same curves (python -m lthlib verify --steps 200).

``make test`` verifies a fixed sample: every LeNet record and the smallest
convolutional one, which cover every code path the records use (dense,
iterative, one-shot, rewinding, bfloat16 convolutions). ``make verify`` (or
``LTHLIB_VERIFY_ALL=1``) verifies every record.
"""

from __future__ import annotations

import json
import os

import pytest

from lthlib import verify
from lthlib.store import default_root

RECORDS = sorted(default_root().glob("*/*/record.json"))


def sampled(records):
    if os.environ.get("LTHLIB_VERIFY_ALL"):
        return records
    configs = {path: json.loads(path.read_text())["config"] for path in records}
    lenet = [path for path in records if configs[path]["network"] == "lenet"]
    conv = sorted(
        (path for path in records if configs[path]["network"] != "lenet"),
        key=lambda path: (configs[path]["network"], configs[path]["experiment"] != "dense", str(path)),
    )
    return lenet + conv[:1]


def test_the_book_has_committed_results():
    assert RECORDS, f"no records under {default_root()}"
    assert len(sampled(RECORDS)) >= min(len(RECORDS), 2)


@pytest.mark.parametrize("path", sampled(RECORDS), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_committed_record_reproduces_its_first_200_iterations(path, fashion):
    report = verify.verify(path, steps=200, device="cpu")
    assert report.ok, "\n".join(report.lines())
