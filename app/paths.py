"""Where the program's own files are: resources/ and db/ beside app/, or inside a bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return project_root() / "resources"


def migrations_dir(which: str = "console") -> Path:
    return project_root() / "db" / which


def user_data_dir() -> Path:
    """Per-user data folder for the cache and settings (COMMAND_DESK_HOME overrides)."""
    override = os.environ.get("COMMAND_DESK_HOME")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
        return base / "CommandDesk"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "command-desk"
