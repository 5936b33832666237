"""Fault injection for the console <-> server sync tests (SYNC_RESEARCH.md §4).

* :class:`FaultInjectingAdapter` sits under a console's ``requests`` session and can
  partition, delay, duplicate, hold and reorder requests, drop an answer after the
  server processed the request, or truncate and corrupt a body.
* :class:`FaultServer` runs the real server process (optionally wrapped in the test-only
  ASGI middleware of ``fault_server.py``, which answers 500 after the commit) with extra
  environment such as a short token lifetime.
* :class:`HostileServer` is a tiny HTTP server on 127.0.0.1 whose answers a test writes.
* Child consoles (``fault_child.py``) run the real engine in a subprocess so a test can
  SIGKILL them at a chosen instant.
* The checkers at the end are the global invariants I1-I4 and I6 of §4.

Waiting is always on an observable condition with a deadline, never a bare sleep.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import pathlib
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter

from app.domain.entities import ENTITIES
from app.server.audit import verify as verify_audit
from app.server.tables import audit_log, processed_mutation, record, stock_balance
from app.store.outbox import TERMINAL
from app.store.schema import ENTITY_TABLES
from app.sync import signing
from app.sync import transport as T
from sync_live import SECRET, Console, Database, ServerProcess, free_port, wait_until  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
PG_URL = os.environ.get("COMMAND_DESK_TEST_PG_URL")


# ---------------------------------------------------------------------------------------------
# Slow tests: opt-in, so the default run (make test) stays within its budget.


def run_slow(config: pytest.Config) -> bool:
    return bool(os.environ.get("COMMAND_DESK_SLOW")) or "slow" in (config.option.markexpr or "")


@pytest.fixture(autouse=True)
def slow_gate(request):
    """Skip a ``slow`` test unless selected with ``-m slow`` or COMMAND_DESK_SLOW=1.

    Autouse in every test module that imports it."""
    if request.node.get_closest_marker("slow") and not run_slow(request.config):
        pytest.skip("slow fault-injection run: select with -m slow or COMMAND_DESK_SLOW=1")


# ---------------------------------------------------------------------------------------------
# Transport faults


class _Body(io.BytesIO):
    """A response body the test controls, readable the way SyncTransport reads urllib3's."""

    def read(self, amt: int | None = None, decode_content: bool = True, **_kw: Any) -> bytes:  # noqa: ARG002
        return super().read(-1 if amt is None else amt)

    def release_conn(self) -> None:
        pass


def _drain(resp: requests.Response) -> bytes:
    body = resp.raw.read(decode_content=True)
    with contextlib.suppress(Exception):
        resp.raw.release_conn()
    return body


def with_body(resp: requests.Response, body: bytes) -> requests.Response:
    resp.raw = _Body(body)
    resp._content = False
    resp._content_consumed = False
    return resp


def fake_response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.request = request
    resp.url = request.url
    resp.headers["Content-Type"] = "application/json"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return with_body(resp, raw)


Action = Callable[["FaultInjectingAdapter", requests.PreparedRequest, dict], requests.Response]


