"""Every string the UI marks for translation has an English entry, and nothing else does."""

from __future__ import annotations

import re
from pathlib import Path

from app.ui.i18n import load_catalogue

UI = Path(__file__).resolve().parents[2] / "app" / "ui"
MARKED = re.compile(r"""\b(?:tr|N_)\(\s*(?:"([^"\\]*)"|'([^'\\]*)')""")
DYNAMIC = re.compile(r"""\b(?:tr|N_)\(\s*f["']""")


def _marked() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(UI.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in MARKED.finditer(text):
            found.setdefault(m.group(1) or m.group(2), str(path.relative_to(UI)))
    return found


def _catalogue() -> dict[str, str]:
    return load_catalogue()


def test_scanner_finds_the_strings():
    marked = _marked()
    assert "值班日志" in marked and "退出(&Q)" in marked and "地点" in marked  # N_, tr("…"), tr('…')


def test_every_marked_string_has_english():
    catalogue = _catalogue()
    missing = {s: where for s, where in _marked().items() if not catalogue.get(s)}
    assert not missing, f"add these to resources/i18n/en.json: {missing}"


def test_no_stale_entries():
    stale = set(_catalogue()) - set(_marked())
    assert not stale, f"no longer used in app/ui: {stale}"


def test_no_formatted_source_strings():
    # tr(f"…") can never be found in the catalogue: translate the template, then .format() it.
    offenders = [str(p) for p in UI.rglob("*.py") if DYNAMIC.search(p.read_text(encoding="utf-8"))]
    assert not offenders


def test_placeholders_survive_translation():
    for zh, en in _catalogue().items():
        assert set(re.findall(r"\{\w+\}", zh)) == set(re.findall(r"\{\w+\}", en)), zh
        assert zh.count("&") == en.count("&"), zh  # a menu accelerator in both or neither
