"""Central server over loopback: push, pull, 50 consoles, and a change from console A seen on B.

    PYTHONPATH=. .venv/bin/python -m tests.bench.bench_server [--rows 100000] [--push 10000]
        [--consoles 50] [--loops 20] [--seconds 30] [--samples 200] [--pg-url URL] [--only a,b,c,d]

(a) push 10,000 mutations in batches of 500 (one requests client, as a console's outbox
    drain: body encoding and answer parsing included) vs a raw sqlite3 ``executemany`` of
    the same rows into a WAL/FULL file, one commit per 500 like the server;
(b) pull 100,000 rows in pages of 5,000 as a street officer (scope filter on), parsing each
    page, vs a raw sqlite3 ``executemany`` of the same rows (and a raw SELECT + json.loads);
(c) 50 consoles (threads in a few processes, each with its own device and token) pushing
    1–5 mutations and pulling from their cursor, bounded by --loops and --seconds, vs the
    same consoles doing bare ``GET /api/v1/health`` round trips;
(d) a change pushed by console A seen by console B (B waits for the ``rev`` event on the
    events WebSocket, then pulls) vs a bare HTTP round trip to /api/v1/health.

With --pg-url or COMMAND_DESK_TEST_PG_URL (e.g. postgresql+psycopg://postgres@/postgres?host=/tmp&port=54330)
the same runs on a throw-away PostgreSQL database, against raw psycopg ``executemany``
baselines into the same server. Every figure is printed next to its same-run baseline.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from app.server import db as server_db  # noqa: E402
from app.server import seed  # noqa: E402
from tests.bench.common import percentile, report, timed  # noqa: E402

NOW = "2026-11-23T08:00:00+08:00"
BATCH = 500
PAGE = 5000
WRITERS = ("officer_s1", "officer_s1b", "officer_s2", "officer_d", "leader")


# ---- a console on the wire ------------------------------------------------------------------


class Client:
    """A device signed in over requests: numbered mutations, push, pull from a cursor."""

    def __init__(self, base: str, username: str):
        from sync_world import password

        self.base = base
        self.http = requests.Session()
        self.device_id = str(uuid.uuid4())
        self.seq = 0
        r = self.http.post(f"{base}/api/v1/auth/login", timeout=30, json={
            "username": username, "password": password(username), "device_id": self.device_id})
        r.raise_for_status()
        self.token = r.json()["access_token"]
        self.user_id = r.json()["user"]["id"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.cursor = 0

    def mutation(self, entity: str, entity_id: str, op: str, payload: dict, base_rev: dict | None = None) -> dict:
        self.seq += 1
        m = {"mutation_id": str(uuid.uuid4()), "device_seq": self.seq, "entity": entity, "entity_id": entity_id,
             "op": op, "payload": payload, "client_time": NOW, "author_id": self.user_id}
        if base_rev:
            m["base_rev"] = base_rev
        return m

    def push(self, mutations: list[dict]) -> dict:
        r = self.http.post(f"{self.base}/api/v1/sync/push", timeout=60, json={
            "device_id": self.device_id, "schema_version": 1, "mutations": mutations})
        if r.status_code != 200:
            raise RuntimeError(f"push {r.status_code}: {r.text[:300]}")
        return r.json()

    def pull_page(self, limit: int) -> dict:
        r = self.http.get(f"{self.base}/api/v1/sync/pull", timeout=60,
                          params={"cursor": self.cursor, "limit": limit, "schema_version": 1})
        if r.status_code != 200:
            raise RuntimeError(f"pull {r.status_code}: {r.text[:300]}")
        page = r.json()
        self.cursor = page["next_cursor"]
        return page

    def current_rev(self) -> int:
        return self.http.get(f"{self.base}/api/v1/sync/device-state", timeout=30).json()["current_rev"]


def log_entry(org: str, i: int) -> dict:
    return {"kind": "note", "body": f"离线期间记录第{i}条：北京街{i % 97}号巡查正常", "occurred_at": NOW,
            "org_unit_id": org}


def incident(org: str, i: int) -> dict:
    return {"title": f"11·{i % 28 + 1} 北京街{i}号水浸", "category": "natural", "severity": "IV",
            "status": "reported", "occurred_at": NOW, "org_unit_id": org, "lon": 113.27, "lat": 23.13,
            "summary": "路面积水 30 厘米", "drill": False}


def world_rows(n: int, org: str) -> list[tuple[str, dict]]:
    """The rows of bench_sync: ~215-byte log entries and one incident in ten."""
    rows = []
    for i in range(n):
        if i % 10 == 0:
            rows.append(("incident", dict(incident(org, i), id=str(uuid.uuid4()), status="closed")))
        else:
            rows.append(("duty_log_entry", dict(log_entry(org, i), id=str(uuid.uuid4()), kind="receive")))
    return rows


# ---- databases ------------------------------------------------------------------------------


class Backend:
    """A fresh server database plus a raw-driver baseline on the same kind of storage."""

    name = ""

    def __init__(self, folder: Path):
        self.folder = folder

    url = ""

    def raw_insert(self, batches: list[list[tuple[str, str, str]]]) -> float:
        raise NotImplementedError

    def raw_read(self) -> tuple[float, int]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteBackend(Backend):
    name = "SQLite"

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.url = f"sqlite:///{folder / 'server.db'}"
        self.raw_n = 0

    def raw_insert(self, batches):
        path = self.folder / f"raw{self.raw_n}.db"
        self.raw_n += 1
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE doc (id TEXT PRIMARY KEY, entity TEXT, data TEXT)")

        def load():
            for rows in batches:
                con.execute("BEGIN")
                con.executemany("INSERT INTO doc VALUES (?, ?, ?)", rows)
                con.execute("COMMIT")
        t = timed(load)
        con.close()
        self.last_raw = path
        return t

    def raw_read(self):
        con = sqlite3.connect(self.last_raw)
        t0 = time.perf_counter()
        n = sum(1 for (d,) in con.execute("SELECT data FROM doc") if json.loads(d))
        t = time.perf_counter() - t0
        con.close()
        return t, n


class PgBackend(Backend):
    name = "PostgreSQL"

    def __init__(self, folder: Path, admin_url: str):
        super().__init__(folder)
        self.admin_url = sa.engine.make_url(admin_url)
        self.db = f"cdbench_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.db}"')
        self.url = self.admin_url.set(database=self.db).render_as_string(hide_password=False)
        self.libpq = self.admin_url.set(drivername="postgresql", database=self.db).render_as_string(
            hide_password=False)
        self.raw_n = 0

    def raw_insert(self, batches):
        import psycopg

        table = f"raw{self.raw_n}"
        self.raw_n += 1
        with psycopg.connect(self.libpq, autocommit=True) as con:
            con.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, entity text, data jsonb)")

            def load():
                for rows in batches:
                    with con.transaction(), con.cursor() as cur:
                        cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s::jsonb)", rows)  # noqa: S608
            t = timed(load)
        self.last_raw = table
        return t

    def raw_read(self):
        import psycopg

        with psycopg.connect(self.libpq) as con:
            t0 = time.perf_counter()
            n = sum(1 for (d,) in con.execute(f"SELECT data::text FROM {self.last_raw}")  # noqa: S608
                    if json.loads(d))
            return time.perf_counter() - t0, n

    def close(self):
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        self.admin.dispose()


# ---- (a) push ------------------------------------------------------------------------------


def bench_push(base: str, backend: Backend, n: int) -> list[str]:
    from sync_world import STREET1

    console = Client(base, "officer_s1")
    muts = [console.mutation("duty_log_entry", str(uuid.uuid4()), "append", log_entry(STREET1, i))
            for i in range(n)]
    batches = [muts[i:i + BATCH] for i in range(0, n, BATCH)]

    def push_all():
        for b in batches:
            answer = console.push(b)
            assert [r["outcome"] for r in answer["results"]] == ["applied"] * len(b), answer["results"][:2]
    t = timed(push_all)
    t_replay = timed(lambda: [console.push(b) for b in batches])
    raw = [[(m["entity_id"], m["entity"], json.dumps(m["payload"], ensure_ascii=False)) for m in b]
           for b in batches]
    t_raw = backend.raw_insert(raw)
    driver = "sqlite3" if backend.name == "SQLite" else "psycopg"
    return [
        report(f"[{backend.name}] (a) push {n:,} in {BATCH}s", t * 1e3, t_raw * 1e3, "ms",
               f"raw {driver} executemany, {len(batches)} commits"),
        report(f"[{backend.name}] (a) replay the same {n:,} (ledger)", t_replay * 1e3, t_raw * 1e3, "ms",
               "same raw insert"),
    ]


# ---- (b) pull ------------------------------------------------------------------------------


def bench_pull(base: str, backend: Backend, rows: list[tuple[str, dict]]) -> list[str]:
    n = len(rows)
    console = Client(base, "officer_s1")
    got = 0

    def pull_all():
        nonlocal got
        while True:
            page = console.pull_page(PAGE)
            got += len(page["changes"])
            if not page["has_more"]:
                return
    t = timed(pull_all)
    assert got >= n, got
    raw = [(d["id"], e, json.dumps(d, ensure_ascii=False)) for e, d in rows]
    t_raw = backend.raw_insert([raw])
    t_read, read_n = backend.raw_read()
    driver = "sqlite3" if backend.name == "SQLite" else "psycopg"
    return [
        report(f"[{backend.name}] (b) pull {got:,} rows, pull-only client", got / t, n / t_raw, "rows/s",
               f"raw {driver} executemany", higher_is_better=True),
        report(f"[{backend.name}] (b) pull, vs reading them raw", got / t, read_n / t_read, "rows/s",
               f"raw {driver} SELECT + json.loads", higher_is_better=True),
    ]


# ---- (c) 50 consoles -----------------------------------------------------------------------


def _console_loop(base: str, username: str, loops: int, deadline: float, health_only: bool,
                  seed_no: int, start: threading.Barrier) -> dict:
    from sync_world import COMMUNITY1, DISTRICT, STREET1, STREET2

    org = {"officer_s1": STREET1, "officer_s1b": COMMUNITY1, "officer_s2": STREET2}.get(username, DISTRICT)
    rnd = random.Random(seed_no)
    c = Client(base, username)
    c.cursor = c.current_rev()
    out: dict = {"push": [], "pull": [], "health": [], "errors": 0, "rows": 0}
    mine: list[tuple[str, int]] = []  # incidents this console created: (id, rev of the last write)
    start.wait()
    for i in range(loops):
        if time.monotonic() > deadline:
            break
        try:
            if health_only:
                for _ in range(2):
                    t0 = time.perf_counter()
                    c.http.get(f"{base}/api/v1/health", timeout=60).raise_for_status()
                    out["health"].append(time.perf_counter() - t0)
                continue
            muts = []
            for k in range(rnd.randint(1, 5)):
                roll = rnd.random()
                if roll < 0.6:
                    muts.append(c.mutation("duty_log_entry", str(uuid.uuid4()), "append",
                                           log_entry(org, i * 10 + k)))
                elif roll < 0.85 or not mine:
                    iid = str(uuid.uuid4())
                    muts.append(c.mutation("incident", iid, "create", incident(org, i)))
                    mine.append((iid, 0))
                else:
                    j = rnd.randrange(len(mine))
                    iid, rev = mine[j]
                    muts.append(c.mutation("incident", iid, "patch", {"summary": f"更新 {i}.{k}"},
                                           {"summary": rev}))
            t0 = time.perf_counter()
            answer = c.push(muts)
            out["push"].append(time.perf_counter() - t0)
            revs = {}
            for m, r in zip(muts, answer["results"], strict=True):
                if r["outcome"] == "rejected":
                    out["errors"] += 1
                elif m["entity"] == "incident":
                    revs[m["entity_id"]] = r["rev"]
            mine = [(iid, revs.get(iid, rev)) for iid, rev in mine]
            while True:
                t0 = time.perf_counter()
                page = c.pull_page(1000)
                out["pull"].append(time.perf_counter() - t0)
                out["rows"] += len(page["changes"])
                if not page["has_more"]:
                    break
        except Exception:  # counted, and the console goes on like a real one would
            out["errors"] += 1
    return out


def _console_process(base: str, specs: list[tuple[str, int]], loops: int, seconds: float,
                     health_only: bool) -> dict:
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(len(specs))
    with concurrent.futures.ThreadPoolExecutor(len(specs)) as pool:
        futures = [pool.submit(_console_loop, base, user, loops, deadline, health_only, n, barrier)
                   for user, n in specs]
        outs = [f.result() for f in futures]
    merged: dict = {"push": [], "pull": [], "health": [], "errors": 0, "rows": 0}
    for o in outs:
        for k in ("push", "pull", "health"):
            merged[k] += o[k]
        merged["errors"] += o["errors"]
        merged["rows"] += o["rows"]
    return merged


def _run_consoles(base: str, consoles: int, loops: int, seconds: float, health_only: bool) -> tuple[dict, float]:
    procs = min(5, consoles)
    specs = [[] for _ in range(procs)]
    for i in range(consoles):
        specs[i % procs].append((WRITERS[i % len(WRITERS)], i))
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        t0 = time.perf_counter()
        futures = [pool.submit(_console_process, base, s, loops, seconds, health_only) for s in specs]
        outs = [f.result() for f in futures]
        wall = time.perf_counter() - t0
    merged: dict = {"push": [], "pull": [], "health": [], "errors": 0, "rows": 0}
    for o in outs:
        for k in ("push", "pull", "health"):
            merged[k] += o[k]
        merged["errors"] += o["errors"]
        merged["rows"] += o["rows"]
    return merged, wall


def bench_consoles(base: str, backend: Backend, consoles: int, loops: int, seconds: float) -> list[str]:
    work, wall = _run_consoles(base, consoles, loops, seconds, health_only=False)
    bare, bare_wall = _run_consoles(base, consoles, loops, seconds, health_only=True)
    n_req = len(work["push"]) + len(work["pull"])
    n_bare = len(bare["health"])
    both = work["push"] + work["pull"]
    tag = f"[{backend.name}] (c) {consoles} consoles"
    base_name = f"{consoles} consoles GET /health"
    lines = [
        report(f"{tag} requests/s", n_req / wall, n_bare / bare_wall, "req/s", base_name, higher_is_better=True),
        report(f"{tag} push p50", percentile(work["push"], 50) * 1e3, percentile(bare["health"], 50) * 1e3,
               "ms", base_name + " p50"),
        report(f"{tag} push p95", percentile(work["push"], 95) * 1e3, percentile(bare["health"], 95) * 1e3,
               "ms", base_name + " p95"),
        report(f"{tag} pull p50", percentile(work["pull"], 50) * 1e3, percentile(bare["health"], 50) * 1e3,
               "ms", base_name + " p50"),
        report(f"{tag} pull p95", percentile(work["pull"], 95) * 1e3, percentile(bare["health"], 95) * 1e3,
               "ms", base_name + " p95"),
        report(f"{tag} all p95", percentile(both, 95) * 1e3, percentile(bare["health"], 95) * 1e3,
               "ms", base_name + " p95"),
    ]
    print(f"    {len(work['push'])} pushes, {len(work['pull'])} pulls ({work['rows']:,} rows) in {wall:.1f} s, "
          f"{work['errors']} errors; baseline {n_bare} health calls in {bare_wall:.1f} s, "
          f"{bare['errors']} errors", flush=True)
    return lines


# ---- (d) change on A seen by B -------------------------------------------------------------


def bench_latency(base: str, backend: Backend, samples: int) -> list[str]:
    from websockets.sync.client import connect

    from sync_world import STREET1

    a, b = Client(base, "officer_s1"), Client(base, "officer_s1b")
    b.cursor = b.current_rev()
    seen: dict[str, float] = {}
    wanted = threading.Condition()
    stop = threading.Event()
    ws = connect(f"{base.replace('http', 'ws', 1)}/api/v1/events?token={b.token}", open_timeout=10).__enter__()

    def listen():
        while not stop.is_set():
            try:
                event = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            except Exception:
                return
            if event.get("type") == "rev" and event["rev"] > b.cursor:
                while True:  # B pulls what the event announced
                    page = b.pull_page(1000)
                    now = time.perf_counter()
                    with wanted:
                        for c in page["changes"]:
                            seen[c["id"]] = now
                        wanted.notify_all()
                    if not page["has_more"]:
                        break

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    lat = []
    try:
        for i in range(samples):
            rid = str(uuid.uuid4())
            t0 = time.perf_counter()
            a.push([a.mutation("duty_log_entry", rid, "append", log_entry(STREET1, i))])
            with wanted:
                if not wanted.wait_for(lambda rid=rid: rid in seen, timeout=10):
                    raise TimeoutError(f"B never saw change {i}")
            lat.append(seen[rid] - t0)
    finally:
        stop.set()
        ws.close()
        listener.join(timeout=5)
    health = []
    s = requests.Session()
    for _ in range(samples):
        t0 = time.perf_counter()
        s.get(f"{base}/api/v1/health", timeout=30).raise_for_status()
        health.append(time.perf_counter() - t0)
    tag = f"[{backend.name}] (d) change A→B (event + pull)"
    return [
        report(f"{tag} p50", percentile(lat, 50) * 1e3, percentile(health, 50) * 1e3, "ms", "GET /health p50"),
        report(f"{tag} p95", percentile(lat, 95) * 1e3, percentile(health, 95) * 1e3, "ms", "GET /health p95"),
    ]


# ---- driver ----------------------------------------------------------------------------------


@contextlib.contextmanager
def served(backend: Backend, rows: list[tuple[str, dict]]) -> Iterator[str]:
    from sync_live import ServerProcess
    from sync_world import seed_world

    engine = server_db.make_engine(backend.url)
    server_db.init_schema(engine)
    seed_world(engine)
    if rows:
        seed.bulk_load(engine, rows, validate="none")
    engine.dispose()
    server = ServerProcess(backend.url, backend.folder / f"server-{backend.name}.log").start()
    try:
        yield server.base
    finally:
        server.kill()


def run_backend(backend: Backend, args: argparse.Namespace) -> list[str]:
    from sync_world import STREET1

    only = set(args.only.split(","))
    rows = world_rows(args.rows, STREET1) if "b" in only else []
    out: list[str] = []
    steps: list[tuple[str, Callable[[str], list[str]]]] = [
        ("b", lambda base: bench_pull(base, backend, rows)),
        ("a", lambda base: bench_push(base, backend, args.push)),
        ("c", lambda base: bench_consoles(base, backend, args.consoles, args.loops, args.seconds)),
        ("d", lambda base: bench_latency(base, backend, args.samples)),
    ]
    with served(backend, rows) as base:
        for key, step in steps:
            if key in only:
                out += step(base)
    return out


def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--push", type=int, default=10_000)
    p.add_argument("--consoles", type=int, default=50)
    p.add_argument("--loops", type=int, default=20, help="push+pull rounds per console")
    p.add_argument("--seconds", type=float, default=30.0, help="cap on the console run")
    p.add_argument("--samples", type=int, default=200, help="A→B changes timed")
    p.add_argument("--pg-url", default=os.environ.get("COMMAND_DESK_TEST_PG_URL"))
    p.add_argument("--only", default="a,b,c,d", help="subset of a,b,c,d")
    p.add_argument("--no-sqlite", action="store_true")
    args = p.parse_args(argv)
    out: list[str] = []
    with tempfile.TemporaryDirectory() as d:
        if not args.no_sqlite:
            out += run_backend(SqliteBackend(Path(d)), args)
        if args.pg_url:
            pg = PgBackend(Path(d), args.pg_url)
            try:
                out += run_backend(pg, args)
            finally:
                pg.close()
    return out


if __name__ == "__main__":
    main()
