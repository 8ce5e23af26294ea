"""What a chapter shows: tables and text as they render (:mod:`lthlib.analysis.report`)."""

from __future__ import annotations

import pandas as pd


def test_tables_show_no_index_and_text_stays_literal():
    from lthlib.analysis import report

    table = report.Table(pd.DataFrame({"claim": ["a < b"], "n": [5]}, index=[7]))
    html = table._repr_html_()
    assert "<th>7</th>" not in html and ">7<" not in html
    assert "a &lt; b" in html
    assert repr(table).splitlines() == ["claim  n", "a < b  5"]
    text = report.Text("keep *stars* and `ticks`", "second <item>")
    assert text._repr_markdown_() == "- keep \\*stars\\* and \\`ticks\\`\n- second &lt;item&gt;"
    assert repr(text) == "keep *stars* and `ticks`\nsecond <item>"
