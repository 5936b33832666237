"""What the rate limits cost a request (app/server/ratelimit.py).

    PYTHONPATH=. .venv/bin/python -m tests.bench.bench_ratelimit [--calls 200000] [--requests 1000]

(a) RateLimiter.check over 50,000 principals (a bucket each, so the LRU dict is large), per
    call, vs verifying an access token (tokens.verify_access), which every request pays already;
(b) GET /sync/pull of an empty page (cursor at the head) over loopback, against a real server
    with limits on vs a second server process on the same database started with
    COMMAND_DESK_RATE_LIMITS=off, requests interleaved between the two.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sync"))

from app.server import tokens  # noqa: E402
from app.server.config import Settings  # noqa: E402
from app.server.ratelimit import RateLimiter  # noqa: E402
from tests.bench.common import percentile, report  # noqa: E402


def bench_check(calls: int) -> list[str]:
    limiter = RateLimiter(Settings().rates())
    keys = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(50_000)]
    t0 = time.perf_counter()
    for i in range(calls):
        limiter.check("pull", keys[i % len(keys)])
    ours = (time.perf_counter() - t0) / calls
    secret = "bench-secret"
    token = tokens.sign_access(secret, {"sub": "u", "role": "officer", "org_unit_id": "o", "device_id": "d"}, 900)
    n = max(1, calls // 4)
    t0 = time.perf_counter()
    for _ in range(n):
        tokens.verify_access(secret, token)
    base = (time.perf_counter() - t0) / n
    return [report("(a) RateLimiter.check, 50,000 principals", ours * 1e6, base * 1e6, "µs/call",
                   "tokens.verify_access")]


class _Puller:
    """One signed-in console that pulls an empty page (its cursor at the head)."""

    def __init__(self, base: str, username: str):
        from sync_world import password

        self.base = base
        self.http = requests.Session()
        r = self.http.post(f"{base}/api/v1/auth/login", timeout=30, json={
            "username": username, "password": password(username), "device_id": str(uuid.uuid4())})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.head = self.http.get(f"{base}/api/v1/sync/device-state", timeout=30).json()["current_rev"]

    def pull(self) -> float:
        t0 = time.perf_counter()
        self.http.get(f"{self.base}/api/v1/sync/pull", params={"cursor": self.head, "limit": 1000},
                      timeout=30).raise_for_status()
        return time.perf_counter() - t0


def bench_http(requests_n: int) -> list[str]:
    from app.server import db as server_db
    from sync_live import ServerProcess
    from sync_world import seed_world

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/server.db"
        engine = server_db.make_engine(url)
        server_db.init_schema(engine)
        seed_world(engine)
        engine.dispose()
        servers = {}
        try:
            for name in ("on", "off"):
                env = {"COMMAND_DESK_RATE_LIMITS": "off"} if name == "off" else {
                    # The default pull bucket (1200, 20/s) would refuse a tight loop of thousands of
                    # pulls: this measures the check's cost, so give it a bucket that never runs dry.
                    "COMMAND_DESK_RATE_PULL": "1000000,1000"}
                saved = {k: os.environ.get(k) for k in env}
                os.environ.update(env)
                try:
                    servers[name] = ServerProcess(url, Path(folder) / f"server-{name}.log").start()
                finally:
                    for k, v in saved.items():
                        if v is None:
                            os.environ.pop(k, None)
                        else:
                            os.environ[k] = v
            pullers = {name: _Puller(s.base, "officer_s1") for name, s in servers.items()}
            times: dict[str, list[float]] = {"on": [], "off": []}
            for i in range(requests_n + 100):  # interleaved, so machine noise hits both alike
                for name, puller in pullers.items():
                    took = puller.pull()
                    if i >= 100:  # the first 100 warm up
                        times[name].append(took)
        finally:
            for s in servers.values():
                s.kill()
    return [report(f"(b) empty pull, limits on, p{p}", percentile(times["on"], p) * 1e3,
                   percentile(times["off"], p) * 1e3, "ms", "limits off, same run") for p in (50, 95)]


def main(argv: list[str] | None = None) -> list[str]:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=200_000)
    p.add_argument("--requests", type=int, default=1000)
    args = p.parse_args(argv)
    return bench_check(args.calls) + bench_http(args.requests)


if __name__ == "__main__":
    main()
