"""A real server process and a thin console-side client for the sync tests."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import requests
import sqlalchemy as sa

import sync_world as world
from app.domain.clock import now_iso
from app.server import db as server_db

ROOT = pathlib.Path(__file__).resolve().parents[2]
SECRET = "test-secret-not-for-production"
PG_URL = os.environ.get("COMMAND_DESK_TEST_PG_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


class ServerProcess:
    """``python -m app.server serve`` on 127.0.0.1 with a free port."""

    def __init__(self, database_url: str, log_path: pathlib.Path):
        self.database_url = database_url
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> ServerProcess:
        port = free_port()
        env = dict(os.environ, COMMAND_DESK_SECRET=SECRET, PYTHONPATH=str(ROOT))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                self.database_url,
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.base = f"http://127.0.0.1:{port}"
        wait_until(self._healthy, timeout=30, what=f"server health ({self.log_path})")
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited: {self.log_path.read_text(errors='replace')[-3000:]}")
        try:
            return requests.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()


class Console:
    """What a console does on the wire: login, numbered mutations, push, pull."""

    def __init__(self, server: ServerProcess, username: str, device_id: str | None = None):
        self.server = server
        self.username = username
        self.device_id = device_id or str(uuid.uuid4())
        self.http = requests.Session()
        self.seq = 0
        self.token = ""
        self.login_body: dict[str, Any] = {}

    @property
    def base(self) -> str:
        return self.server.base

    def login(self, password: str | None = None) -> requests.Response:
        r = self.http.post(
            f"{self.base}/api/v1/auth/login",
            timeout=10,
            json={
                "username": self.username,
                "password": password or world.password(self.username),
                "device_id": self.device_id,
            },
        )
        if r.status_code == 200:
            self.login_body = r.json()
            self.token = self.login_body["access_token"]
        return r

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(
        self, entity: str, entity_id: str, op: str, payload: dict | None = None, base_rev: dict | None = None
    ) -> dict[str, Any]:
        self.seq += 1
        m = {
            "mutation_id": str(uuid.uuid4()),
            "device_seq": self.seq,
            "entity": entity,
            "entity_id": entity_id,
            "op": op,
            "payload": payload or {},
            "client_time": now_iso(),
        }
        if base_rev is not None:
            m["base_rev"] = base_rev
        return m

    def push_raw(self, mutations: list[dict], **extra) -> requests.Response:
        body = {"device_id": self.device_id, "schema_version": 1, "mutations": mutations, **extra}
        return self.http.post(f"{self.base}/api/v1/sync/push", json=body, headers=self.headers(), timeout=30)

    def push(self, *mutations: dict) -> dict[str, Any]:
        r = self.push_raw(list(mutations))
        assert r.status_code == 200, r.text
        return r.json()

    def push_one(
        self, entity: str, entity_id: str, op: str, payload: dict | None = None, base_rev: dict | None = None
    ) -> dict[str, Any]:
        return self.push(self.mutation(entity, entity_id, op, payload, base_rev))["results"][0]

    def pull_page(self, cursor: int = 0, limit: int = 1000) -> requests.Response:
        return self.http.get(
            f"{self.base}/api/v1/sync/pull",
            params={"cursor": cursor, "limit": limit},
            headers=self.headers(),
            timeout=30,
        )

    def pull_all(self, cursor: int = 0, limit: int = 1000) -> tuple[dict[tuple[str, str], dict], int]:
        """Latest row per (entity, id), as a console's cache would hold it, and the final cursor."""
        rows: dict[tuple[str, str], dict] = {}
        while True:
            r = self.pull_page(cursor, limit)
            assert r.status_code == 200, r.text
            body = r.json()
            for c in body["changes"]:
                rows[(c["entity"], c["id"])] = c
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return rows, cursor


def new_id() -> str:
    return str(uuid.uuid4())


def incident(org_unit_id: str, **fields) -> dict[str, Any]:
    data = {
        "title": "内涝积水",
        "category": "natural",
        "severity": "IV",
        "status": "reported",
        "occurred_at": "2026-11-23T08:00:00+08:00",
        "org_unit_id": org_unit_id,
        "lon": 113.27,
        "lat": 23.13,
        "summary": "路面积水 30 厘米",
        "drill": False,
    }
    data.update(fields)
    return data


class Database:
    """A fresh database seeded with the test district: a SQLite file, or a throw-away PostgreSQL
    database when COMMAND_DESK_TEST_PG_URL names a server.
    """

    def __init__(self, backend: str, folder: pathlib.Path):
        self.backend = backend
        self._admin = None
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'server.db'}"
        else:
            admin_url = sa.engine.make_url(PG_URL)
            self.name = f"cdtest_{uuid.uuid4().hex[:12]}"
            self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
            self.url = admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.engine = server_db.make_engine(self.url)
        server_db.init_schema(self.engine)
        world.seed_world(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self._admin.dispose()
