"""Conflict policy as pure functions (app.server.policy)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.server import policy

MINE, THEIRS = "m-mine", "m-theirs"


def _foreign(src):
    return src != MINE


def test_fields_changed_on_one_side_merge_silently():
    m = policy.merge_patch(
        {"title": "a", "summary": "s"},
        {"title": 5, "summary": 7},
        {"summary": THEIRS},
        {"title": "b"},
        {"title": 5},
        9,
        MINE,
        _foreign,
    )
    assert m.data == {"title": "b", "summary": "s"}
    assert m.field_rev == {"title": 9, "summary": 7} and m.field_src["title"] == MINE
    assert m.conflicts == [] and m.changed == ["title"]


def test_stale_base_from_another_device_is_a_concurrent_edit_that_the_later_arrival_wins():
    m = policy.merge_patch(
        {"summary": "theirs"},
        {"summary": 8},
        {"summary": THEIRS},
        {"summary": "mine"},
        {"summary": 5},
        9,
        MINE,
        _foreign,
    )
    assert m.data["summary"] == "mine"
    [c] = m.conflicts
    assert (c.kind, c.winning_value, c.losing_value, c.loser_is_self, c.loser_mutation_id) == (
        "concurrent_edit",
        "mine",
        "theirs",
        False,
        THEIRS,
    )


def test_own_earlier_write_is_never_a_conflict():
    m = policy.merge_patch(
        {"summary": "first"},
        {"summary": 8},
        {"summary": MINE},
        {"summary": "second"},
        {"summary": 0},
        9,
        MINE,
        _foreign,
    )
    assert m.conflicts == [] and m.data["summary"] == "second"


def test_setting_the_value_already_there_changes_nothing():
    m = policy.merge_patch(
        {"status": "closed"},
        {"status": 8},
        {"status": THEIRS},
        {"status": "closed"},
        {"status": 1},
        9,
        MINE,
        _foreign,
    )
    assert m.changed == [] and m.conflicts == [] and m.field_rev == {"status": 8}


def test_officer_status_moves_follow_the_state_machine():
    guard = policy.status_guard("officer")
    assert guard("status", "reported", "verified", False)
    assert not guard("status", "responding", "verified", False)  # backwards
    assert not guard("status", "closed", "responding", False)  # reopening
    assert not guard("status", "reported", "verified", True)  # stale
    assert guard("title", "a", "b", True)  # other fields are not guarded


def test_leaders_may_make_any_status_move():
    assert policy.status_guard("leader")("status", "closed", "responding", True)


def test_refused_transition_keeps_the_status_and_records_the_attempt():
    m = policy.merge_patch(
        {"status": "closed"},
        {"status": 8},
        {"status": THEIRS},
        {"status": "reported"},
        {"status": 8},
        9,
        MINE,
        _foreign,
        policy.status_guard("officer"),
    )
    assert m.data["status"] == "closed" and m.changed == []
    [c] = m.conflicts
    assert (c.kind, c.winning_value, c.losing_value, c.loser_is_self) == (
        "illegal_transition",
        "closed",
        "reported",
        True,
    )


def test_active_team_only_for_active_states():
    assert policy.active_team({"team_id": "t", "state": "en_route"}) == "t"
    assert policy.active_team({"team_id": "t", "state": "returned"}) is None
    assert policy.active_team({"state": "ordered"}) is None


@given(st.dictionaries(st.sampled_from("abcde"), st.integers(0, 3), min_size=1), st.integers(0, 3))
def test_merge_never_loses_a_field_and_every_change_carries_the_new_rev(payload, seen):
    data = {k: 0 for k in "abcde"}
    m = policy.merge_patch(
        data,
        dict.fromkeys("abcde", 2),
        dict.fromkeys("abcde", THEIRS),
        payload,
        dict.fromkeys(payload, seen),
        10,
        MINE,
        _foreign,
    )
    assert set(m.data) == set(data)
    for k, v in payload.items():
        assert m.data[k] == v
        assert (m.field_rev[k] == 10) == (v != 0)
    assert len(m.conflicts) == (sum(1 for v in payload.values() if v != 0) if seen < 2 else 0)