class FaultInjectingAdapter(HTTPAdapter):
    """An HTTPAdapter that misbehaves on demand.

    ``partitioned`` drops every request (ConnectionError). ``once(path, action)`` arms a
    one-shot fault for the next request whose path ends with ``path``; ``always`` keeps it.
    Every request is logged in ``calls`` as ``(method, path, status_or_error)``.
    """

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self._lock = threading.Lock()
        self.partitioned = False
        self._armed: list[tuple[str, str | None, Action, bool]] = []
        self.held: list[tuple[requests.PreparedRequest, dict]] = []
        self.calls: list[tuple[str, str, Any]] = []
        self.extra_answers: list[tuple[int, Any]] = []  # answers to duplicate copies
        self.sent: list[tuple[str, Any]] = []  # (path, parsed JSON body) of every request with a body
        self.urls: list[str] = []  # every URL asked for, with its query

    # -- arming -----------------------------------------------------------------------------
    def once(self, path: str, action: Action, method: str | None = None) -> FaultInjectingAdapter:
        with self._lock:
            self._armed.append((path, method, action, False))
        return self

    def always(self, path: str, action: Action, method: str | None = None) -> FaultInjectingAdapter:
        with self._lock:
            self._armed.append((path, method, action, True))
        return self

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def count(self, path: str, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for m, p, _ in self.calls if p.endswith(path) and (method is None or m == method))

    # -- plumbing ---------------------------------------------------------------------------
    @staticmethod
    def path_of(request: requests.PreparedRequest) -> str:
        return requests.utils.urlparse(request.url).path

    def forward(self, request: requests.PreparedRequest, kw: dict) -> requests.Response:
        return super().send(request, **kw)

    def forward_read(self, request: requests.PreparedRequest, kw: dict) -> tuple[requests.Response, bytes]:
        """Send for real and read the whole answer (the server has processed the request)."""
        resp = self.forward(request, kw)
        return resp, _drain(resp)

    def _take(self, request: requests.PreparedRequest) -> Action | None:
        path = self.path_of(request)
        with self._lock:
            for i, (suffix, method, action, keep) in enumerate(self._armed):
                if path.endswith(suffix) and (method is None or method == request.method):
                    if not keep:
                        del self._armed[i]
                    return action
        return None

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        kw = {"stream": stream, "timeout": timeout, "verify": verify, "cert": cert, "proxies": proxies}
        path = self.path_of(request)
        with self._lock:
            self.urls.append(request.url)
        if request.body:
            with self._lock, contextlib.suppress(ValueError, TypeError):
                self.sent.append((path, json.loads(request.body)))
        if self.partitioned:
            self._log(request.method, path, "partitioned")
            raise requests.ConnectionError(f"network partition (fault) on {path}", request=request)
        action = self._take(request)
        try:
            resp = action(self, request, kw) if action else self.forward(request, kw)
        except Exception as e:
            self._log(request.method, path, type(e).__name__)
            raise
        self._log(request.method, path, resp.status_code)
        return resp

    def _log(self, method: str, path: str, what: Any) -> None:
        with self._lock:
            self.calls.append((method, path, what))

    def release_held(self) -> list[tuple[int, Any]]:
        """Deliver the held requests now, oldest first; returns (status, json) of each."""
        with self._lock:
            held, self.held = self.held, []
        out = []
        for request, kw in held:
            resp, body = self.forward_read(request, kw)
            out.append((resp.status_code, json.loads(body) if body else None))
        return out


# Actions ------------------------------------------------------------------------------------


