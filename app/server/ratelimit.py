"""Rate limits (OWASP API4): token buckets per principal, and per username and client IP at login.

A bucket holds up to ``burst`` tokens and gains ``per_s`` tokens a second; each request
takes one. An empty bucket answers 429 ``rate_limited`` with ``Retry-After`` (whole seconds
until a token is back) and ``retry_after`` in the error body. The refused request does
nothing else: the check runs before its body is read.

Keys: ``(user_id, device_id)`` for push/import, pull/device-state, blobs and the events
socket (one bucket per kind), checked after the token is verified; login is limited per
client IP and per username, before the password hash is computed, on top of the account
lockout (auth.py).

Buckets live in this process's memory. Several server processes behind a load balancer
each keep their own, so a principal may get up to N times the rate over N processes: still
a limit (docs/protocol.md "Rate limits"). Memory is bounded: at ``max_keys`` buckets the
least recently used ones are dropped (a dropped bucket comes back full, which only ever
errs towards letting a request through).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from app.server.errors import ApiError

KINDS = ("push", "pull", "blobs", "events", "login_ip", "login_user")


@dataclasses.dataclass(frozen=True)
class Rate:
    """``burst`` requests at once, then ``per_s`` a second."""

    burst: float
    per_s: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"BURST,PER_SECOND"`` (environment variables), e.g. ``"600,10"``."""
        burst, _, per_s = text.partition(",")
        rate = cls(float(burst), float(per_s or 0))
        if not (rate.burst >= 1 and rate.per_s >= 0 and math.isfinite(rate.burst) and math.isfinite(rate.per_s)):
            raise ValueError(f"bad rate {text!r}: want BURST>=1,PER_SECOND>=0")
        return rate


class TokenBuckets:
    """One token bucket per key, all with the same rate; thread-safe (sync routes run in a pool)."""

    def __init__(self, rate: Rate, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: Hashable, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0.0 when granted, else the seconds until they would be there."""
        now = self.clock()
        rate = self.rate
        with self._lock:
            tokens, at = self._buckets.pop(key, (rate.burst, now))
            tokens = min(rate.burst, tokens + (now - at) * rate.per_s)
            if tokens >= cost:
                tokens -= cost
                wait = 0.0
            else:
                wait = math.inf if rate.per_s <= 0 else (cost - tokens) / rate.per_s
            self._buckets[key] = (tokens, now)  # most recently used last
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def retry_seconds(wait: float) -> int:
    """Retry-After is whole seconds (RFC 9110): round up, at least 1, at most a day."""
    if not math.isfinite(wait):
        return 86_400
    return max(1, min(86_400, math.ceil(wait)))


def rate_limited(wait: float) -> ApiError:
    seconds = retry_seconds(wait)
    return ApiError(429, "rate_limited", f"请求过于频繁，请 {seconds} 秒后重试 / too many requests, "
                    f"retry in {seconds} s", retry_after=seconds, headers={"Retry-After": str(seconds)})


class RateLimiter:
    """The server's buckets, one :class:`TokenBuckets` per kind; ``None`` rate = not limited."""

    def __init__(self, rates: dict[str, Rate | None], *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        unknown = set(rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown rate limit kinds: {sorted(unknown)}")
        self.buckets = {kind: TokenBuckets(rate, max_keys=max_keys, clock=clock)
                        for kind, rate in rates.items() if rate is not None}

    def check(self, kind: str, key: Hashable) -> None:
        """Take a token from ``kind``'s bucket for ``key`` or raise 429 ``rate_limited``."""
        buckets = self.buckets.get(kind)
        if buckets is None:
            return
        wait = buckets.take(key)
        if wait:
            raise rate_limited(wait)

    def check_login(self, client_ip: str | None, username: str) -> None:
        """Per client IP first (password spraying), then per username (one account hammered)."""
        self.check("login_ip", client_ip or "?")
        self.check("login_user", username)
