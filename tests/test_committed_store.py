"""Every committed result re-trains to the same curves (python -m lthlib verify --steps 200)."""

from __future__ import annotations

import pytest

from lthlib import verify
from lthlib.store import default_root

RECORDS = sorted(default_root().glob("*/*/record.json"))


def test_the_book_has_committed_results():
    assert RECORDS, f"no records under {default_root()}"


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_committed_record_reproduces_its_first_200_iterations(path, fashion):
    report = verify.verify(path, steps=200, device="cpu")
    assert report.ok, "\n".join(report.lines())
