"""Blocking work (a sign-in over the network, writing files to a USB stick) off the GUI thread.

The house shape (STYLE.md §9.5): the caller snapshots its inputs, a plain function runs
on a worker thread, and the result comes back on the GUI thread through a queued
signal. The function never touches a widget; ``done`` is called with
``(result, None)`` or ``(None, exception)``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class Job(QObject):
    finished = Signal(object, object)
    """The job ended: (result, None) or (None, exception); emitted on the worker thread."""

    def __init__(self, parent: QObject, done: Callable[[Any, BaseException | None], None]):
        super().__init__(parent)
        self.running = True
        self._done = done
        # A method of this object (which lives on the GUI thread) and a queued connection: the
        # callback runs on the GUI thread whichever thread emits.
        self.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object)
    def _on_finished(self, result: Any, error: BaseException | None) -> None:
        self.running = False
        try:
            self._done(result, error)
        finally:
            self.deleteLater()


def run(parent: QObject, fn: Callable[..., Any], *args: Any,
        done: Callable[[Any, BaseException | None], None]) -> Job:
    """Run ``fn(*args)`` on the worker thread; ``done`` runs on the GUI thread while ``parent`` lives."""
    job = Job(parent, done)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except Exception as e:  # handed to the GUI thread, which says what went wrong
            result, error = None, e
        try:
            job.finished.emit(result, error)
        except RuntimeError:
            log.debug("background job finished after its window closed")

    # A daemon thread per job: they are rare, and one stuck on a dead network (a sign-in can wait
    # out the 30 s read timeout) must not hold up closing the console.
    threading.Thread(target=work, name="ui-background", daemon=True).start()
    return job
