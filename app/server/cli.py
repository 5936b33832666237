"""``command-desk-server``: serve the API and run the operator tasks.

    command-desk-server [serve] [--host 127.0.0.1] [--port 8750] [--database-url URL]
    command-desk-server init-demo [--scale N] [--force] [--validate sample|all|none] [--database-url URL]
    command-desk-server user add USERNAME --role ROLE [--org-unit ID] [--display-name NAME]
                                 (password read from stdin)
    command-desk-server device revoke DEVICE_ID
    command-desk-server device reset-key DEVICE_ID   (forget its key: it enrols again on next sign-in)
    command-desk-server org move-user USERNAME --to UNIT_ID
    command-desk-server org move-record ENTITY RECORD_ID --to UNIT_ID
    command-desk-server export-epoch | rotate-epoch
    command-desk-server purge-tombstones --up-to-rev N
    command-desk-server verify-audit

The database URL defaults to $COMMAND_DESK_DATABASE_URL, else sqlite:///var/server.db.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys
import time

from app.server.config import Settings

COMMANDS = ("serve", "init-demo", "user", "device", "org", "export-epoch", "rotate-epoch", "purge-tombstones",
            "verify-audit")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="command-desk-server", description="Command Desk central server")
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text)
        c.add_argument("--database-url", help="SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)")
        return c

    serve = cmd("serve", "run the HTTP API (default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--log-level", default="info")
    demo = cmd("init-demo", "load the synthetic demo district and its accounts")
    demo.add_argument("--scale", type=int, default=1)
    demo.add_argument("--force", action="store_true", help="replace existing contents (new epoch)")
    demo.add_argument("--validate", choices=["sample", "all", "none"], default="sample",
                      help="check_record on every row, on a sample (default), or not at all")
    user = cmd("user", "manage accounts")
    user.add_argument("action", choices=["add"])
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=["admin", "leader", "officer", "viewer"])
    user.add_argument("--org-unit", dest="org_unit")
    user.add_argument("--display-name", dest="display_name")
    user.add_argument("--phone")
    dev = cmd("device", "manage consoles")
    dev.add_argument("action", choices=["revoke", "reset-key"])
    dev.add_argument("device_id")
    org = sub.add_parser("org", help="move users and records between org units (consoles follow on their "
                                     "next pull)").add_subparsers(dest="action", required=True)
    for action, targets, help_text in (
            ("move-user", ("username",), "give an account another org unit (its consoles resync)"),
            ("move-record", ("entity", "record_id"), "move one record (e.g. incident ID) to another org unit")):
        move = org.add_parser(action, help=help_text)
        for name in targets:
            move.add_argument(name)
        move.add_argument("--to", dest="to_unit", required=True, metavar="UNIT_ID", help="the org unit's id")
        move.add_argument("--database-url", help="SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)")
    cmd("export-epoch", "print the server epoch (store it beside each backup)")
    cmd("rotate-epoch", "start a new epoch: run after every restore from backup")
    purge = cmd("purge-tombstones", "drop old tombstones and raise the resync horizon")
    purge.add_argument("--up-to-rev", type=int, required=True)
    cmd("verify-audit", "recompute the audit hash chain")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "serve")
    args = _parser().parse_args(argv)
    settings = Settings.from_env(database_url=args.database_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return _serve(Settings.from_env(database_url=args.database_url, host=args.host, port=args.port),
                      args.log_level)
    from app.server import db  # not at the top: `serve` should start without loading more

    engine = db.make_engine(settings.database_url)
    db.init_schema(engine)
    try:
        return _task(args, engine)
    finally:
        engine.dispose()


class RedactTokens(logging.Filter):
    """uvicorn logs the events WebSocket's URL, whose query string carries an access token."""

    _TOKEN = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def _serve(settings: Settings, log_level: str) -> int:
    import uvicorn

    from app.server.api import create_app

    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level,
                proxy_headers=False)
    return 0


def _task(args: argparse.Namespace, engine) -> int:
    from app.server import db, maintenance, seed

    if args.command == "init-demo":
        started = time.perf_counter()
        done = seed.init_demo(engine, args.scale, force=args.force, validate=args.validate)
        seconds = time.perf_counter() - started
        print(f"loaded {done['rows']} records in {seconds:.1f} s ({done['rows'] / seconds:,.0f} rows/s, "
              f"demo generation and account hashing included)")
        print("demo accounts (username / password / role):")
        for u in done["users"]:
            print(f"  {u['username']:<16} {u['password']:<16} {u['role']}")
        return 0
    if args.command == "user":
        password = _read_password()
        if not password:
            print("error: empty password", file=sys.stderr)
            return 2
        made = seed.add_accounts(engine, [{
            "username": args.username, "name": args.display_name or args.username, "role": args.role,
            "org_unit_id": args.org_unit, "phone": args.phone, "password": password}])
        print(f"created {args.username} ({args.role}) id {made[0]['id']}")
        return 0
    if args.command == "device" and args.action == "reset-key":
        from app.server.devices import reset_key

        if not reset_key(engine, args.device_id):
            print(f"error: no device {args.device_id}", file=sys.stderr)
            return 1
        print(f"device key of {args.device_id} reset: it enrols again on its next sign-in")
        return 0
    if args.command == "device":
        if not maintenance.revoke_device(engine, args.device_id):
            print(f"error: no device {args.device_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.device_id}")
        return 0
    if args.command == "org":
        return _org(args, engine)
    if args.command == "export-epoch":
        print(maintenance.current_epoch(engine))
        return 0
    if args.command == "rotate-epoch":
        print(db.rotate_epoch(engine))
        return 0
    if args.command == "purge-tombstones":
        print(f"purged {maintenance.purge_tombstones(engine, args.up_to_rev)} tombstones")
        return 0
    if args.command == "verify-audit":
        from app.server.audit import verify

        with engine.connect() as conn:
            broken = verify(conn)
        print("audit chain ok" if broken is None else f"audit chain broken at seq {broken}")
        return 0 if broken is None else 1
    raise AssertionError(args.command)


def _org(args: argparse.Namespace, engine) -> int:
    from app.server import maintenance

    try:
        if args.action == "move-user":
            what = args.username
            done = maintenance.move_user(engine, args.username, args.to_unit)
        else:
            what = f"{args.entity} {args.record_id}"
            done = maintenance.move_record(engine, args.entity, args.record_id, args.to_unit)
    except maintenance.MaintenanceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if done["rev"] is None:
        print(f"{what} is already in {args.to_unit}: nothing changed")
    else:
        print(f"moved {what} from {done['from']} to {done['to']} at rev {done['rev']}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\r\n")
