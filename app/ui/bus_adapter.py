"""The ChangeBus as one Qt signal, always delivered on the GUI thread.

Commands and the sync engine may publish from the writer thread or the event loop;
the queued connection moves every ChangeSet onto the GUI thread, and also defers
delivery until the publishing call has returned, so a panel never refreshes in
the middle of the command that changed the data.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from app.services.changes import ChangeBus


class ChangeBridge(QObject):
    changes_applied = Signal(object)
    """A ChangeSet arrived (on the GUI thread); models decide what to refetch."""

    _arrived = Signal(object)  # emitted on the publisher's thread

    def __init__(self, bus: ChangeBus, parent: QObject | None = None):
        super().__init__(parent)
        self._arrived.connect(self.changes_applied.emit, Qt.ConnectionType.QueuedConnection)
        unsubscribe = bus.subscribe(self._arrived.emit)
        self._unsubscribe = unsubscribe
        # A deleted bridge must leave the bus, or the next publish hits a dead C++ object.
        self.destroyed.connect(lambda *_: unsubscribe())

    def close(self) -> None:
        self._unsubscribe()
