"""The Lottery Ticket chapter's verdicts, from lthlib.analysis.lottery, are the ones its committed notebook shows."""

from __future__ import annotations

import json
import pathlib

from lthlib.analysis import chapter, claims, lottery, parameters, report

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "book" / "lottery-ticket.ipynb"


def shown_tables() -> list[str]:
    """The plain text of every claims table the committed notebook shows, in order."""
    shown = []
    for cell in json.loads(NOTEBOOK.read_text())["cells"]:
        if cell["cell_type"] == "code" and "claims.claims_table(" in "".join(cell["source"]):
            for output in cell["outputs"]:
                text = output.get("data", {}).get("text/plain")
                if text and "trials needed" in "".join(text):
                    shown.append("".join(text))
    return shown


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
    tables = lottery.verdicts(found)
    conv = lottery.conv_verdicts(found["conv"])
    runs = {(run.network, run.dropout) for run in book.conv_runs}
    beside_plain = [network for network, dropout in runs if dropout and (network, 0.0) in runs]
    assert beside_plain == ["conv2"]  # the book's Conv-2 with dropout is judged against Conv-2 without
    assert [j.claim.kind for j in conv].count("dropout helps") == 1
    # every claim on LeNet-300-100 at each of the paper's sizes the 22-round sweep reaches
    assert [len(tables[name]) for name in ("against dense", "against controls", "one-shot")] == [9, 13, 8]
    expected = [repr(report.Table(claims.claims_table(tables[name]))) for name in tables]
    expected.append(repr(report.Table(claims.claims_table(conv))))
    assert shown_tables() == expected
