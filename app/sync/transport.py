"""The console's HTTP client for the sync API (blocking; the engine runs it in an executor).

Every call has a timeout, there are no hidden retries (retry policy lives in the
engine, where idempotency is explicit), and every failure becomes one of a few
typed errors the engine knows how to act on.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from app.sync import signing

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a hostile server cannot make the console parse 1 GB


class TransportError(Exception):
    """Base class: something kept this call from completing."""


class Offline(TransportError):
    """No answer (connection refused, timeout, 5xx): try again later."""


class RateLimited(Offline):
    """429: the server asks this console to slow down; nothing was done, retry after ``retry_after`` s.

    An Offline, so the engine backs off and keeps the queue (no mutation is marked failed, no
    attempt counted); the transport itself sends nothing more until Retry-After has passed.
    """

    def __init__(self, retry_after: float, message: str = ""):
        super().__init__(message or f"rate limited, retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class AuthExpired(TransportError):
    """401: the access token is no longer good."""


class Forbidden(TransportError):
    pass


class UpdateRequired(TransportError):
    """426: this console is too old for the server; keep working locally and keep the queue."""


class CursorExpired(TransportError):
    """410: the cursor is older than the server's tombstone horizon; resync fully, keep the outbox."""


class SequenceGap(TransportError):
    def __init__(self, expected: int, message: str = ""):
        super().__init__(message or f"server expects device_seq {expected}")
        self.expected = expected


class Rejected(TransportError):
    """Another 4xx: the request itself was refused."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code


class BadResponse(TransportError):
    """The server answered with something that is not the protocol."""


def _retry_after(header: str | None, data: Any) -> float:
    """Seconds from Retry-After (or the body's retry_after), clamped to [1, 3600]; 5 when absent."""
    values = [header]
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        values.append(data["error"].get("retry_after"))
    for value in values:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue  # an HTTP-date Retry-After is not sent by our server: use the default
        if seconds == seconds:  # not NaN
            return min(max(seconds, 1.0), 3600.0)
    return 5.0


class Page(dict):
    """A pull answer, parsed, that also keeps the body as received (``raw``).

    The console stages the raw body as is (app/store/pull.py), so a page is never
    encoded to JSON again on its way into the cache.
    """

    raw: bytes | None = None


class SyncTransport:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.access_token: str | None = None
        # The console's record schema, sent with every pull: a server that no longer serves it
        # answers 426, so a console too old says "update required" even with nothing to push.
        self.schema_version: int | None = None
        self.not_before = 0.0  # time.monotonic() before which a 429's Retry-After says: send nothing

    # -- plumbing ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    def _headers(self, auth: bool) -> dict[str, str]:
        if auth and self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        return {}

    def _call(self, method: str, path: str, *, auth: bool = True, keep_raw: bool = False,
              content_type: str | None = None, **kw: Any) -> Any:
        wait = self.not_before - time.monotonic()
        if wait > 0:
            raise RateLimited(wait)
        headers = self._headers(auth)
        if content_type:
            headers["Content-Type"] = content_type
        try:
            resp = self.session.request(method, self._url(path), headers=headers,
                                        timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True, **kw)
            body = resp.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except (requests.ConnectionError, requests.Timeout) as e:
            raise Offline(str(e)) from e
        except requests.RequestException as e:
            raise Offline(str(e)) from e
        if len(body) > MAX_RESPONSE_BYTES:
            raise BadResponse("response too large")
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if resp.status_code >= 500:
            raise Offline(f"server error {resp.status_code}")
        if resp.status_code == 429:
            retry_after = _retry_after(resp.headers.get("Retry-After"), data)
            self.not_before = time.monotonic() + retry_after
            err = data.get("error") if isinstance(data, dict) else None
            raise RateLimited(retry_after, str(err.get("message", "")) if isinstance(err, dict) else "")
        if resp.status_code >= 400:
            self._raise_for(resp.status_code, data)
        if data is None:
            raise BadResponse(f"{method} {path}: body is not JSON")
        if keep_raw and isinstance(data, dict):
            page = Page(data)
            page.raw = body
            return page
        return data

    def _raise_for(self, status: int, data: Any) -> None:
        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        code, message = str(err.get("code", status)), str(err.get("message", ""))
        if status == 401:
            raise AuthExpired(message or "unauthorised")
        if status == 403:
            raise Forbidden(message or "forbidden")
        if status == 409 and isinstance(err.get("expected_device_seq"), int):
            raise SequenceGap(err["expected_device_seq"], message)
        if status == 410:
            raise CursorExpired(message)
        if status == 426:
            raise UpdateRequired(message)
        raise Rejected(status, code, message)

    # -- the API ----------------------------------------------------------------------------
    def health(self) -> dict:
        return self._call("GET", "/health", auth=False)

    def login(self, username: str, password: str, device_id: str) -> dict:
        data = self._call("POST", "/auth/login", auth=False, json=signing.with_public_key(
            {"username": username, "password": password, "device_id": device_id}))
        self.access_token = data["access_token"]
        return data

    def refresh(self, refresh_token: str, device_id: str) -> dict:
        data = self._call("POST", "/auth/refresh", auth=False,
                          json=signing.with_public_key({"refresh_token": refresh_token, "device_id": device_id}))
        self.access_token = data["access_token"]
        return data

    def push(self, body: dict) -> dict:
        # Compact UTF-8 instead of requests' ASCII escapes: a batch of Chinese log lines is a
        # third of the bytes, and the server parses it that much faster.
        body = signing.sign_push_body(body)  # batch_sig when this process holds the device key
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        return self._call("POST", "/sync/push", data=data, content_type="application/json")

    def pull(self, cursor: int, limit: int) -> dict:
        params = {"cursor": cursor, "limit": limit}
        if self.schema_version is not None:
            params["schema_version"] = self.schema_version
        return self._call("GET", "/sync/pull", params=params, keep_raw=True)

    def device_state(self) -> dict:
        return self._call("GET", "/sync/device-state")

    def quarantine(self, status: str = "held") -> dict:
        """Mutations held for a shift leader (leaders and administrators only)."""
        return self._call("GET", "/quarantine", params={"status": status})

    def decide_quarantined(self, mutation_id: str, approve: bool, comment: str | None = None) -> dict:
        action = "approve" if approve else "decline"
        return self._call("POST", f"/quarantine/{mutation_id}/{action}", json={"comment": comment})
