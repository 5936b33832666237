"""Pure domain rules: validation messages, the duty-log hash chain, geometry."""

import uuid

from app.domain import geo, hashchain
from app.domain.entities import ENTITIES, entity
from app.domain.validate import check_record

NOW = "2026-11-23T08:00:00+08:00"


def codes(problems):
    return {(p.field, p.code) for p in problems}


def test_validation_names_each_bad_field_in_both_languages():
    problems = check_record(entity("shelter"), {
        "name": " ", "area_m2": -5, "capacity": -1, "status": "open", "lon": 200, "rev": 3, "colour": "red"})
    assert codes(problems) >= {("name", "required"), ("area_m2", "range"), ("capacity", "negative"),
                               ("lon", "range"), ("rev", "server_owned"), ("colour", "unknown_field")}
    assert all(p.message_zh and p.message_en for p in problems)


def test_times_without_offset_and_bad_enums_are_refused():
    problems = check_record(entity("incident"), {
        "title": "x", "category": "weather", "severity": "V", "status": "reported",
        "occurred_at": "2026-11-23 08:00"})
    assert codes(problems) == {("category", "enum"), ("severity", "enum"), ("occurred_at", "type")}


def test_patch_checks_only_what_it_changes_but_cannot_clear_required_fields():
    inc = entity("incident")
    assert check_record(inc, {"status": "verified"}, partial=True) == []
    assert codes(check_record(inc, {"title": ""}, partial=True)) == {("title", "required")}


def test_catalogue_has_every_wire_entity_of_the_protocol():
    wire = {"org_unit", "user", "shift", "handover", "duty_log_entry", "incident", "incident_report",
            "dispatch", "team", "warehouse", "supply_item", "stock_movement", "allocation_order", "shelter",
            "equipment", "expert", "contact", "risk_source", "warning", "plan", "consultation",
            "attachment", "sync_conflict"}
    assert wire <= set(ENTITIES)


def chain(n):
    prev, out = hashchain.GENESIS, []
    for i in range(n):
        e = {"id": str(uuid.uuid4()), "kind": "note", "body": f"第{i}条", "occurred_at": NOW,
             "author_id": None, "device_id": "d"}
        e["prev_hash"] = prev
        e["hash"] = prev = hashchain.entry_hash(prev, e)
        out.append(e)
    return out


def test_hash_chain_verifies_and_pinpoints_an_edited_entry():
    entries = chain(6)
    assert hashchain.verify_chain(entries) is None
    entries[3]["body"] = "被篡改"
    brk = hashchain.verify_chain(entries)
    assert (brk.position, brk.entry_id, brk.reason) == (3, entries[3]["id"], "hash")


def test_hash_chain_pinpoints_a_removed_entry():
    entries = chain(6)
    del entries[2]
    brk = hashchain.verify_chain(entries)
    assert (brk.position, brk.reason) == (2, "prev_hash")


def test_distance_and_containment():
    # Yuexiu district government to Tianhe sports centre: about 6 km
    d = geo.haversine_m(113.2665, 23.1291, 113.3244, 23.1367)
    assert 5_800 < d < 6_100
    x, y = geo.to_mercator(113.27, 23.13)
    lon, lat = geo.from_mercator(x, y)
    assert abs(lon - 113.27) < 1e-9 and abs(lat - 23.13) < 1e-9
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
                                                   [[0.5, 0.5], [1, 0.5], [1, 1], [0.5, 1], [0.5, 0.5]]]}
    assert geo.point_in_geometry(1.5, 1.5, square)
    assert not geo.point_in_geometry(0.7, 0.7, square)  # in the hole
    assert not geo.point_in_geometry(3, 3, square)


def test_values_no_database_can_store_are_refused_before_they_are_queued():
    plan = entity("plan")
    for bad in ({"checklist": {"step": float("inf")}}, {"checklist": ["a\x00b"]}, {"title": "火\ud800灾"}):
        problems = check_record(plan, bad, partial=True)
        assert [p.code for p in problems] == ["nul"], bad
