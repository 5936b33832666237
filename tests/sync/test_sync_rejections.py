"""A change the server refuses outright: the console puts the server's record back.

Real server, real consoles (own SQLite caches). A refused patch is not a conflict: the
server writes nothing, so no pull would ever bring the record again; the push answer
carries the record as the server has it and the console restores it, keeping the refused
change in the rejected list for "correct and resubmit".
"""

from __future__ import annotations

from app.services import sync_queries as Q
from app.store.search import search
from console_harness import NOW
from sync_world import STREET1, STREET2


def incident(**over):
    data = {"title": "11·23 北京街水浸", "category": "natural", "severity": "IV", "status": "reported",
            "occurred_at": NOW, "org_unit_id": STREET1, "summary": "积水30厘米"}
    data.update(over)
    return data


def test_a_patch_refused_outright_puts_the_servers_record_back_and_keeps_later_edits(consoles):
    a = consoles("officer_s1")
    inc = a.create("incident", incident())
    a.sync()
    confirmed = a.get("incident", inc)
    # Handing the incident to another street is beyond an officer of this street: refused whole.
    a.patch("incident", inc, {"org_unit_id": STREET2, "summary": "转交人民街道处置"})
    assert a.get("incident", inc)["summary"] == "转交人民街道处置"  # shown at once, before the push
    a.sync()
    back = a.get("incident", inc)
    assert back["org_unit_id"] == STREET1 and back["summary"] == "积水30厘米"  # the server's values
    assert back["server_rev"] == confirmed["server_rev"]
    assert a.store.read(lambda c: [h.id for h in search(c, "转交人民")]) == []  # the index follows
    assert a.store.read(lambda c: [h.id for h in search(c, "积水30")]) == [inc]
    rejected = a.store.read(Q.list_outbox, ("rejected",))
    assert [r.entity_id for r in rejected] == [inc] and "out_of_scope" in rejected[0].last_error
    assert a.engine.status.rejected == 1  # still listed, to be corrected and resubmitted


def test_a_refused_patch_followed_by_an_accepted_one_in_the_same_push_shows_the_accepted_one(consoles):
    a, b = consoles("officer_s1"), consoles("officer_s1b")
    inc = a.create("incident", incident())
    a.sync()
    a.patch("incident", inc, {"org_unit_id": STREET2})  # refused
    a.patch("incident", inc, {"place": "北京街12号"})  # accepted, in the same batch
    a.sync()
    row = a.get("incident", inc)
    assert (row["org_unit_id"], row["place"]) == (STREET1, "北京街12号")
    b.sync()
    assert {k: b.get("incident", inc)[k] for k in ("org_unit_id", "place", "summary")} == {
        k: row[k] for k in ("org_unit_id", "place", "summary")}


def test_an_edit_queued_after_the_refused_one_survives_the_restore(consoles):
    a = consoles("officer_s1")
    inc = a.create("incident", incident())
    a.sync()
    a.patch("incident", inc, {"org_unit_id": STREET2})

    def push_then_edit_before_the_answer_is_stored():
        import asyncio

        from app.store import outbox as ob
        real = ob.record_results

        def late_edit(conn, results, now):
            # The officer types while the push is on the wire: that edit is still pending
            # when the refusal is stored, and must be laid on top of the server's record.
            from app.store import records
            ob.record_results = real  # once
            records.patch(conn, "incident", inc, {"summary": "水位回落"}, author_id=a.ctx.user.id, now=NOW)
            return real(conn, results, now)

        ob.record_results = late_edit
        try:
            asyncio.run(a.engine._push_all())  # pushes the late edit too, as the engine would
        finally:
            ob.record_results = real

    push_then_edit_before_the_answer_is_stored()
    row = a.get("incident", inc)
    assert (row["org_unit_id"], row["summary"]) == (STREET1, "水位回落")
    assert [m["status"] for m in a.outbox()][-2:] == ["rejected", "applied"]
    a.sync()
    assert a.get("incident", inc)["summary"] == "水位回落"
