"""How a stocktake (盘点) row says what was counted: ``[count=N]`` at the start of its note.

The stock_movement entity has no field for the counted figure, so it travels in the note
under a strict prefix. One definition here for the console's ledger (app/services/stock.py),
the shared validation and the server's running balance.
"""

from __future__ import annotations

import re

COUNT_PREFIX = "[count="
_COUNT_RE = re.compile(r"\[count=([0-9]+)\]")


def count_note(counted: int, note: str | None = None) -> str:
    """The note of a stocktake row: ``[count=N]`` then the officer's note, if any."""
    return f"{COUNT_PREFIX}{counted}]" + (f" {note}" if note else "")


def counted_in(reason: str | None, note: str | None) -> int | None:
    """The counted figure a stocktake row asserts, or None for any other row."""
    if reason != "count_adjust" or not note:
        return None
    match = _COUNT_RE.match(note)
    return int(match.group(1)) if match else None
