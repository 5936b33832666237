"""The one place that wires store, sync, services and ui together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from app.paths import user_data_dir

log = logging.getLogger("command_desk")


def _home(args: argparse.Namespace) -> Path:
    home = Path(args.home) if args.home else user_data_dir()
    home.mkdir(parents=True, exist_ok=True)
    return home


def _load_device_key(cache: Path, device_id: str) -> None:
    """The console's Ed25519 key beside the cache, made on first use (app/sync/signing.py)."""
    from app.sync import signing

    try:
        signing.install(device_id, signing.DeviceKey.load_or_create(signing.key_path(cache)))
    except (OSError, ValueError) as e:  # unreadable or foreign key file: sync unsigned, as an old console
        logging.getLogger(__name__).warning("device key not loaded (%s): pushes go unsigned", e)


def open_context(cache: Path, server_url: str | None):
    """Open the cache and build the services (no Qt)."""
    from app.services.changes import ChangeBus
    from app.services.context import AppContext
    from app.store.db import Store
    from app.store.device import ensure_device

    store = Store(cache)
    device_id = store.write_sync(ensure_device)
    _load_device_key(cache, device_id)
    return AppContext(store=store, bus=ChangeBus(), device_id=device_id, server_url=server_url)


def run_console(args: argparse.Namespace) -> int:
    logging.basicConfig(level=os.environ.get("COMMAND_DESK_LOG", "WARNING"),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    home = _home(args)
    cache = Path(args.cache) if args.cache else home / "cache.db"

    import qasync
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.services import embedded_server, signin
    from app.store.db import StoreError
    from app.ui import app_setup
    from app.ui.main_window import MainWindow

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    settings = app_setup.prepare_application(qapp, lang=args.lang, theme=args.theme, home=home)

    server = None
    server_url = args.server
    if not server_url and not args.no_server:
        # Launched first and not waited for: the window opens from the cache while it boots.
        server = embedded_server.EmbeddedServer(home / "server", demo_scale=args.demo_scale)
        server_url = server.launch()
    try:
        ctx = open_context(cache, server_url)
    except StoreError as e:
        QMessageBox.critical(None, "应急指挥台 Command Desk", f"{e.message_zh}\n\n{e.message_en}")
        if server:
            server.stop()
        return 2

    credentials = signin.start_credentials(args.user, args.password_stdin, embedded=server is not None)
    if credentials and server_url:
        if not signin.has_verifier(ctx, credentials[0]) and server is not None:
            server.wait_ready()  # first start: nothing cached to sign in against yet
        try:
            ctx.user = signin.sign_in(ctx, *credentials)
        except signin.SignInFailed as e:  # the window asks instead; a typo is no reason to crash
            log.warning("sign-in at start failed: %s", e)
            credentials = None
    elif not server_url:
        ctx.user = signin.local_user(ctx)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    if server_url:
        # Created even before anyone signs in: without a token it waits in "sign-in needed",
        # and the sign-in dialog resumes it.
        from app.services.sync_engine import SyncEngine

        ctx.sync = SyncEngine(ctx)
        if ctx.pending_tokens:
            ctx.sync.use_tokens(ctx.pending_tokens)
        if credentials:
            ctx.sync.use_credentials(*credentials)

    window = MainWindow(ctx, settings=settings, briefing=args.briefing)
    code = 0
    try:
        if args.screenshot:
            if server is not None:
                server.wait_ready()  # a screenshot shows the synced district, not a booting one
            code = app_setup.screenshot_and_exit(window, Path(args.screenshot), args.size, loop)
        else:
            if os.environ.get("COMMAND_DESK_EXIT_AFTER_PAINT"):
                _exit_after_first_paint(window)
            window.show()
            if ctx.sync is not None:
                ctx.sync.start()
            with loop:
                code = loop.run_until_complete(app_setup.until_closed(window))
    finally:
        if ctx.sync is not None:
            ctx.sync.stop()
        ctx.store.close()
        if server:
            server.stop()
    return code


def _exit_after_first_paint(window) -> None:
    """Start-up benchmark probe: print seconds since process start at the first paint, then close."""
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer

    started = float(os.environ["COMMAND_DESK_EXIT_AFTER_PAINT"])

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                print(f"painted {time.time() - started:.4f}", flush=True)
                window.removeEventFilter(self)
                QTimer.singleShot(0, window.close)
            return False

    window._first_paint_probe = FirstPaint(window)
    window.installEventFilter(window._first_paint_probe)
