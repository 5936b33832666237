"""Helpers shared by the video tests (a unique module name: tests/ui has a conftest too)."""

from __future__ import annotations

import threading
import time


def wait_for(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll a condition set by another thread (the media loop); fail with a message on timeout."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        tick.wait(0.02)
