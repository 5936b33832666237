"""Switching the interface language at run time relabels everything, and back."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui import i18n

TITLES_EN = {"overview": "Overview", "map": "Map", "duty_log": "Duty log", "resources": "Resources",
             "video": "Video consultation", "warnings": "Warnings", "statistics": "Statistics"}


def _texts(window):
    panel = window.docks["overview"].panel()
    header = panel.model.headerData(0, Qt.Orientation.Horizontal)
    status = panel.model.index(0, 2).data()
    menus = [a.text() for a in window.menuBar().actions()]
    return (window.windowTitle(), {k: d.windowTitle() for k, d in window.docks.items()},
            panel.tiles["open_incidents"].caption_label.text(), header, status, menus,
            window.status.clock_caption.text(), window.docks["warnings"].panel().title_label.text())


def test_language_switch_relabels_the_window_and_back(make_window):
    window = make_window()
    zh = _texts(window)
    assert zh[0] == "应急指挥台" and zh[2] == "在办事件" and zh[3] == "事件" and zh[6] == "北京时间"
    assert zh[5] == ["文件(&F)", "视图(&V)", "帮助(&H)"]

    window.menus.toggle_language.trigger()  # Ctrl+Shift+L
    title, docks, caption, header, status, menus, clock_caption, empty_title = _texts(window)
    assert i18n.current() == "en"
    assert title == "Command Desk"
    assert {k: docks[k] for k in TITLES_EN} == TITLES_EN
    assert (caption, header) == ("Open incidents", "Incident")
    assert (clock_caption, empty_title) == ("Beijing time", "Warnings")  # an empty slot relabels too
    assert status in ("Reported", "Verified", "Responding")  # enum labels from app.domain.enums
    assert menus == ["&File", "&View", "&Help"]
    assert window.docks["map"].toggleViewAction().text() == "Map"
    assert window.settings.language == "en"

    window.set_language("zh")
    assert _texts(window) == zh


def test_language_setting_and_flag(qapp, home):
    from app.ui import app_setup

    settings = app_setup.prepare_application(qapp, lang="en", theme=None, home=home)
    assert i18n.current() == "en" and i18n.tr("值班日志") == "Duty log"
    settings.save()
    # The flag was for that run only: the saved language is still the default.
    assert app_setup.prepare_application(qapp, lang=None, theme=None, home=home).language == "zh"
