"""The one shared selection: which record the officer is looking at, by id (never an object).

"Incident 42 selected" in the overview lights it up on the map, in the log and in
the resources panel; panels never import each other, they all watch this.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    selection_changed = Signal(str, tuple, object)
    """(entity, ids, source): ``source`` is the panel that selected, so it can ignore its own echo."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._current: dict[str, tuple[str, ...]] = {}

    def select(self, entity: str, ids: tuple[str, ...] | list[str], source: object = None) -> None:
        ids = tuple(ids)
        if self._current.get(entity) == ids:
            return
        self._current[entity] = ids
        self.selection_changed.emit(entity, ids, source)

    def current(self, entity: str) -> tuple[str, ...]:
        return self._current.get(entity, ())
