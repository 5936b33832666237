"""Themes render completely; settings survive damage and keep flags out of the file."""

from __future__ import annotations

import json
import re

import pytest

from app.ui import theme
from app.ui.settings import Settings


@pytest.mark.parametrize("name", theme.THEMES)
@pytest.mark.parametrize("scale", [1.0, 1.6, 3.2])
def test_stylesheet_fills_every_placeholder(name, scale):
    qss = theme.stylesheet(name, scale)
    assert "{{" not in qss and "}}" not in qss
    assert f"font-size: {round(15 * scale)}px" in qss


def test_both_palettes_define_the_same_colours():
    assert set(theme.palette_colours("day")) == set(theme.palette_colours("night"))


def test_night_is_dark_and_day_is_light():
    def lightness(hex_colour):
        return theme.colour("day", "bg").fromString(hex_colour).lightness()
    assert lightness(theme.palette_colours("night")["bg"]) < 40
    assert lightness(theme.palette_colours("day")["bg"]) > 200


def test_theme_switch_at_run_time(make_window, qapp):
    window = make_window()
    window.menus.toggle_theme.trigger()  # Ctrl+Shift+T
    assert window.settings.theme == "night"
    assert theme.palette_colours("night")["bg"] in qapp.styleSheet()
    assert window.menus.theme_actions["night"].isChecked()
    window.set_theme("day")
    assert theme.palette_colours("day")["bg"] in qapp.styleSheet()


def test_settings_round_trip_and_flags_stay_out_of_the_file(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    assert (s.language, s.theme) == ("zh", "day")
    s.override(language="en", theme=None)
    assert s.language == "en"
    s.set_layout("duty", b"\x00\x01state", b"geom")
    s.save()
    again = Settings.load(path)
    assert again.language == "zh"
    assert again.layout("duty") == (b"\x00\x01state", b"geom")
    assert again.layout("briefing") == (None, None)


def test_damaged_settings_file_is_set_aside(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    s = Settings.load(path)
    assert s.theme == "day"
    assert (tmp_path / "settings.json.bad").exists()
    s.save()
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1


def test_qss_has_no_rules_for_missing_object_names():
    # A selector naming an objectName nobody sets is a rule that silently does nothing.
    from pathlib import Path

    sources = (Path(__file__).parents[2] / "app" / "ui").rglob("*.py")
    ui = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    qss = (theme.resources_dir() / "themes" / "console.qss").read_text(encoding="utf-8")
    names = set(re.findall(r"[A-Za-z]#(\w+)", qss))  # QLabel#clockLabel, not a colour like #ffffff
    assert "clockLabel" in names
    unused = {n for n in names if f'"{n}"' not in ui}
    assert not unused
