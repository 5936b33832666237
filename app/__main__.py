"""`command-desk`: the duty officer's console."""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="command-desk", description="应急指挥台 Command Desk console")
    p.add_argument("--server", metavar="URL",
                   help="central server to sync with (default: start an embedded one on 127.0.0.1)")
    p.add_argument("--no-server", action="store_true", help="work from the local cache only (offline)")
    p.add_argument("--cache", metavar="FILE", help="local cache file (default: per-user data folder)")
    p.add_argument("--home", metavar="DIR", help="data folder for the cache, settings and embedded server")
    p.add_argument("--user", metavar="NAME", help="sign in as this user (password from --password-stdin)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--lang", choices=("zh", "en"), help="interface language (default: setting, else zh)")
    p.add_argument("--theme", choices=("day", "night"), help="colour theme")
    p.add_argument("--briefing", action="store_true", help="full-screen briefing display (大屏)")
    p.add_argument("--screenshot", metavar="FILE", help="render the main window to FILE and exit")
    p.add_argument("--size", metavar="WxH", default="1920x1080", help="window size for --screenshot")
    p.add_argument("--demo-scale", type=int, default=1, help="demo district scale for the embedded server")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--server-cli"]:  # a bundled console starting its embedded server
        from app.server.cli import main as server_main

        return server_main(argv[1:])
    args = parse_args(argv)
    from app.bootstrap import run_console

    return run_console(args)


if __name__ == "__main__":
    sys.exit(main())
