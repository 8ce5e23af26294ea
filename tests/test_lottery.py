"""The Lottery Ticket chapter's verdicts, from lthlib.analysis.lottery, are the ones its committed notebook shows."""

from __future__ import annotations

import json
import pathlib

from lthlib.analysis import chapter, claims, lottery, parameters, report

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "book" / "lottery-ticket.ipynb"


def shown_claims_table() -> str:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    cell = next(c for c in cells if c["cell_type"] == "code" and "claims.table(verdicts)" in "".join(c["source"]))
    return "".join(next(o for o in cell["outputs"] if "text/plain" in o.get("data", {}))["data"]["text/plain"])


def test_the_chapters_verdicts_come_from_lthlib_lottery():
    book = chapter.open(
        name="lottery-ticket",
        iterations=None,
        eval_every=None,
        levels=None,
        rewind=None,
        extra_trials=None,
        extra_levels=None,
        **dict.fromkeys(("conv_runs", *parameters.CONV_FIELDS)),
    )
    found = lottery.results(book)
    verdicts = lottery.verdicts(found) + lottery.conv_verdicts(found["conv"])
    runs = {(run.network, run.dropout) for run in book.conv_runs}
    beside_plain = [network for network, dropout in runs if dropout and (network, 0.0) in runs]
    assert beside_plain == ["conv2"]  # the book's Conv-2 with dropout is judged against Conv-2 without
    assert len(verdicts) == 5 + 2 * len(runs) + len(beside_plain)
    assert repr(report.Table(claims.table(verdicts))) == shown_claims_table()
