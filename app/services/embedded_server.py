"""The central server run beside the console on 127.0.0.1 (README's one-command start).

A separate process, not a thread: the server's work never competes with the GUI
thread for the interpreter lock, and it can be killed and restarted like the real one.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(*args: str) -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller bundle: the console binary dispatches
        return [sys.executable, "--server-cli", *args]
    return [sys.executable, "-m", "app.server", *args]


class EmbeddedServer:
    def __init__(self, folder: Path, demo_scale: int = 1):
        self.folder = Path(folder)
        self.demo_scale = demo_scale
        self.db = self.folder / "server.db"
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.db}"

    def ensure_demo(self) -> None:
        if self.db.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        print("正在生成演示辖区 Generating the demo district …", flush=True)
        subprocess.run(server_command("init-demo", "--database-url", self.database_url,
                                      "--scale", str(self.demo_scale)), check=True)

    def start(self, timeout: float = 30.0) -> str:
        self.launch()
        self.wait_ready(timeout)
        return self.url

    def launch(self) -> str:
        """Start the process and return its URL without waiting for it to answer."""
        self.ensure_demo()
        port = free_port()
        log_file = open(self.folder / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            server_command("serve", "--host", "127.0.0.1", "--port", str(port),
                           "--database-url", self.database_url),
            stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"embedded server exited with {self.proc.returncode}; "
                                   f"see {self.folder / 'server.log'}")
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # polling a child process's readiness, not synchronising tests
        self.stop()
        raise RuntimeError("embedded server did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
