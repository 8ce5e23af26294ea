"""How the book shows a table or a sentence computed from results.

Jupyter shows a pandas frame with its index and ``print`` output as a
fixed-width block that the page cuts off at the column edge. The two classes
here render as an HTML table without index and as a Markdown paragraph in the
book, and as plain text (which nbval compares) everywhere else.
"""

from __future__ import annotations

import html

import pandas as pd


class Table:
    """A data frame shown without its index; cells are plain text, escaped."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, border=0, classes="dataframe lthlib-table", justify="left")

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


class Text:
    """A paragraph, or a bullet list when given several items (Markdown; plain text elsewhere)."""

    def __init__(self, *items: str):
        self.items = items

    def _repr_markdown_(self) -> str:
        if len(self.items) == 1:
            return _markdown_escape(self.items[0])
        return "\n".join(f"- {_markdown_escape(item)}" for item in self.items)

    def __repr__(self) -> str:
        return "\n".join(self.items)


def _markdown_escape(text: str) -> str:
    """Keeps text literal in Markdown: HTML-escaped, and the characters that start emphasis or code escaped."""
    text = html.escape(text, quote=False)
    for character in "\\`*_[]":
        text = text.replace(character, "\\" + character)
    return text
