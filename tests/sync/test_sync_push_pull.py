"""Push and pull against a live server: ledger, ordering, scopes, paging, horizons."""

from __future__ import annotations

import subprocess
import sys

import requests

import sync_world as W
from sync_live import ROOT, Console, incident, new_id


def test_push_create_then_pull_sees_it_at_its_rev(console):
    c = console("officer_s1")
    iid = new_id()
    res = c.push_one("incident", iid, "create", incident(W.STREET1))
    assert res["outcome"] == "applied" and res["code"] is None and res["rev"] > 0
    rows, cursor = c.pull_all()
    row = rows[("incident", iid)]
    assert row["rev"] == res["rev"] and row["deleted"] is False
    assert row["data"]["title"] == "内涝积水"
    assert row["data"]["updated_by"] == W.user_id("officer_s1") and row["data"]["updated_at"]
    assert row["field_rev"]["status"] == res["rev"]
    assert cursor >= res["rev"]


def test_replaying_a_batch_returns_identical_results_and_no_duplicates(console, database):
    c = console("officer_s1")
    batch = [
        c.mutation("incident", new_id(), "create", incident(W.STREET1)),
        c.mutation(
            "duty_log_entry",
            new_id(),
            "append",
            {
                "kind": "receive",
                "body": "接报：路面积水",
                "occurred_at": "2026-11-23T08:01:00+08:00",
                "org_unit_id": W.STREET1,
            },
        ),
    ]
    first = c.push(*batch)
    second = c.push(*batch)
    assert first["results"] == second["results"]
    assert second["last_device_seq"] == 2
    with database.engine.connect() as conn:
        n = conn.exec_driver_sql("SELECT count(*) FROM record WHERE entity IN ('incident', 'duty_log_entry')")
        assert n.scalar() == 2
        assert conn.exec_driver_sql("SELECT count(*) FROM processed_mutation").scalar() == 2


def test_same_mutation_id_with_a_different_payload_is_422(console):
    c = console("officer_s1")
    m = c.mutation("incident", new_id(), "create", incident(W.STREET1))
    c.push(m)
    changed = dict(m, payload=incident(W.STREET1, title="别的标题"))
    r = c.push_raw([changed])
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency_key_reuse"


def test_sequence_gap_is_409_with_the_expected_seq_and_earlier_results_kept(console):
    c = console("officer_s1")
    ok = c.mutation("incident", new_id(), "create", incident(W.STREET1))
    c.seq += 1  # lose device_seq 2
    late = c.mutation("incident", new_id(), "create", incident(W.STREET1))
    r = c.push_raw([ok, late])
    assert r.status_code == 409
    body = r.json()
    assert body["error"]["code"] == "sequence_gap" and body["error"]["expected_device_seq"] == 2
    assert [x["mutation_id"] for x in body["results"]] == [ok["mutation_id"]]
    state = requests.get(f"{c.base}/api/v1/sync/device-state", headers=c.headers(), timeout=10).json()
    assert state["last_device_seq"] == 1


def test_mutations_apply_in_device_seq_order_whatever_the_list_order(console):
    c = console("officer_s1")
    iid = new_id()
    create = c.mutation("incident", iid, "create", incident(W.STREET1))
    patch = c.mutation("incident", iid, "patch", {"title": "积水已退"}, {"title": 0})
    results = c.push(patch, create)["results"]
    assert [r["outcome"] for r in results] == ["applied", "applied"]  # no conflict with its own create
    rows, _ = c.pull_all()
    assert rows[("incident", iid)]["data"]["title"] == "积水已退"


