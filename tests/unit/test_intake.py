"""接报 → 突发事件 in one transaction, the intake's checks and the readable body."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from app.domain import clock
from app.domain.hashchain import verify_chain
from app.domain.validate import ValidationError
from app.services import intake as I
from app.services.log_drafts import clear_draft, load_draft, save_draft
from app.store import records
from app.store.schema import table_for

NOW = "2026-11-23T14:35:00+08:00"
DEV = "00000000-0000-4000-8000-00000000000a"
U1 = "00000000-0000-4000-8000-000000000001"
STREET = "00000000-0000-4000-8000-0000000000c1"
SQUARE = {"type": "Polygon", "coordinates": [[[113.26, 23.12], [113.28, 23.12], [113.28, 23.14], [113.26, 23.14],
                                              [113.26, 23.12]]]}
INTAKE = {"caller": "王先生", "caller_unit": "文德路社区", "phone": "020-8300 1234", "place": "越秀路",
          "what": "商铺起火，浓烟较大", "injured": "2", "trapped": "1", "lon": "113.27", "lat": "23.13",
          "actions": "已通知消防", "occurred_at": "2026-11-23T14:32:00+08:00"}


@pytest.fixture
def district(store):
    store.write_sync(lambda c: records.bulk_load(c, [
        ("org_unit", {"id": STREET, "name": "北京街道", "kind": "street", "boundary": SQUARE}),
        ("org_unit", {"id": "00000000-0000-4000-8000-0000000000c2", "name": "别处", "kind": "street",
                      "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}),
    ]))
    return store


def count(store, entity):
    t = table_for(entity)
    return store.read(lambda c: c.execute(sa.select(sa.func.count()).select_from(t)).scalar())


def test_intake_opens_an_incident_in_one_step(district):
    store = district
    entry_id, incident_id = store.write_sync(lambda c: I.record_intake(
        c, user=U1, device_id=DEV, now=NOW, intake=dict(INTAKE),
        open_incident={"category": "accident", "subtype": "火灾", "severity": "IV"}))
    inc = store.read(records.get, "incident", incident_id)
    assert inc["title"] == "11·23越秀路火灾" and inc["status"] == "reported" and inc["org_unit_id"] == STREET
    assert (inc["injured"], inc["trapped"], inc["dead"]) == (2, 1, 0) and inc["lon"] == 113.27
    assert inc["occurred_at"] == INTAKE["occurred_at"] and inc["summary"] == "商铺起火，浓烟较大"
    e = store.read(records.get, "duty_log_entry", entry_id)
    assert e["kind"] == "receive" and e["incident_id"] == incident_id and e["org_unit_id"] == STREET
    assert e["details"]["caller"] == "王先生" and e["details"]["injured"] == 2
    assert e["body"] == ("接报：王先生（文德路社区，020-8300 1234）；报称越秀路商铺起火，浓烟较大；"
                         "伤亡：受伤2人、被困1人；已采取：已通知消防")
    assert verify_chain([e]) is None
    outbox = store.read(lambda c: c.execute(sa.text("SELECT entity, op FROM outbox ORDER BY device_seq")).all())
    assert [tuple(r) for r in outbox] == [("incident", "create"), ("duty_log_entry", "append")]


def test_title_falls_back_to_the_category_and_no_street_outside(district):
    store = district
    intake = {**INTAKE, "lon": "113.5", "lat": "23.5"}
    _, incident_id = store.write_sync(lambda c: I.record_intake(
        c, user=U1, device_id=DEV, now=NOW, intake=intake, open_incident={"category": "natural", "severity": "III"}))
    inc = store.read(records.get, "incident", incident_id)
    assert inc["title"] == "11·23越秀路自然灾害" and inc.get("org_unit_id") is None


def test_intake_without_incident_and_bad_input_writes_nothing(district):
    store = district
    entry_id, incident_id = store.write_sync(lambda c: I.record_intake(c, user=U1, device_id=DEV, now=NOW,
                                                                       intake=dict(INTAKE)))
    assert incident_id is None and store.read(records.get, "duty_log_entry", entry_id)["incident_id"] is None
    with pytest.raises(ValidationError) as e:
        store.write_sync(lambda c: I.record_intake(c, user=U1, device_id=DEV, now=NOW,
                                                   intake={**INTAKE, "caller": " "},
                                                   open_incident={"category": "x", "severity": "IV"}))
    assert {p.field for p in e.value.problems} == {"caller", "category"}
    assert count(store, "incident") == 0 and count(store, "duty_log_entry") == 1


def test_a_failure_after_the_incident_rolls_both_back(district):
    store = district
    # A damaged chain head (not a hash) makes the log entry fail AFTER the incident row was written:
    # neither may remain.
    from app.services.duty_log_writer import chain_head_key
    from app.store.kv import kv_put

    store.write_sync(kv_put, chain_head_key(DEV), "损坏")
    with pytest.raises(UnicodeEncodeError):
        store.write_sync(lambda c: I.record_intake(c, user=U1, device_id=DEV, now=NOW, intake=dict(INTAKE),
                                                   open_incident={"category": "accident", "severity": "IV"}))
    assert count(store, "incident") == 0 and count(store, "duty_log_entry") == 0
    assert store.read(lambda c: c.execute(sa.text("SELECT count(*) FROM outbox")).scalar()) == 0


@pytest.mark.parametrize(("field", "value", "code"), [
    ("phone", "abc", "format"), ("dead", "-1", "int"), ("dead", "1.5", "int"), ("lon", "东经113", "number"),
    ("lat", "95", "range"), ("what", "", "required"), ("place", "x\x00y", "nul"), ("what", "长" * 18_001, "too_long"),
    ("actions", "长" * 18_001, "too_long"), ("place", "x\ud800", "nul"),
])
def test_bad_fields_are_named(field, value, code):
    problems = I.check_fields("receive", {**INTAKE, field: value})
    assert (field, code) in {(p.field, p.code) for p in problems}
    assert all(p.message_zh and p.message_en for p in problems)


def test_fields_together_may_not_overflow_the_body():
    problems = I.check_fields("receive", {**INTAKE, "what": "长" * 10_000, "actions": "长" * 10_000})
    assert [(p.field, p.code) for p in problems] == [("what", "too_long")]


def test_times_are_questioned():
    now = dt.datetime(2026, 11, 23, 14, 0, tzinfo=clock.BEIJING)
    shift = now - dt.timedelta(hours=5)
    assert [p.code for p in I.check_time(now + dt.timedelta(minutes=30), now, shift)] == ["future"]
    assert [p.code for p in I.check_time(now - dt.timedelta(hours=6), now, shift)] == ["before_shift"]
    assert I.check_time(now - dt.timedelta(hours=1), now, shift) == []
    assert I.check_time(now + dt.timedelta(minutes=1), now, None) == []  # clocks drift a little


def test_text_is_kept_verbatim():
    text = "  第一行 'quote' \"dq\" ; DROP TABLE x; -- NEAR(a b) * \n\t第二行  "
    assert I.clean("note", {"text": text}) == {"text": text}
    assert I.compose_body("note", {"text": text}) == text


def test_drafts_round_trip(store):
    store.write_sync(save_draft, "k", {"kind": "note", "fields": {"note": {"text": "半句话"}}}, NOW)
    store.write_sync(save_draft, "k", {"kind": "note", "fields": {"note": {"text": "半句话，续"}}}, NOW)
    assert store.read(load_draft, "k")["fields"]["note"]["text"] == "半句话，续"
    store.write_sync(clear_draft, "k")
    assert store.read(load_draft, "k") is None


def test_a_call_about_a_street_outside_the_officers_scope_stays_in_the_officers_unit(district):
    # The server refuses records filed under a unit outside the author's scope (out_of_scope), and a
    # refused log entry would leave a hole in this console's chain: file it under our own unit instead.
    from app.services.context import SignedInUser

    store = district
    district_id = "00000000-0000-4000-8000-0000000000d1"
    elsewhere = "00000000-0000-4000-8000-0000000000c2"
    store.write_sync(lambda c: records.bulk_load(c, [
        ("org_unit", {"id": district_id, "name": "越秀区", "kind": "district"})]))
    store.write_sync(lambda c: c.execute(sa.text("UPDATE org_unit SET parent_id = :d WHERE id = :s"),
                                         {"d": district_id, "s": STREET}))
    neighbour = SignedInUser(id=U1, username="li", name="李", role="officer", org_unit_id=elsewhere)
    _, incident_id = store.write_sync(lambda c: I.record_intake(
        c, user=neighbour, device_id=DEV, now=NOW, intake=dict(INTAKE),
        open_incident={"category": "accident", "severity": "IV"}))
    assert store.read(records.get, "incident", incident_id)["org_unit_id"] == elsewhere

    at_district = SignedInUser(id=U1, username="wang", name="王", role="officer", org_unit_id=district_id)
    entry_id, incident_id = store.write_sync(lambda c: I.record_intake(
        c, user=at_district, device_id=DEV, now=NOW, intake=dict(INTAKE),
        open_incident={"category": "accident", "severity": "IV", "drill": True}))
    inc = store.read(records.get, "incident", incident_id)
    assert inc["org_unit_id"] == STREET  # the district's officers file it under the street it happened in
    assert store.read(records.get, "duty_log_entry", entry_id)["drill"]  # a drill's intake is a drill too
