"""Cells written to CSV/XLSX files that officers open in Excel or WPS."""

from __future__ import annotations

from typing import Any


def spreadsheet_cell(value: Any) -> str:
    """The text of a cell, never a formula: text starting with = + - @ gets a leading quote.

    Log text comes from callers and from other consoles; "=HYPERLINK(…)" in a body must
    show as text in the exported sheet, not run. Numbers such as -3 stay numbers.
    """
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
