"""The console's own settings (language, theme, window layouts) in home/settings.json.

Qt objects are never pickled: window state is stored as base64 text under a key
carrying Qt's major.minor version, because restoring state saved by another Qt
version can crash (Anki's saveGeom does the same). Command-line flags override a
setting for this run only; a change made in the window is saved.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import qVersion

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
DEFAULTS: dict[str, Any] = {"version": SETTINGS_VERSION, "language": "zh", "theme": "day", "layouts": {}}


def qt_key() -> str:
    major, minor = qVersion().split(".")[:2]
    return f"qt{major}.{minor}"


class Settings:
    def __init__(self, path: Path, data: dict[str, Any] | None = None):
        self.path = path
        self._data = {**copy.deepcopy(DEFAULTS), **(data or {})}  # never share DEFAULTS' layouts dict
        self._overrides: dict[str, Any] = {}

    @classmethod
    def load(cls, path: Path) -> Settings:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as e:
            # A damaged settings file must never stop the console from starting: keep it aside.
            log.warning("settings %s unreadable (%s); starting from defaults", path, e)
            try:
                os.replace(path, path.with_suffix(".json.bad"))
            except OSError:
                pass
            data = {}
        return cls(path, data)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)  # never a half-written settings file after a power cut

    # ---- Values ----------------------------------------------------------------------------
    def override(self, **values: Any) -> None:
        """Values for this run only (command-line flags); None leaves the saved value."""
        self._overrides.update({k: v for k, v in values.items() if v is not None})

    def get(self, key: str) -> Any:
        return self._overrides.get(key, self._data.get(key, DEFAULTS.get(key)))

    def set(self, key: str, value: Any) -> None:
        self._overrides.pop(key, None)
        self._data[key] = value

    @property
    def language(self) -> str:
        return self.get("language")

    @property
    def theme(self) -> str:
        return self.get("theme")

    # ---- Layouts ---------------------------------------------------------------------------
    def layout(self, mode: str) -> tuple[bytes | None, bytes | None]:
        """(window state, geometry) saved for this mode ("duty" or "briefing") by this Qt version."""
        saved = self._data.get("layouts", {}).get(mode, {}).get(qt_key())
        if not saved:
            return None, None
        return _unb64(saved.get("state")), _unb64(saved.get("geometry"))

    def set_layout(self, mode: str, state: bytes, geometry: bytes | None) -> None:
        layouts = self._data.setdefault("layouts", {})
        layouts.setdefault(mode, {})[qt_key()] = {
            "state": base64.b64encode(state).decode("ascii"),
            "geometry": base64.b64encode(geometry).decode("ascii") if geometry else None,
        }

    def clear_layout(self, mode: str) -> None:
        self._data.get("layouts", {}).get(mode, {}).pop(qt_key(), None)


def _unb64(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text)
    except ValueError:
        return None
