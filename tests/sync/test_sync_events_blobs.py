"""Events WebSocket, attachments' blobs and the sneakernet import on a live server."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import sync_world as W
from app.sync import wire
from sync_live import incident, new_id


def _ws_url(c) -> str:
    return c.base.replace("http://", "ws://") + f"/api/v1/events?token={c.token}"


def test_events_socket_announces_the_rev_of_each_push(console):
    listener, writer = console("viewer"), console("officer_s1")
    with connect(_ws_url(listener), open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "rev"
        rev = writer.push_one("incident", new_id(), "create", incident(W.STREET1))["rev"]
        while True:  # revisions only grow; skip any older announcements
            msg = json.loads(ws.recv(timeout=10))
            if msg["rev"] >= rev:
                break
        assert msg == {"type": "rev", "rev": rev}


def test_events_socket_refuses_a_bad_token(server):
    with connect(
        server.base.replace("http://", "ws://") + "/api/v1/events?token=nope", open_timeout=10
    ) as ws:
        msg = json.loads(ws.recv(timeout=10))
        assert msg["type"] == "error" and msg["code"] == "invalid_token"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401


def test_blobs_are_verified_and_scoped(console):
    s1, s2, admin = console("officer_s1"), console("officer_s2"), console("admin")
    data = "现场照片".encode() * 1000
    sha = hashlib.sha256(data).hexdigest()
    url = f"{s1.base}/api/v1/blobs/{sha}"
    wrong = requests.put(f"{s1.base}/api/v1/blobs/{'0' * 64}", data=data, headers=s1.headers(), timeout=10)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "hash_mismatch"
    assert requests.put(url, data=data, headers=s1.headers(), timeout=10).status_code == 201
    assert requests.put(url, data=data, headers=s1.headers(), timeout=10).status_code == 200  # idempotent
    assert requests.get(url, headers=s1.headers(), timeout=10).content == data  # the uploader
    assert (
        requests.get(url, headers=s2.headers(), timeout=10).status_code == 404
    )  # knowing the hash is not enough
    s2.push_one(
        "attachment", new_id(), "append", {"sha256": sha, "name": "photo.jpg", "org_unit_id": W.STREET2}
    )
    assert requests.get(url, headers=s2.headers(), timeout=10).content == data  # named by a record it can see
    assert requests.get(url, headers=admin.headers(), timeout=10).status_code == 200
    assert requests.get(f"{s1.base}/api/v1/blobs/xyz", headers=s1.headers(), timeout=10).status_code == 400
    viewer = console("viewer")
    assert requests.put(url, data=data, headers=viewer.headers(), timeout=10).status_code == 403


def _export(c, mutations, key=None):
    key = key or c.login_body["device_key"]
    return {
        "device_id": c.device_id,
        "schema_version": wire.SCHEMA_VERSION,
        "mutations": mutations,
        "signature": wire.outbox_signature(key, c.device_id, wire.SCHEMA_VERSION, mutations),
    }


def test_signed_outbox_import_goes_through_the_ledger(console):
    field, leader = console("officer_s1"), console("leader")
    iid = new_id()
    muts = [
        field.mutation("incident", iid, "create", incident(W.STREET1)),
        field.mutation(
            "duty_log_entry",
            new_id(),
            "append",
            {"kind": "receive", "body": "卫星电话接报", "occurred_at": "2026-11-23T10:00:00+08:00"},
        ),
    ]
    url = f"{leader.base}/api/v1/sync/import"
    forged = requests.post(
        url, json=_export(field, muts, key="11" * 32), headers=leader.headers(), timeout=30
    )
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "bad_signature"
    by_officer = requests.post(url, json=_export(field, muts), headers=field.headers(), timeout=30)
    assert by_officer.status_code == 403
    first = requests.post(url, json=_export(field, muts), headers=leader.headers(), timeout=30)
    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in first.json()["results"]] == ["applied", "applied"]
    again = requests.post(url, json=_export(field, muts), headers=leader.headers(), timeout=30)
    assert again.json()["results"] == first.json()["results"]
    # the console comes back online and pushes the same outbox: nothing happens twice
    assert field.push(*muts)["results"] == first.json()["results"]
    rows, _ = leader.pull_all()
    assert rows[("incident", iid)]["data"]["updated_by"] == W.user_id("officer_s1")
