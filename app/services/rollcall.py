"""Roll-calls from above (日常点名): when the call came, how, when it was answered and by whom.

A roll-call is a 守 duty-log entry (kind ``watch``) whose ``details.rollcall`` holds the
facts and the response time in seconds; there is no entity of its own. The demo's older
entries carry ``details.answered_in_s`` and ``details.by``; the list reads both shapes.

Bad times are questioned, not silently accepted: a call in the future, an answer before
the call, a call more than a day ago. Qt-free.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from app.domain import clock
from app.domain.validate import Problem, ValidationError
from app.services import duty_log_writer, roster
from app.store.schema import table_for

CHANNELS = {"phone": ("电话", "phone"), "video": ("视频", "video"), "radio": ("电台", "radio")}
SLACK = dt.timedelta(minutes=2)  # clocks of people typing times by hand
OLDEST = dt.timedelta(hours=24)


def channel_label(code: str | None, lang: str = "zh") -> str:
    zh, en = CHANNELS.get(code or "", (code or "—", code or "—"))
    return zh if lang == "zh" else en


@dataclasses.dataclass
class RollCallDraft:
    caller: str
    channel: str
    called_at: dt.datetime | None
    answered_at: dt.datetime | None
    answered_by: str | None  # a user id
    note: str = ""

    @property
    def response_seconds(self) -> int | None:
        if self.called_at is None or self.answered_at is None:
            return None
        return int(round((self.answered_at - self.called_at).total_seconds()))


@dataclasses.dataclass(frozen=True)
class RollCallRow:
    entry_id: str
    called_at: dt.datetime | None
    caller: str
    channel: str | None
    answered_at: dt.datetime | None
    answered_by: str
    response_seconds: int | None
    body: str


def _p(field: str, code: str, zh: str, en: str) -> Problem:
    return Problem(field, code, zh, en)


def check_rollcall(conn: sa.Connection, draft: RollCallDraft, now: dt.datetime | None = None) -> list[Problem]:
    now = now or clock.now()
    problems = []
    if not draft.caller.strip():
        problems.append(_p("caller", "required", "请填写点名单位或人员", "enter who made the roll-call"))
    elif len(draft.caller.strip()) > 200:
        problems.append(_p("caller", "too_long", "不能超过 200 字", "at most 200 characters"))
    if draft.channel not in CHANNELS:
        problems.append(_p("channel", "choice", "请选择点名方式：电话、视频或电台", "choose phone, video or radio"))
    if draft.called_at is None:
        problems.append(_p("called_at", "required", "请填写点名时间", "enter when the roll-call came in"))
    elif draft.called_at > now + SLACK:
        problems.append(_p("called_at", "future", "点名时间晚于现在，请核对", "the roll-call time is in the future"))
    elif draft.called_at < now - OLDEST:
        problems.append(_p("called_at", "old", "点名时间早于 24 小时前，请核对",
                           "the roll-call time is more than 24 hours ago"))
    if draft.answered_at is None:
        problems.append(_p("answered_at", "required", "请填写应答时间", "enter when it was answered"))
    elif draft.answered_at > now + SLACK:
        problems.append(_p("answered_at", "future", "应答时间晚于现在，请核对", "the answer time is in the future"))
    elif draft.called_at is not None and draft.answered_at < draft.called_at:
        problems.append(_p("answered_at", "order", "应答时间不能早于点名时间",
                           "the answer cannot come before the call"))
    people = {p.id for p in roster.duty_people(conn)}
    if not draft.answered_by:
        problems.append(_p("answered_by", "required", "请选择应答人", "choose who answered"))
    elif draft.answered_by not in people:
        problems.append(_p("answered_by", "role", "应答人必须是值班员或带班领导",
                           "the person who answered must be an officer or leader"))
    return problems


def describe_seconds(seconds: int | None, lang: str = "zh") -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} 秒" if lang == "zh" else f"{seconds} s"
    m, s = divmod(seconds, 60)
    return f"{m} 分 {s} 秒" if lang == "zh" else f"{m} min {s} s"


def record_rollcall(conn: sa.Connection, draft: RollCallDraft, *, author_id: str | None, device_id: str,
                    now: str, shift_id: str | None = None, org_unit_id: str | None = None) -> str:
    """Append the 守 entry for one roll-call (inside the caller's write transaction); returns its id."""
    problems = check_rollcall(conn, draft, clock.parse(now))
    if problems:
        raise ValidationError(problems)
    assert draft.called_at is not None and draft.answered_at is not None and draft.answered_by
    name = roster.user_names(conn, [draft.answered_by]).get(draft.answered_by, "?")
    secs = draft.response_seconds
    body = (f"{draft.called_at:%H:%M} {draft.caller.strip()}{channel_label(draft.channel)}点名，"
            f"{describe_seconds(secs)}后应答，应答人{name}。")
    if draft.note.strip():
        body += draft.note.strip()
    details = {"rollcall": {"caller": draft.caller.strip(), "channel": draft.channel,
                            "called_at": clock.iso(draft.called_at), "answered_at": clock.iso(draft.answered_at),
                            "answered_by": draft.answered_by, "answered_by_name": name, "response_s": secs}}
    return duty_log_writer.append_entry(conn, kind="watch", body=body, author_id=author_id, device_id=device_id,
                                        now=now, occurred_at=clock.iso(draft.called_at), shift_id=shift_id,
                                        org_unit_id=org_unit_id, details=details)


def recent_rollcalls(conn: sa.Connection, limit: int = 50) -> list[RollCallRow]:
    """The latest roll-calls, newest first (this console's and the ones synced from others)."""
    t = table_for("duty_log_entry")
    rc = sa.func.json_extract(t.c.details, "$.rollcall")
    old = sa.func.json_extract(t.c.details, "$.answered_in_s")
    q = (sa.select(t.c.id, t.c.occurred_at, t.c.body, t.c.details, t.c.author_id)
         .where(t.c.deleted.is_(False), t.c.kind == "watch", sa.or_(rc.is_not(None), old.is_not(None)))
         # The occurred_at index, walked backwards, stops after ``limit`` matches (times are written in
         # Beijing time, so text order is time order); the page is re-sorted by real time below.
         .order_by(t.c.occurred_at.desc()).limit(limit))
    rows = list(conn.execute(q))
    names = roster.user_names(conn, sorted({r.author_id for r in rows if r.author_id}))
    out = []
    for r in rows:
        d = r.details or {}
        called = clock.parse(r.occurred_at)
        if isinstance(d.get("rollcall"), dict):
            c = d["rollcall"]
            out.append(RollCallRow(r.id, clock.parse(c.get("called_at")) or called, c.get("caller") or "—",
                                   c.get("channel"), clock.parse(c.get("answered_at")),
                                   c.get("answered_by_name") or names.get(c.get("answered_by"), "—"),
                                   c.get("response_s"), r.body))
        else:
            secs = d.get("answered_in_s")
            secs = int(secs) if isinstance(secs, (int, float)) else None
            answered = called + dt.timedelta(seconds=secs) if called and secs is not None else None
            channel = "video" if "视频" in (r.body or "") else ("phone" if "电话" in (r.body or "") else None)
            out.append(RollCallRow(r.id, called, d.get("by") or "—", channel, answered,
                                   names.get(r.author_id, "—"), secs, r.body))
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    out.sort(key=lambda r: r.called_at or epoch, reverse=True)
    return out


def response_summary(rows: list[RollCallRow]) -> tuple[int, float | None, int | None]:
    """(count, mean seconds, slowest seconds) over the rows that have a response time."""
    secs = [r.response_seconds for r in rows if r.response_seconds is not None]
    if not secs:
        return len(rows), None, None
    return len(rows), sum(secs) / len(secs), max(secs)
