"""Handover: what is open, acknowledgement of each item, both signatures, the seal, the printout."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app.domain import clock
from app.domain.hashchain import GENESIS, verify_chain
from app.domain.validate import ValidationError
from app.services import duty_log_writer, handover, roster
from app.services.shift_queries import current_shift
from app.store import records
from app.store.kv import kv_put
from app.store.schema import outbox, table_for

ORG = "00000000-0000-4000-8000-0000000000f1"
OUT = "00000000-0000-4000-8000-000000000101"
INC = "00000000-0000-4000-8000-000000000102"
NOVERIFIER = "00000000-0000-4000-8000-000000000103"
LEADER = "00000000-0000-4000-8000-000000000201"
DEVICE = "00000000-0000-4000-8000-00000000000d"
S_CUR = "00000000-0000-4000-8000-00000000c001"
S_NEXT = "00000000-0000-4000-8000-00000000c002"
NOW_T = clock.now().replace(microsecond=0)
NOW = clock.iso(NOW_T)
PASSWORDS = {"out": "Out-pass-1", "in": "In-pass-2"}


@pytest.fixture
def world(store):
    h = PasswordHasher()
    users = [(OUT, "out", "陈嘉欣", "officer"), (INC, "in", "梁慧敏", "officer"),
             (NOVERIFIER, "nov", "黄志明", "officer"), (LEADER, "leader", "王建国", "leader")]
    start = NOW_T - dt.timedelta(hours=23)
    team, incident = records.new_id(), records.new_id()
    rows = [("user", {"id": i, "username": u, "name": n, "role": r, "active": True}) for i, u, n, r in users]
    rows += [
        ("shift", {"id": S_CUR, "org_unit_id": ORG, "starts_at": clock.iso(start),
                   "ends_at": clock.iso(start + dt.timedelta(hours=24)), "officer_ids": [OUT, NOVERIFIER],
                   "leader_id": LEADER, "status": "open"}),
        ("shift", {"id": S_NEXT, "org_unit_id": ORG, "starts_at": clock.iso(start + dt.timedelta(hours=24)),
                   "ends_at": clock.iso(start + dt.timedelta(hours=48)), "officer_ids": [INC], "leader_id": LEADER,
                   "status": "planned"}),
        ("incident", {"id": incident, "title": "东风中路燃气管道泄漏", "category": "accident", "severity": "II",
                      "status": "responding", "occurred_at": clock.iso(NOW_T - dt.timedelta(hours=2)),
                      "created_at": clock.iso(NOW_T - dt.timedelta(hours=2)), "drill": False}),
        ("incident", {"id": records.new_id(), "title": "中山六路商铺火情", "category": "accident", "severity": "IV",
                      "status": "cancelled", "occurred_at": clock.iso(NOW_T - dt.timedelta(hours=3)), "drill": False}),
        ("instruction", {"id": records.new_id(), "given_by": "区长",
                         "given_at": clock.iso(NOW_T - dt.timedelta(hours=1)),
                         "body": "全力搜救被困人员", "owner": "区应急局", "status": "open",
                         "due_at": clock.iso(NOW_T - dt.timedelta(minutes=5))}),
        ("instruction", {"id": records.new_id(), "given_at": clock.iso(NOW_T - dt.timedelta(hours=1)),
                         "body": "已办结的批示",
                         "status": "done"}),
        ("team", {"id": team, "name": "区消防救援站", "type": "fire", "headcount": 30, "status": "dispatched"}),
        ("dispatch", {"id": records.new_id(), "team_id": team, "incident_id": incident, "state": "en_route",
                      "ordered_at": clock.iso(NOW_T - dt.timedelta(minutes=40))}),
        ("sync_conflict", {"id": records.new_id(), "entity": "incident", "entity_id": incident, "field": "summary",
                           "kind": "concurrent_edit", "status": "open"}),
    ]

    def seed(c):
        records.bulk_load(c, rows)
        for username, pw in PASSWORDS.items():
            kv_put(c, f"verifier:{username}", {"hash": h.hash(pw), "user": {"id": username}})
    store.write_sync(seed)
    return store


def items(store):
    return store.read(handover.open_items, NOW_T)


def all_acked(found, note_for=None):
    return {i.key: handover.Acknowledgement(True, "已电话核实" if i.key == note_for else "") for i in found}


def make_draft(found, acks, outgoing=OUT, incoming=INC, next_shift=S_NEXT, notes=""):
    return handover.HandoverDraft(S_CUR, next_shift, list(found), acks, outgoing, incoming, notes)


def seal(store, d):
    return store.write_sync(lambda c: handover.seal_handover(c, d, device_id=DEVICE, author_id=OUT, now=NOW))


def walk_chain(store):
    t = table_for("duty_log_entry")
    rows = store.read(lambda c: {r["prev_hash"]: dict(r) for r in c.execute(sa.select(t)).mappings()})
    out, head = [], GENESIS
    while head in rows:
        out.append(rows[head])
        head = rows[head]["hash"]
    return out


def written(store):
    def run(c):
        return tuple(c.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                     for t in (table_for("handover"), table_for("duty_log_entry"), outbox))
    return store.read(run)


def test_open_items_list_each_kind_of_open_work(world):
    found = items(world)
    kinds = {i.kind for i in found}
    assert {"incident", "report_due", "instruction", "conflict", "dispatch"} <= kinds
    titles = {i.title for i in found}
    assert "东风中路燃气管道泄漏" in titles and "全力搜救被困人员" in titles and "区消防救援站" in titles
    assert "中山六路商铺火情" not in titles and "已办结的批示" not in titles  # cancelled, done
    ins = next(i for i in found if i.kind == "instruction")
    assert ins.urgent and "已超期" in ins.detail_zh  # its due time passed
    report = next(i for i in found if i.kind == "report_due")
    assert report.ref_id == next(i.ref_id for i in found if i.kind == "incident")
    assert len({i.key for i in found}) == len(found)


def test_unacknowledged_items_refuse_the_handover_and_nothing_is_written(world):
    found = items(world)
    acks = all_acked(found)
    acks[found[0].key] = handover.Acknowledgement(False)
    before = written(world)
    with pytest.raises(ValidationError) as e:
        seal(world, make_draft(found, acks))
    assert [p.field for p in e.value.problems] == ["items"]
    assert "1 项未确认" in e.value.problems[0].message_zh
    assert written(world) == before
    assert world.read(roster.get_shift, S_CUR).status == "open"


def test_an_item_that_appeared_meanwhile_must_be_acknowledged_too(world):
    found = items(world)
    world.write_sync(lambda c: records.create(c, "instruction", {
        "given_at": NOW, "body": "新批示：加强巡查", "status": "open"}, author_id=OUT, now=NOW))
    with pytest.raises(ValidationError) as e:
        seal(world, make_draft(found, all_acked(found)))
    assert e.value.problems[0].code == "appeared"


def test_same_person_both_sides_and_missing_next_shift_are_refused(world):
    found = items(world)
    with pytest.raises(ValidationError) as e:
        seal(world, make_draft(found, all_acked(found), incoming=OUT, next_shift=None))
    assert {p.field for p in e.value.problems} == {"incoming", "next_shift_id"}


def test_signatures_are_checked_against_each_persons_own_verifier(world):
    ok = world.read(handover.verify_both, OUT, PASSWORDS["out"], INC, PASSWORDS["in"])
    assert ok == []
    wrong = world.read(handover.verify_both, OUT, PASSWORDS["out"], INC, PASSWORDS["out"])
    assert [(r.field, r.message_zh) for r in wrong] == [("incoming", "密码错误")]
    both = world.read(handover.verify_both, OUT, "", NOVERIFIER, "whatever")
    assert [r.field for r in both] == ["outgoing", "incoming"]
    assert "从未在本机登录" in both[1].message_zh
    same = world.read(handover.verify_both, OUT, PASSWORDS["out"], OUT, PASSWORDS["out"])
    assert same[0].field == "incoming"


def test_the_handover_seals_the_chain_head_and_the_next_shift_takes_the_watch(world):
    world.write_sync(lambda c: duty_log_writer.append_entry(c, kind="note", body="夜间巡查正常", author_id=OUT,
                                                            device_id=DEVICE, now=NOW))
    found = items(world)
    note_key = found[0].key
    result = seal(world, make_draft(found, all_acked(found, note_for=note_key), notes="卫星电话电量不足，已充电"))
    h = world.read(records.get, "handover", result.handover_id)
    assert h["outgoing_id"] == OUT and h["incoming_id"] == INC
    assert h["shift_id"] == S_CUR and h["next_shift_id"] == S_NEXT
    assert h["signed_in_at"] == NOW and h["notes"] == "卫星电话电量不足，已充电"
    assert len(h["items"]) == len(found) and all(i["acknowledged"] for i in h["items"])
    assert next(i for i in h["items"] if i["key"] == note_key)["note"] == "已电话核实"
    # The seal is the chain head after the handover's own log line, which points at the handover.
    entry = world.read(records.get, "duty_log_entry", result.log_entry_id)
    assert entry["kind"] == "handover" and entry["details"]["handover_id"] == result.handover_id
    assert h["chain_head"] == entry["hash"] == world.read(duty_log_writer.chain_head, DEVICE)
    chain = walk_chain(world)
    assert [e["kind"] for e in chain] == ["note", "handover"]
    assert verify_chain(chain) is None
    assert world.read(roster.get_shift, S_CUR).status == roster.HANDED_OVER
    assert world.read(roster.get_shift, S_NEXT).status == roster.OPEN
    assert world.read(current_shift).id == S_NEXT
    ops = world.read(lambda c: sorted((r.entity, r.op) for r in c.execute(sa.select(outbox.c.entity, outbox.c.op))))
    assert ("handover", "append") in ops and ops.count(("shift", "patch")) == 2
    # Sealed: the same shift cannot be handed over twice.
    with pytest.raises(ValidationError):
        seal(world, make_draft(found, all_acked(found)))


def test_the_printout_lists_items_acknowledgements_and_both_officers(world):
    found = items(world)
    result = seal(world, make_draft(found, all_acked(found, note_for=found[0].key)))
    text = world.read(handover.printout, result.handover_id, "zh")
    assert "交接班记录" in text and "陈嘉欣" in text and "梁慧敏" in text
    assert "东风中路燃气管道泄漏" in text and "☑" in text and "☐" not in text and "已电话核实" in text
    assert result.chain_head in text
    english = world.read(handover.printout, result.handover_id, "en")
    assert "Outgoing officer" in english and "Open instructions" in english


def test_recent_handovers_name_both_officers(world):
    found = items(world)
    result = seal(world, make_draft(found, all_acked(found)))
    recent = world.read(handover.recent_handovers)
    assert recent[0].id == result.handover_id
    assert (recent[0].outgoing_name, recent[0].incoming_name) == ("陈嘉欣", "梁慧敏")


def test_the_draft_is_kept_until_the_seal_and_never_for_a_sealed_shift(world):
    found = items(world)
    fields = {"acks": {found[0].key: [True, "已核实"]}, "notes": "传真机缺纸"}
    world.write_sync(lambda c: handover.save_draft(c, S_CUR, fields, NOW))
    assert world.read(handover.load_draft, S_CUR) == fields
    seal(world, make_draft(found, all_acked(found)))
    assert world.read(handover.load_draft, S_CUR) is None  # cleared in the sealing transaction
    world.write_sync(lambda c: handover.save_draft(c, S_CUR, fields, NOW))  # a late save from another window
    assert world.read(handover.load_draft, S_CUR) is None
