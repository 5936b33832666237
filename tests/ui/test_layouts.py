"""Dock layouts: saved on close, restored on start, named recipes, reset."""

from __future__ import annotations

import json

from app.ui.settings import Settings, qt_key


def test_hidden_dock_survives_close_and_restart(make_window, home, qtbot):
    first = make_window()
    first.show()
    assert first.docks["map"].isVisible()
    first.docks["map"].hide()
    first.close()

    saved = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    assert qt_key() in saved["layouts"]["duty"]  # keyed by Qt major.minor, as Anki does

    second = make_window(window_settings=Settings.load(home / "settings.json"))
    second.show()
    assert second.docks["map"].isHidden()
    assert not second.docks["map"].toggleViewAction().isChecked()
    assert second.docks["overview"].isVisible()

    second.reset_layout()
    assert second.docks["map"].isVisible()


def test_named_layouts(make_window):
    window = make_window()
    window.show()
    window.apply_layout("briefing")
    assert window.docks["duty_log"].isHidden() and window.docks["resources"].isHidden()
    assert window.docks["map"].isVisible() and window.docks["warnings"].isVisible()
    window.menus.layout_actions["duty"].trigger()
    assert all(not d.isHidden() for d in window.docks.values())
    assert window.docks["duty_log"].isVisible()  # in front of its tab group
    assert window.tabifiedDockWidgets(window.docks["duty_log"])  # resources and video behind it


def test_layout_from_another_qt_version_is_ignored(make_window, home):
    data = {"layouts": {"duty": {"qt5.15": {"state": "AAAA", "geometry": None}}}}
    (home / "settings.json").write_text(json.dumps(data), encoding="utf-8")
    window = make_window(window_settings=Settings.load(home / "settings.json"))
    window.show()
    assert window.docks["map"].isVisible()


def test_a_damaged_saved_state_falls_back_to_the_recipe(make_window, settings):
    settings.set_layout("duty", b"not a qt state", None)
    window = make_window()
    window.show()
    assert all(not d.isHidden() for d in window.docks.values())


def _structure(window):
    """Visibility, area and tab group of each dock, and the left-to-right order of the front ones."""
    tabs = {k: frozenset(t.objectName() for t in window.tabifiedDockWidgets(d)) for k, d in window.docks.items()}
    shape = {k: (d.isHidden(), d.isFloating(), window.dockWidgetArea(d), tabs[k]) for k, d in window.docks.items()}
    front = [k for k, d in window.docks.items() if not d.visibleRegion().isEmpty()]
    return shape, sorted(front, key=lambda k: (window.docks[k].x(), window.docks[k].y()))


def test_switching_layouts_back_and_forth_gives_the_fresh_result(make_window, qtbot):
    fresh = make_window()
    fresh.show()
    qtbot.wait(50)
    expected = _structure(fresh)
    fresh.docks["map"].setFloating(True)
    fresh.docks["video"].hide()
    for name in ("briefing", "duty", "briefing", "duty"):
        fresh.apply_layout(name)
        qtbot.wait(20)
    assert _structure(fresh) == expected
    assert expected[1][:2] == ["overview", "map"]  # the picture on the left, as the recipe says