def partition(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    raise requests.ConnectionError("network partition (fault)", request=request)


def drop_response(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    """The server processes the request; its answer is lost on the way back."""
    adapter.forward_read(request, kw)
    raise requests.ConnectionError("connection reset after the server answered (fault)", request=request)


def hold(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    """The request is stuck in the network: the client times out, it arrives later (release_held)."""
    with adapter._lock:
        adapter.held.append((request.copy(), kw))
    raise requests.ReadTimeout("request held in the network (fault)", request=request)


def truncate(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    resp, body = adapter.forward_read(request, kw)
    return with_body(resp, body[: max(1, len(body) // 2)])


def corrupt(transform: Callable[[Any], Any]) -> Action:
    """Rewrite the parsed JSON answer (or raw bytes when it is not JSON) with ``transform``."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        resp, body = adapter.forward_read(request, kw)
        try:
            data = json.loads(body)
        except ValueError:
            return with_body(resp, transform(body))
        out = transform(data)
        return with_body(resp, out if isinstance(out, bytes) else json.dumps(out).encode())

    return action


def respond(status: int, body: Any) -> Action:
    """Answer without contacting the server."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        return fake_response(request, status, body)

    return action


def duplicate(copies: int = 2, concurrent: bool = False) -> Action:
    """Send the request ``copies`` times (in parallel threads when ``concurrent``).

    The client gets the first answer; the others land in ``adapter.extra_answers``.
    """

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        answers: list[tuple[requests.Response, bytes] | BaseException] = [None] * copies  # type: ignore[list-item]

        def one(i: int) -> None:
            try:
                answers[i] = adapter.forward_read(request.copy(), dict(kw))
            except BaseException as e:  # noqa: BLE001 - reported to the test below
                answers[i] = e

        if concurrent:
            threads = [threading.Thread(target=one, args=(i,)) for i in range(copies)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        else:
            for i in range(copies):
                one(i)
        for a in answers:
            if isinstance(a, BaseException):
                raise a
        first, body = answers[0]
        with adapter._lock:
            adapter.extra_answers.extend((r.status_code, json.loads(b)) for r, b in answers[1:])
        return with_body(first, body)

    return action


def delay_until(event: threading.Event, timeout: float = 30.0) -> Action:
    """Hold the request on the client side until the test sets ``event`` (a slow link)."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        if not event.wait(timeout):
            raise requests.ReadTimeout("delayed past the deadline (fault)", request=request)
        return adapter.forward(request, kw)

    return action


def after(callback: Callable[[requests.Response, bytes], None]) -> Action:
    """Forward, then call ``callback(response, body)`` before the client sees the answer."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        resp, body = adapter.forward_read(request, kw)
        callback(resp, body)
        return with_body(resp, body)

    return action


def split_reorder(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    """A push batch is split in two: the later half is delivered first, the earlier half is held.

    The client receives the server's answer to the later half (a 409 sequence gap).
    """
    body = json.loads(request.body)
    muts = sorted(body["mutations"], key=lambda m: m["device_seq"])
    half = max(1, len(muts) // 2)
    head, tail = muts[:half], muts[half:]

    def part(mutations: list[dict]) -> requests.PreparedRequest:
        r = request.copy()
        piece = dict(body, mutations=mutations)
        if "batch_sig" in piece:  # two batches the console signed, as a pipelined console sends them
            del piece["batch_sig"]
            piece = signing.sign_push_body(piece)
        r.prepare_body(None, None, json=piece)
        return r

    with adapter._lock:
        adapter.held.append((part(head), dict(kw)))
    return adapter.forward(part(tail), kw)


def overtaken(timeout: float = 30.0) -> Action:
    """Arm one instance on two senders: the first request to arrive waits on a slow link until
    the second one has been answered, then arrives itself (a stale duplicate, if they match)."""
    lock, answered = threading.Lock(), threading.Event()
    arrivals: list[int] = []

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        with lock:
            arrivals.append(1)
            first = len(arrivals) == 1
        if first:
            if not answered.wait(timeout):
                raise requests.ReadTimeout("never overtaken (fault)", request=request)
            return adapter.forward(request, kw)
        resp, body = adapter.forward_read(request, kw)
        answered.set()
        return with_body(resp, body)

    return action


def with_header(name: str, value: str) -> Action:
    """Forward with an extra header (e.g. X-Test-Fault for fault_server.FaultMiddleware)."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        request.headers[name] = value
        return adapter.forward(request, kw)

    return action


def release_then_forward(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
    """Deliver what the network held first, then this request (the held batch arrives late)."""
    adapter.release_held()
    return adapter.forward(request, kw)


def drop_mutation(seq_index: int = 0) -> Action:
    """Remove one mutation from a push batch on the way (a lost piece of the request)."""

    def action(adapter: FaultInjectingAdapter, request, kw) -> requests.Response:
        body = json.loads(request.body)
        muts = sorted(body["mutations"], key=lambda m: m["device_seq"])
        del muts[min(seq_index, len(muts) - 1)]
        r = request.copy()
        r.prepare_body(None, None, json=dict(body, mutations=muts))
        return adapter.forward(r, kw)

    return action


def pull_cursors(adapter: FaultInjectingAdapter) -> list[int]:
    """The cursor of every pull request, in order."""
    out = []
    for url in adapter.urls:
        parsed = requests.utils.urlparse(url)
        if parsed.path.endswith("/sync/pull"):
            query = dict(p.split("=", 1) for p in parsed.query.split("&"))
            out.append(int(query["cursor"]))
    return out


def install(transport: T.SyncTransport) -> FaultInjectingAdapter:
    adapter = FaultInjectingAdapter()
    transport.session.mount("http://", adapter)
    return adapter


class FaultTransport(T.SyncTransport):
    """A SyncTransport whose session runs through a FaultInjectingAdapter (``.faults``)."""

    def __init__(self, base_url: str):
        super().__init__(base_url)
        self.faults = install(self)


# ---------------------------------------------------------------------------------------------
# Servers


def backends(heavy: bool = False) -> list:
    """SQLite always; PostgreSQL when configured, unless the test is ``heavy`` (SQLite only)."""
    out = [pytest.param("sqlite", id="sqlite")]
    if PG_URL and not heavy:
        out.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.pg))
    return out


def sqlite_only(database, why: str) -> None:
    """Skip the PostgreSQL run of a test whose subject does not touch the server's database."""
    if database.backend != "sqlite":
        pytest.skip(f"SQLite only: {why}")


class FaultServer(ServerProcess):
    """The real server process; ``middleware`` wraps it in fault_server.FaultMiddleware."""

    def __init__(self, database_url: str, log_path: pathlib.Path, *, env: dict[str, str] | None = None,
                 middleware: bool = False):
        super().__init__(database_url, log_path)
        self.env = env or {}
        self.middleware = middleware

    def start(self) -> FaultServer:
        port = free_port()
        env = dict(os.environ, COMMAND_DESK_SECRET=SECRET, PYTHONPATH=str(ROOT), **self.env)
        launcher = [str(HERE / "fault_server.py")] if self.middleware else ["-m", "app.server"]
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
        self.proc = subprocess.Popen(
            [sys.executable, *launcher, "serve", "--host", "127.0.0.1", "--port", str(port),
             "--database-url", self.database_url, "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.base = f"http://127.0.0.1:{port}"
        wait_until(self._healthy, timeout=30, what=f"server health ({self.log_path})")
        return self


def server_holds_write_lock(database) -> bool:
    """True while some server transaction holds the write lock (SQLite) or the revision row (PG)."""
    if database.backend == "sqlite":
        import pysqlite3.dbapi2 as sqlite

        con = sqlite.connect(sa.engine.make_url(database.url).database, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite.OperationalError:
            return True
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()
        return False
    with database.engine.connect() as conn:
        try:
            conn.exec_driver_sql("SELECT 1 FROM sync_meta WHERE id = 1 FOR UPDATE NOWAIT")
        except sa.exc.OperationalError:
            return True
        finally:
            conn.rollback()
    return False


def cli(database_url: str, *args: str) -> str:
    """Run ``command-desk-server`` (the operator's CLI) against the database."""
    done = subprocess.run([sys.executable, "-m", "app.server", *args, "--database-url", database_url],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class HostileServer:
    """An HTTP server on 127.0.0.1 that answers whatever ``handler(method, path, query, body)`` says.

    The handler returns ``(status, body)``; ``body`` may be bytes, a JSON value, or an
    iterator of byte chunks (streamed, for huge bodies).
    """

    def __init__(self, handler: Callable[[str, str, dict, bytes], tuple[int, Any]]):
        outer = self
        self.requests: list[tuple[str, str, dict]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _answer(self) -> None:
                parsed = requests.utils.urlparse(self.path)
                query = dict(p.split("=", 1) for p in parsed.query.split("&") if "=" in p)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, parsed.path, query))
                status, payload = handler(self.command, parsed.path, query, body)
                if isinstance(payload, Iterator):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        for chunk in payload:
                            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    self.close_connection = True
                    return
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(raw)

            do_GET = do_POST = do_PUT = _answer  # noqa: N815

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------
# Child consoles


class Child:
    """A console in a subprocess (fault_child.py); ``expect(prefix)`` waits for a line it prints."""

    def __init__(self, mode: str, server_base: str, folder: pathlib.Path, username: str, *args: str):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]))
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fault_child.py"), mode, server_base, str(folder), username, *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        self._buf = b""
        self.lines: list[str] = []

    def expect(self, prefix: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                text = line.decode()
                self.lines.append(text)
                if text.startswith(prefix):
                    return text
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and not self._sel.select(0):
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise TimeoutError(f"child never printed {prefix!r}; saw {self.lines}; stderr: {err[-3000:]}")
            if self._sel.select(min(left, 0.5)):
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk and self.proc.poll() is not None:
                    continue
                self._buf += chunk

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: no clean-up of any kind
        self.proc.wait(timeout=30)
        self._sel.close()
        self.proc.stdout.close()
        self.proc.stderr.close()


# ---------------------------------------------------------------------------------------------
# Invariants (SYNC_RESEARCH.md §4): I1 nothing lost, I2 exactly once, I3 per-device order,
# I4 convergence, I6 local integrity.


def ledger(database, device_id: str) -> list[Any]:
    with database.engine.connect() as conn:
        return conn.execute(sa.select(processed_mutation).where(processed_mutation.c.device_id == device_id)
                            .order_by(processed_mutation.c.device_seq)).all()


def applied_order(database, device_id: str) -> list[int]:
    """The device_seq of each of the device's mutations in the order the server applied them."""
    with database.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log.c.detail).where(audit_log.c.device_id == device_id)
                            .order_by(audit_log.c.seq)).all()
    return [r.detail["device_seq"] for r in rows if isinstance(r.detail, dict) and "device_seq" in r.detail]


def assert_nothing_lost_exactly_once(database, console) -> None:
    """I1 + I3 for one console: every outbox row terminal, one ledger row each, applied in order."""
    rows = console.outbox()
    waiting = [(m["device_seq"], m["status"]) for m in rows if m["status"] not in TERMINAL]
    assert not waiting, f"outbox not terminal: {waiting[:10]}"
    led = ledger(database, console.ctx.device_id)
    by_id = {r.mutation_id: r for r in led}
    assert len(led) == len(by_id) == len(rows), (len(led), len(rows))
    for m in rows:
        r = by_id.get(m["mutation_id"])
        assert r is not None, f"acknowledged mutation {m['device_seq']} missing from the server ledger"
        assert r.device_seq == m["device_seq"] and r.outcome == m["status"], (dict(m), r)
    seqs = [r.device_seq for r in led]
    assert seqs == list(range(1, len(seqs) + 1)), "device_seq on the server has a gap"
    assert applied_order(database, console.ctx.device_id) == seqs, "applied out of device_seq order"


def assert_audit_chain(database) -> None:
    with database.engine.connect() as conn:
        assert verify_audit(conn) is None, "server audit hash chain broken"


def server_records(database, entity: str, where: Callable[[dict], bool] = lambda d: True) -> list[Any]:
    with database.engine.connect() as conn:
        rows = conn.execute(sa.select(record).where(record.c.entity == entity)).all()
    return [r for r in rows if where(r.data)]


def stock(database, warehouse_id: str, item_id: str) -> tuple[int | None, int]:
    """(materialised stock_balance, Σ delta of the warehouse's stock_movement records)."""
    with database.engine.connect() as conn:
        qty = conn.execute(sa.select(stock_balance.c.quantity).where(
            stock_balance.c.warehouse_id == warehouse_id, stock_balance.c.item_id == item_id)).scalar()
    moves = server_records(database, "stock_movement",
                           lambda d: d.get("warehouse_id") == warehouse_id and d.get("item_id") == item_id)
    return qty, sum(r.data["delta"] for r in moves if not r.deleted)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def row_hash(entity: str, values: dict[str, Any]) -> str:
    names = [*ENTITIES[entity].field_names, "created_by", "updated_by"]
    return hashlib.sha256(_canon({n: values.get(n) for n in names}).encode()).hexdigest()


def local_rows(console) -> dict[tuple[str, str], dict]:
    def read(conn: sa.Connection) -> dict:
        out = {}
        for name, table in ENTITY_TABLES.items():
            for r in conn.execute(sa.select(table)).mappings():
                out[(name, r["id"])] = dict(r)
        return out

    return console.store.read(read)


def server_view(server, username: str) -> dict[tuple[str, str], dict]:
    """What the server holds within ``username``'s scope: a full pull on a fresh device."""
    c = Console(server, username)
    assert c.login().status_code == 200
    rows, _ = c.pull_all(0, 5000)
    return rows


def assert_converged(console, server, view: dict | None = None) -> None:
    """I4: the console's cache equals the server's rows within its scope (row hashes)."""
    view = server_view(server, console.ctx.user.username) if view is None else view
    local = local_rows(console)
    rejected_creates = {m["entity_id"] for m in console.outbox()
                        if m["status"] == "rejected" and m["op"] in ("create", "append")}
    problems = []
    for key, ch in view.items():
        row = local.get(key)
        if ch["deleted"]:
            if row is not None and not row["deleted"]:
                problems.append(("resurrected", key))
            continue
        if row is None or row["deleted"]:
            problems.append(("missing", key))
        elif row["server_rev"] != ch["rev"]:
            problems.append(("rev", key, row["server_rev"], ch["rev"]))
        elif row_hash(key[0], row) != row_hash(key[0], ch["data"]):
            problems.append(("differs", key, {k: (row.get(k), ch["data"].get(k)) for k in ch["data"]
                                              if _canon(row.get(k)) != _canon(ch["data"].get(k))}))
    for key, row in local.items():
        if key in view or row["deleted"]:
            continue
        if row["server_rev"] is None and key[1] in rejected_creates:
            continue  # a rejected create stays visible locally, marked rejected
        problems.append(("lingering", key, row["server_rev"]))
    assert not problems, f"{console.ctx.user.username}: {len(problems)} differences, e.g. {problems[:5]}"


def cache_snapshot(console) -> dict[str, Any]:
    """Everything a bad page must not touch: synced rows, outbox, cursors and staging."""
    from app.store.device import read_state
    from app.store.pull import staged_changes

    state = console.store.read(read_state)
    staged = sorted(console.store.read(staged_changes))
    return {"rows": local_rows(console), "outbox": console.outbox(), "staged": staged,
            "cursors": {k: state[k] for k in ("pull_cursor", "staging_cursor", "staging_target",
                                              "server_epoch")}}


def assert_local_integrity(console) -> None:
    """I6."""
    # A connection of its own: a pooled reader that ran integrity_check once reports a false
    # "fts5: checksum mismatch" on its next run after other connections wrote (SQLite 3.53;
    # a fresh connection on the same file says ok), which would make this check cry wolf.
    import pysqlite3.dbapi2 as sqlite

    conn = sqlite.connect(f"file:{console.store.path}?mode=ro", uri=True)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    assert ok == "ok" and not fk, (ok, fk)


async def pull_only(console) -> str | None:
    """One pull (stage pages, swap) without pushing first: the queue stays unsent meanwhile."""
    return await console.engine._pull_all()


def drain(consoles: list, rounds: int = 4) -> None:
    """Sync every console until all queues are empty and a full round changes nothing."""
    for _ in range(rounds):
        for c in consoles:
            c.sync()
        if all(c.waiting() == 0 for c in consoles):
            revs = [c.engine.status.server_rev for c in consoles]
            for c in consoles:
                c.sync()
            if [c.engine.status.server_rev for c in consoles] == revs:
                return
    raise AssertionError(f"queues did not drain: {[c.waiting() for c in consoles]}")


def module_server(tag: str, *, middleware: bool = False, env: dict[str, str] | None = None):
    """A database (one per backend) and a real server shared by every test of one module.

    Starting a server costs ~2.5 s; the tests of a module use fresh devices, warehouses and
    records, so they do not see each other. Use as ``database, server = module_server("push")``.
    """

    @pytest.fixture(scope="module", params=backends())
    def database(request, tmp_path_factory):
        db = Database(request.param, tmp_path_factory.mktemp(f"{tag}-db"))
        yield db
        db.close()

    @pytest.fixture(scope="module")
    def server(database, tmp_path_factory):
        proc = FaultServer(database.url, tmp_path_factory.mktemp(f"{tag}-log") / "server.log",
                           middleware=middleware, env=env)
        proc.start()
        yield proc
        proc.kill()

    return database, server
