"""The house translation: Chinese source strings, English looked up in resources/i18n/en.json
(and en.d/*.json, one file per panel).

``tr("值班日志")`` returns the Chinese text when Chinese is on and the English entry
otherwise. ``N_("地图")`` only marks a string for the catalogue check (the caller
translates it later with ``tr``). Widgets re-label themselves on
``notifier().language_changed``. tests/ui/test_i18n.py checks every marked string
has an English entry, so a missing one fails CI instead of showing Chinese to an
English reader.
"""

from __future__ import annotations

import json
import logging
from functools import cache

from PySide6.QtCore import QObject, Signal

from app.paths import resources_dir

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
_state = {"lang": "zh"}


class LanguageNotifier(QObject):
    language_changed = Signal(str)
    """The interface language changed; the argument is the new code ("zh" or "en")."""


@cache
def notifier() -> LanguageNotifier:
    return LanguageNotifier()


@cache
def catalogue() -> dict[str, str]:
    return load_catalogue()


def load_catalogue() -> dict[str, str]:
    """en.json plus every resources/i18n/en.d/*.json (one file per panel, so panels never collide)."""
    folder = resources_dir() / "i18n"
    merged: dict[str, str] = {}
    for path in [folder / "en.json", *sorted((folder / "en.d").glob("*.json"))]:
        with open(path, encoding="utf-8") as fh:
            merged.update(json.load(fh))
    return merged


def current() -> str:
    return _state["lang"]


def set_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    if lang != _state["lang"]:
        _state["lang"] = lang
        notifier().language_changed.emit(lang)


def tr(text: str) -> str:
    if _state["lang"] == "zh":
        return text
    english = catalogue().get(text)
    if english is None:
        log.warning("no English for %r", text)
        return text
    return english


def N_(text: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    return text
