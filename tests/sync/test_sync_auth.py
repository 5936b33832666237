"""Login, lockout, refresh rotation and token checks against a live server."""

from __future__ import annotations

import subprocess
import sys

import requests

from sync_live import ROOT, Console, incident, new_id
from sync_world import STREET1


def test_login_returns_tokens_and_user(server):
    c = Console(server, "officer_s1")
    r = c.login()
    assert r.status_code == 200
    body = r.json()
    assert body["expires_in"] == 900
    assert body["user"]["role"] == "officer" and body["user"]["name"] == "officer_s1"
    assert len(body["refresh_token"]) >= 32 and len(body["device_key"]) == 64
    assert c.pull_page().status_code == 200


def test_bad_password_and_unknown_user_are_the_same_401(server):
    bad = Console(server, "officer_s1").login("wrong")
    nobody = Console(server, "nobody").login("wrong")
    assert bad.status_code == nobody.status_code == 401
    assert bad.json()["error"]["code"] == nobody.json()["error"]["code"] == "bad_credentials"


def test_lockout_after_five_failures_even_with_the_right_password(server):
    c = Console(server, "officer_s2")
    codes = [c.login("wrong").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 423]
    r = c.login()  # right password, still locked
    assert r.status_code == 423
    assert r.json()["error"]["code"] == "account_locked"
    assert 0 < r.json()["error"]["retry_after"] <= 900 and "Retry-After" in r.headers
    assert Console(server, "officer_s1").login().status_code == 200  # other accounts unaffected


def test_refresh_rotates_and_reuse_ends_the_session(server, console):
    c = console("officer_s1")
    old = c.login_body["refresh_token"]
    r = requests.post(
        f"{server.base}/api/v1/auth/refresh",
        json={"refresh_token": old, "device_id": c.device_id},
        timeout=10,
    )
    assert r.status_code == 200
    new = r.json()["refresh_token"]
    assert new != old
    c.token = r.json()["access_token"]
    assert c.pull_page().status_code == 200
    reuse = requests.post(
        f"{server.base}/api/v1/auth/refresh",
        json={"refresh_token": old, "device_id": c.device_id},
        timeout=10,
    )
    assert reuse.status_code == 401 and reuse.json()["error"]["code"] == "refresh_reused"
    # the copied token revoked every session of the device, including the new one
    again = requests.post(
        f"{server.base}/api/v1/auth/refresh",
        json={"refresh_token": new, "device_id": c.device_id},
        timeout=10,
    )
    assert again.status_code == 401


def test_refresh_is_bound_to_its_device(server, console):
    c = console("officer_s1")
    r = requests.post(
        f"{server.base}/api/v1/auth/refresh",
        json={
            "refresh_token": c.login_body["refresh_token"],
            "device_id": "00000000-0000-4000-8000-000000000001",
        },
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_refresh"


def test_missing_forged_or_garbage_tokens_are_401(server, console):
    c = console("officer_s1")
    for token in ("", "garbage", c.token[:-2] + "xx", "v1.e30.AAAA"):
        r = requests.get(
            f"{server.base}/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] in ("unauthorized", "invalid_token")


def test_revoked_device_is_refused_everywhere(server, database, console):
    c = console("officer_s1")
    out = subprocess.run(
        [sys.executable, "-m", "app.server", "device", "revoke", c.device_id, "--database-url", database.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    r = c.push_raw([c.mutation("incident", new_id(), "create", incident(STREET1))])
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_revoked"
    assert c.login().status_code == 403
    refresh = requests.post(
        f"{server.base}/api/v1/auth/refresh",
        timeout=10,
        json={"refresh_token": c.login_body["refresh_token"], "device_id": c.device_id},
    )
    # Revoked, not "reused": the console must say the device is barred, not ask for a sign-in.
    assert refresh.status_code == 403 and refresh.json()["error"]["code"] == "device_revoked"