def test_rev_groups_are_never_split_across_pages(console):
    c = console("officer_s1")
    ids = [new_id() for _ in range(4)]
    res = c.push(*[c.mutation("incident", i, "create", incident(W.STREET1)) for i in ids])
    rev = res["results"][0]["rev"]
    assert {r["rev"] for r in res["results"]} == {rev}  # one transaction, one revision
    cursor, pages = 0, []
    while True:
        body = c.pull_page(cursor, limit=1).json()
        pages.append(body["changes"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    group = [p for p in pages if any(ch["rev"] == rev for ch in p)]
    assert len(group) == 1
    assert {ch["id"] for ch in group[0] if ch["rev"] == rev} == set(ids)


def test_scope_hides_other_streets_and_refuses_writes_into_them(console):
    s1, s2 = console("officer_s1"), console("officer_s2")
    mine = new_id()
    assert s1.push_one("incident", mine, "create", incident(W.STREET1))["outcome"] == "applied"
    rows2, _ = s2.pull_all()
    assert ("incident", mine) not in rows2
    assert ("team", W.TEAM1) not in rows2 and ("team", W.TEAM2) in rows2
    assert ("org_unit", W.STREET1) in rows2 and ("supply_item", W.ITEM1) in rows2  # reference data
    foreign = s2.push_one("incident", mine, "patch", {"title": "越权"}, {"title": 0})
    assert foreign["outcome"] == "rejected" and foreign["code"] == "out_of_scope"
    into_s1 = s2.push_one("incident", new_id(), "create", incident(W.STREET1))
    assert into_s1["outcome"] == "rejected" and into_s1["code"] == "out_of_scope"
    district_rows, _ = console("leader").pull_all()
    assert ("incident", mine) in district_rows  # the district sees its streets


def test_viewer_reads_its_subtree_but_cannot_push(console):
    s1 = console("officer_s1")
    iid = new_id()
    s1.push_one("incident", iid, "create", incident(W.COMMUNITY1))
    v = console("viewer_s1")
    rows, _ = v.pull_all()
    assert ("incident", iid) in rows  # community is below the viewer's street
    r = v.push_raw([v.mutation("incident", new_id(), "create", incident(W.STREET1))])
    assert r.status_code == 403 and r.json()["error"]["code"] == "read_only"


def test_server_owned_and_unknown_fields_are_rejected(console):
    c = console("officer_s1")
    owned = c.push_one(
        "incident", new_id(), "create", dict(incident(W.STREET1), created_by=W.user_id("admin"))
    )
    assert owned["outcome"] == "rejected" and owned["code"] == "server_owned"
    assert owned["problems"][0]["field"] == "created_by"
    unknown = c.push_one("incident", new_id(), "create", dict(incident(W.STREET1), colour="red"))
    assert unknown["outcome"] == "rejected" and unknown["code"] == "unknown_field"
    invalid = c.push_one("incident", new_id(), "create", incident(W.STREET1, severity="V"))
    assert invalid["outcome"] == "rejected" and invalid["code"] == "invalid"
    ghost = c.push_one("nuclear_launch", new_id(), "create", {})
    assert ghost["outcome"] == "rejected" and ghost["code"] == "unknown_entity"
    rows, _ = c.pull_all()
    assert not any(k[0] == "incident" for k in rows)


def test_reference_data_and_deletes_are_for_administrators(console):
    officer, admin = console("officer_s1"), console("admin")
    item = officer.push_one("supply_item", new_id(), "create", {"name": "沙袋", "unit": "个"})
    assert item["code"] == "forbidden"
    iid = new_id()
    officer.push_one("incident", iid, "create", incident(W.STREET1))
    assert officer.push_one("incident", iid, "delete")["code"] == "forbidden"
    assert (
        admin.push_one("supply_item", new_id(), "create", {"name": "沙袋", "unit": "个"})["outcome"]
        == "applied"
    )
    gone = admin.push_one("incident", iid, "delete")
    assert gone["outcome"] == "applied"
    rows, _ = officer.pull_all()
    assert rows[("incident", iid)]["deleted"] is True and rows[("incident", iid)]["data"] == {}
    late = officer.push_one("incident", iid, "patch", {"title": "迟到的修改"}, {"title": 0})
    assert late["outcome"] == "applied_with_conflict"  # edit after delete is shown, not dropped


def test_batch_over_500_is_413_and_device_must_match_token(console):
    c = console("officer_s1")
    too_many = [c.mutation("incident", new_id(), "create", incident(W.STREET1)) for _ in range(501)]
    r = c.push_raw(too_many)
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"
    other = Console(c.server, "officer_s1")
    other.token = c.token
    r = other.push_raw([other.mutation("incident", new_id(), "create", incident(W.STREET1))])
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_mismatch"


def test_schema_version_outside_the_supported_range_is_426(console):
    c = console("officer_s1")
    for version in (0, 99):
        r = c.push_raw(
            [c.mutation("incident", new_id(), "create", incident(W.STREET1))], schema_version=version
        )
        assert r.status_code == 426, r.text
    assert c.pull_page().status_code == 200


def test_cursor_below_the_tombstone_horizon_is_410(console, database):
    c = console("officer_s1")
    c.push_one("incident", new_id(), "create", incident(W.STREET1))
    _, cursor = c.pull_all()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.server",
            "purge-tombstones",
            "--up-to-rev",
            str(cursor),
            "--database-url",
            database.url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    r = c.pull_page(cursor - 1)
    assert r.status_code == 410
    assert r.json()["error"]["code"] == "cursor_too_old" and r.json()["error"]["min_valid_cursor"] == cursor
    assert c.pull_page(0).status_code == 200 and c.pull_page(cursor).status_code == 200


def test_epoch_rotation_shows_in_health_and_pull(console, database):
    c = console("officer_s1")
    before = requests.get(f"{c.base}/api/v1/health", timeout=10).json()["server_epoch"]
    out = subprocess.run(
        [sys.executable, "-m", "app.server", "rotate-epoch", "--database-url", database.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    after = out.stdout.strip()
    assert after != before
    assert requests.get(f"{c.base}/api/v1/health", timeout=10).json()["server_epoch"] == after
    assert c.pull_page().json()["server_epoch"] == after


def test_commit_then_lost_response_is_answered_from_the_ledger_after_restart(server, console):
    c = console("officer_s1")
    batch = [
        c.mutation("incident", new_id(), "create", incident(W.STREET1)),
        c.mutation(
            "stock_movement",
            new_id(),
            "delta",
            {"warehouse_id": W.WAREHOUSE1, "item_id": W.ITEM1, "delta": 40, "reason": "inbound"},
        ),
    ]
    first = c.push(*batch)  # the console "never saw" this answer
    server.restart()  # SIGKILL, then a new process on the same database
    assert c.login().status_code == 200
    again = c.push(*batch)
    assert again["results"] == first["results"]
    rows, _ = c.pull_all()
    assert sum(1 for k in rows if k[0] == "stock_movement") == 1


def test_malformed_bodies_get_json_4xx_never_500(console):
    c = console("officer_s1")
    url = f"{c.base}/api/v1/sync/push"
    cases = [
        b"{",
        b"[]",
        b"null",
        b'{"device_id": 5}',
        b'{"mutations": "x"}',
        "\ud800".encode("utf-8", "surrogatepass"),
        b'{"device_id":"' + c.device_id.encode() + b'","mutations":[{"mutation_id":"nope"}]}',
        b'{"device_id":"' + c.device_id.encode() + b'","mutations":[],"extra":1}',
        b'{"a": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    for raw in cases:
        r = requests.post(
            url, data=raw, headers={**c.headers(), "Content-Type": "application/json"}, timeout=30
        )
        assert 400 <= r.status_code < 500, (raw[:40], r.status_code, r.text)
        assert "code" in r.json()["error"]
    big = requests.post(url, data=b" " * (6 * 1024 * 1024), headers=c.headers(), timeout=30)
    assert big.status_code == 413
    bad_limit = requests.get(f"{c.base}/api/v1/sync/pull?limit=0&cursor=-1", headers=c.headers(), timeout=10)
    assert bad_limit.status_code == 422 and bad_limit.json()["error"]["code"] == "invalid_request"
