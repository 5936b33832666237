"""What changed: commands and the sync engine publish ChangeSets; views decide what to refetch.

Qt-free. app/ui wraps the bus in one Qt signal delivered on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable


@dataclasses.dataclass(frozen=True)
class ChangeSet:
    """Entities touched, with the ids when known (an empty set means "any row")."""

    entities: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    origin: str = "local"  # "local" for this console's commands, "sync" for pulled rows

    @classmethod
    def of(cls, entity: str, ids: Iterable[str] = (), origin: str = "local") -> ChangeSet:
        return cls({entity: frozenset(ids)}, origin)

    def touches(self, *entities: str) -> bool:
        return any(e in self.entities for e in entities)

    def merge(self, other: ChangeSet) -> ChangeSet:
        merged = dict(self.entities)
        for e, ids in other.entities.items():
            if e not in merged:
                merged[e] = ids
            elif merged[e] and ids:
                merged[e] = merged[e] | ids
            else:
                merged[e] = frozenset()  # one side said "any row"
        return ChangeSet(merged, self.origin if self.origin == other.origin else "mixed")


class ChangeBus:
    """Synchronous fan-out of ChangeSets to subscribers (called from any thread)."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[ChangeSet], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Callable[[ChangeSet], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)
        return unsubscribe

    def publish(self, changes: ChangeSet) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            fn(changes)
