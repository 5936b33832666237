"""Shift handover (交接班): what is still open, the incoming officer's read-back, both signatures, the seal.

``open_items`` gathers everything the next shift inherits: open incidents, reports owed
upward, leader instructions still open, unresolved sync conflicts, active dispatches and
(when the resources service offers them) stock alerts. The incoming officer acknowledges
each item; both officers sign with their own password (checked against the offline
verifier a sign-in on this console left, app/services/signin.py); then ``seal_handover``
writes, in ONE transaction:

1. a 交接 duty-log entry (kind ``handover``) on this console's hash chain;
2. the append-only handover record with the items and their acknowledgements, both ids
   and times, and ``chain_head`` = this console's chain head *after* that entry, so the
   seal covers the handover line itself;
3. the outgoing shift marked ``handed_over`` and the incoming one ``open`` (on watch).

Anything wrong (an item not acknowledged, an item that appeared meanwhile, a wrong
password, the same person on both sides) raises before a row is written. Qt-free.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain import clock
from app.domain.enums import (
    ACTIVE_DISPATCH_STATES,
    OPEN_INCIDENT_STATUSES,
    DispatchState,
    IncidentStatus,
    ReportKind,
    Severity,
    WarningLevel,
)
from app.domain.validate import Problem, ValidationError
from app.services import duty_log_writer, roster
from app.services.report_deadlines import reports_due
from app.services.sync_queries import list_conflicts
from app.store import records
from app.store.kv import kv_get
from app.store.schema import draft as draft_table
from app.store.schema import table_for

_hasher = PasswordHasher()

# Item kinds, in the order the list shows them.
KINDS = ("incident", "report_due", "instruction", "conflict", "dispatch", "warning", "stock")
ACTIVE_WARNING_STATUSES = ("issued", "updated")
BACKLOG_AFTER = dt.timedelta(days=7)  # finals owed longer than this are listed as one backlog item


@dataclasses.dataclass(frozen=True)
class HandoverItem:
    key: str  # "<kind>:<ref id>", stable while the thing stays open
    kind: str
    ref_id: str
    title: str  # data (an incident's title, an instruction's text): shown as it is
    detail_zh: str
    detail_en: str
    urgent: bool = False  # overdue report, open conflict, negative stock…

    def detail(self, lang: str = "zh") -> str:
        return self.detail_zh if lang == "zh" else self.detail_en


@dataclasses.dataclass
class Acknowledgement:
    acknowledged: bool = False
    note: str = ""


@dataclasses.dataclass
class HandoverDraft:
    shift_id: str
    next_shift_id: str | None
    items: list[HandoverItem]
    acks: dict[str, Acknowledgement]
    outgoing_id: str | None
    incoming_id: str | None
    notes: str = ""

    def unacknowledged(self) -> list[HandoverItem]:
        return [i for i in self.items if not self.acks.get(i.key, Acknowledgement()).acknowledged]


@dataclasses.dataclass(frozen=True)
class HandoverResult:
    handover_id: str
    log_entry_id: str
    chain_head: str
    shift_id: str
    next_shift_id: str


# ---- What is open ----------------------------------------------------------------------------

def _fmt(t: dt.datetime) -> str:
    return clock.to_beijing(t).strftime("%m-%d %H:%M")


def _label(enum_cls, code: str | None, lang: str) -> str:
    try:
        return enum_cls(code).label(lang)
    except ValueError:
        return code or "—"


def open_items(conn: sa.Connection, now: dt.datetime | None = None,
               today: dt.date | None = None) -> list[HandoverItem]:
    """Everything the next shift inherits, grouped by kind (KINDS order), most pressing first within a kind."""
    now = now or clock.now()
    out: list[HandoverItem] = []
    inc = table_for("incident")
    q = (sa.select(inc.c.id, inc.c.title, inc.c.severity, inc.c.status, inc.c.occurred_at, inc.c.drill)
         .where(inc.c.deleted.is_(False), inc.c.status.in_(OPEN_INCIDENT_STATUSES))
         .order_by(inc.c.severity, sa.func.julianday(inc.c.occurred_at).desc()))
    titles: dict[str, str] = {}
    for r in conn.execute(q):
        titles[r.id] = r.title
        drill_zh, drill_en = ("演练 · ", "Drill · ") if r.drill else ("", "")
        out.append(HandoverItem(
            f"incident:{r.id}", "incident", r.id, r.title or "—",
            f"{drill_zh}{_label(Severity, r.severity, 'zh')} · {_label(IncidentStatus, r.status, 'zh')}",
            f"{drill_en}{_label(Severity, r.severity, 'en')} · {_label(IncidentStatus, r.status, 'en')}",
            urgent=r.severity in ("I", "II") and not r.drill))
    backlog: list = []
    for d in reports_due(conn):
        if d.kind == "final" and d.due_at < now - BACKLOG_AFTER:
            backlog.append(d)  # long-closed incidents still owing a 终报: one item, not hundreds
            continue
        kind_zh, kind_en = _label(ReportKind, d.kind, "zh"), _label(ReportKind, d.kind, "en")
        late = d.overdue(now)
        out.append(HandoverItem(
            f"report_due:{d.incident_id}:{d.kind}:{d.seq}", "report_due", d.incident_id, d.title or "—",
            f"{kind_zh}{'已超时' if late else '应于'} {_fmt(d.due_at)}{'' if late else ' 前报送'}",
            f"{kind_en} {'overdue since' if late else 'due by'} {_fmt(d.due_at)}", urgent=late))
    if backlog:
        oldest = min(d.due_at for d in backlog)
        out.append(HandoverItem(
            "report_due:backlog", "report_due", "backlog", f"已结案事件终报积压 {len(backlog)} 起",
            f"结案超过 {BACKLOG_AFTER.days} 天仍未报送终报，最早应于 {_fmt(oldest)} 报送",
            f"{len(backlog)} closed incident(s) still owe a final report more than {BACKLOG_AFTER.days} days "
            f"after closing; the oldest was due {_fmt(oldest)}", urgent=True))
    ins = table_for("instruction")
    q = (sa.select(ins.c.id, ins.c.body, ins.c.given_by, ins.c.owner, ins.c.due_at)
         .where(ins.c.deleted.is_(False), ins.c.status == "open")
         .order_by(sa.func.coalesce(sa.func.julianday(ins.c.due_at), 1e9), ins.c.id))
    for r in conn.execute(q):
        due = clock.parse(r.due_at)
        late = due is not None and due <= now
        due_zh = (f" · {'已超期' if late else '限'} {_fmt(due)}") if due else ""
        due_en = (f" · {'overdue since' if late else 'due'} {_fmt(due)}") if due else ""
        out.append(HandoverItem(
            f"instruction:{r.id}", "instruction", r.id, r.body or "—",
            f"{r.given_by or '—'} → {r.owner or '—'}{due_zh}", f"{r.given_by or '—'} → {r.owner or '—'}{due_en}",
            urgent=late))
    for c in list_conflicts(conn, open_only=True):
        out.append(HandoverItem(
            f"conflict:{c.id}", "conflict", c.id, c.record_title or c.entity_id,
            f"{c.entity} · {c.field or '—'} · 待处理", f"{c.entity} · {c.field or '—'} · open", urgent=True))
    dis, team = table_for("dispatch"), table_for("team")
    q = (sa.select(dis.c.id, dis.c.state, dis.c.incident_id, dis.c.ordered_at, team.c.name.label("team_name"))
         .select_from(dis.outerjoin(team, team.c.id == dis.c.team_id))
         .where(dis.c.deleted.is_(False), dis.c.state.in_(ACTIVE_DISPATCH_STATES))
         .order_by(sa.func.julianday(dis.c.ordered_at).desc(), dis.c.id))
    for r in conn.execute(q):
        where = titles.get(r.incident_id) or ""
        out.append(HandoverItem(
            f"dispatch:{r.id}", "dispatch", r.id, r.team_name or "—",
            f"{_label(DispatchState, r.state, 'zh')} · {where}".rstrip(" ·"),
            f"{_label(DispatchState, r.state, 'en')} · {where}".rstrip(" ·")))
    out.extend(_warning_items(conn, now))
    out.extend(_stock_items(conn, today or now.date()))
    return out


def _warning_items(conn: sa.Connection, now: dt.datetime) -> list[HandoverItem]:
    """Warnings in force (issued or updated, not past their validity): the next shift must know them."""
    w = table_for("warning")
    q = (sa.select(w.c.id, w.c.title, w.c.level, w.c.valid_to)
         .where(w.c.deleted.is_(False), w.c.status.in_(ACTIVE_WARNING_STATUSES))
         .order_by(sa.case({"red": 0, "orange": 1, "yellow": 2, "blue": 3}, value=w.c.level, else_=4), w.c.id))
    out = []
    for r in conn.execute(q):
        ends = clock.parse(r.valid_to)
        if ends is not None and ends <= now:
            continue
        level_zh, level_en = _label(WarningLevel, r.level, "zh"), _label(WarningLevel, r.level, "en")
        soon = ends is not None and ends - now <= dt.timedelta(hours=24)
        out.append(HandoverItem(
            f"warning:{r.id}", "warning", r.id, r.title or "—",
            f"{level_zh} · " + (f"有效至 {_fmt(ends)}" if ends else "未设截止时间"),
            f"{level_en} · " + (f"valid until {_fmt(ends)}" if ends else "no end time set"),
            urgent=r.level in ("red", "orange") or soon))
    return out


def _stock_items(conn: sa.Connection, today: dt.date) -> list[HandoverItem]:
    try:  # the resources service may not be there in every build
        from app.services.stock import stock_alerts
    except ImportError:
        return []
    items = []
    for a in stock_alerts(conn, today):
        ref = f"{a.warehouse_id}:{a.item_id}:{a.kind}:{a.expires_on or ''}"
        items.append(HandoverItem(f"stock:{ref}", "stock", ref, f"{a.warehouse_name} · {a.item_name}",
                                  a.message("zh"), a.message("en"), urgent=a.kind in ("negative", "expired")))
    return items


def upcoming(conn: sa.Connection, shift_id: str | None) -> list[roster.ShiftRow]:
    """The shifts that may take over from ``shift_id``, soonest first."""
    current = roster.get_shift(conn, shift_id) if shift_id else None
    return roster.upcoming_shifts(conn, current)


# ---- Signatures ------------------------------------------------------------------------------

class SignatureRefused(Exception):
    """A signature did not verify; ``field`` is "outgoing" or "incoming" (where the message goes)."""

    def __init__(self, field: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.field, self.message_zh, self.message_en = field, message_zh, message_en

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


def verify_signature(conn: sa.Connection, field: str, user_id: str | None, password: str) -> str:
    """Check ``password`` against the offline verifier of ``user_id``; returns the user's name."""
    if not user_id:
        raise SignatureRefused(field, "请选择签字人", "choose who signs")
    u = table_for("user")
    row = conn.execute(sa.select(u.c.username, u.c.name, u.c.role, u.c.active)
                       .where(u.c.id == user_id, u.c.deleted.is_(False))).first()
    if row is None or row.role not in roster.DUTY_ROLES or row.active is False:
        raise SignatureRefused(field, "签字人必须是在岗的值班员或带班领导",
                               "the signer must be an active officer or leader")
    if not password:
        raise SignatureRefused(field, "请输入本人密码", "enter this person's own password")
    record = kv_get(conn, f"verifier:{row.username}")
    if not record:
        raise SignatureRefused(field, "该用户从未在本机登录，无法核验密码；请先在本机登录一次",
                               "this user has never signed in on this console, so the password cannot be "
                               "checked; sign in here once first")
    try:
        _hasher.verify(record["hash"], password)
    except (VerificationError, InvalidHashError) as e:
        raise SignatureRefused(field, "密码错误", "wrong password") from e
    return row.name


def verify_both(conn: sa.Connection, outgoing_id: str | None, outgoing_password: str,
                incoming_id: str | None, incoming_password: str) -> list[SignatureRefused]:
    """Both signatures checked (so both fields can show their message at once); empty when both hold."""
    refused = []
    for field, uid, pw in (("outgoing", outgoing_id, outgoing_password), ("incoming", incoming_id, incoming_password)):
        try:
            verify_signature(conn, field, uid, pw)
        except SignatureRefused as e:
            refused.append(e)
    if not refused and outgoing_id == incoming_id:
        refused.append(SignatureRefused("incoming", "交班人与接班人不能是同一人",
                                        "the outgoing and incoming officers must be different people"))
    return refused


# ---- Checking and sealing ------------------------------------------------------------------------

def _p(field: str, code: str, zh: str, en: str) -> Problem:
    return Problem(field, code, zh, en)


def check_handover(conn: sa.Connection, draft: HandoverDraft, now: dt.datetime | None = None) -> list[Problem]:
    problems: list[Problem] = []
    shift = roster.get_shift(conn, draft.shift_id)
    if shift is None or shift.finished:
        problems.append(_p("shift_id", "finished", "本班次已交班或不存在", "this shift is already handed over or gone"))
    nxt = roster.get_shift(conn, draft.next_shift_id) if draft.next_shift_id else None
    if nxt is None:
        problems.append(_p("next_shift_id", "required", "请选择接班班次（先在排班中安排下一班）",
                           "choose the incoming shift (roster the next shift first)"))
    elif nxt.finished or nxt.id == draft.shift_id:
        problems.append(_p("next_shift_id", "finished", "接班班次无效", "that incoming shift cannot take over"))
    missing = draft.unacknowledged()
    if missing:
        problems.append(_p("items", "unacknowledged", f"还有 {len(missing)} 项未确认，接班人须逐项确认",
                           f"{len(missing)} item(s) not acknowledged; the incoming officer must acknowledge each"))
    listed = {i.key for i in draft.items}
    appeared = [i for i in open_items(conn, now) if i.key not in listed]
    if appeared:
        problems.append(_p("items", "appeared", f"交接期间新增 {len(appeared)} 项未结事项，请刷新后确认",
                           f"{len(appeared)} new open item(s) appeared meanwhile; refresh and acknowledge them"))
    if not draft.outgoing_id:
        problems.append(_p("outgoing", "required", "请选择交班人", "choose the outgoing officer"))
    if not draft.incoming_id:
        problems.append(_p("incoming", "required", "请选择接班人", "choose the incoming officer"))
    elif draft.outgoing_id == draft.incoming_id:
        problems.append(_p("incoming", "same", "交班人与接班人不能是同一人",
                           "the outgoing and incoming officers must be different people"))
    return problems


def seal_handover(conn: sa.Connection, draft: HandoverDraft, *, device_id: str, author_id: str | None,
                  now: str, signed_out_at: str | None = None) -> HandoverResult:
    """Write the handover in this one transaction (see the module doc); raises ValidationError first if wrong.

    Call only after both signatures verified (``verify_both``).
    """
    problems = check_handover(conn, draft, clock.parse(now))
    if problems:
        raise ValidationError(problems)
    shift = roster.get_shift(conn, draft.shift_id)
    assert shift is not None and draft.next_shift_id and draft.outgoing_id and draft.incoming_id
    names = roster.user_names(conn, [draft.outgoing_id, draft.incoming_id])
    out_name, in_name = names.get(draft.outgoing_id, "?"), names.get(draft.incoming_id, "?")
    handover_id = records.new_id()
    items = [item_record(i, draft.acks.get(i.key, Acknowledgement()), now) for i in draft.items]
    counts = {k: sum(1 for i in draft.items if i.kind == k) for k in KINDS}
    urgent = sum(1 for i in draft.items if i.urgent)
    body = (f"{out_name}向{in_name}交班，交接事项 {len(items)} 项（在办事件 {counts['incident']}、"
            f"待报 {counts['report_due']}、待办批示 {counts['instruction']}、同步冲突 {counts['conflict']}、"
            f"在途调派 {counts['dispatch']}、生效预警 {counts['warning']}、物资预警 {counts['stock']}），"
            "均已逐项确认。")
    if draft.notes.strip():
        body += f"备注：{draft.notes.strip()}"
    log_id = duty_log_writer.append_entry(
        conn, kind="handover", body=body, author_id=author_id, device_id=device_id, now=now,
        org_unit_id=shift.org_unit_id, shift_id=shift.id,
        details={"handover_id": handover_id, "shift_id": shift.id, "next_shift_id": draft.next_shift_id,
                 "outgoing_id": draft.outgoing_id, "incoming_id": draft.incoming_id, "items": len(items),
                 "urgent": urgent})
    head = duty_log_writer.chain_head(conn, device_id)
    data = {"org_unit_id": shift.org_unit_id, "shift_id": shift.id, "next_shift_id": draft.next_shift_id,
            "items": items, "outgoing_id": draft.outgoing_id, "incoming_id": draft.incoming_id,
            "signed_out_at": signed_out_at or now, "signed_in_at": now, "chain_head": head,
            "notes": draft.notes.strip() or None}
    records.create(conn, "handover", {k: v for k, v in data.items() if v is not None}, author_id=author_id,
                   now=now, record_id=handover_id)
    records.patch(conn, "shift", shift.id, {"status": roster.HANDED_OVER}, author_id=author_id, now=now)
    records.patch(conn, "shift", draft.next_shift_id, {"status": roster.OPEN}, author_id=author_id, now=now)
    clear_draft(conn, shift.id)
    return HandoverResult(handover_id, log_id, head, shift.id, draft.next_shift_id)


def item_record(item: HandoverItem, ack: Acknowledgement, now: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"key": item.key, "kind": item.kind, "ref_id": item.ref_id, "item": item.title,
                           "detail": item.detail_zh, "detail_en": item.detail_en, "urgent": item.urgent,
                           "acknowledged": ack.acknowledged, "acknowledged_at": now if ack.acknowledged else None}
    if ack.note.strip():
        rec["note"] = ack.note.strip()
    return rec


# ---- The form's draft (local, never synced): a crash mid-handover loses no acknowledgement ------------

def draft_key(shift_id: str) -> str:
    return f"handover:{shift_id}"


def save_draft(conn: sa.Connection, shift_id: str, fields: Mapping[str, Any], now: str) -> None:
    """The read-back so far (acks, notes, chosen shift and people; never a password).

    A shift already handed over keeps no draft (a late save from another window is dropped).
    """
    shift = roster.get_shift(conn, shift_id)
    if shift is None or shift.finished:
        return
    conn.execute(sa.text("INSERT INTO draft (form_key, fields, saved_at) VALUES (:k, json(:f), :t) "
                         "ON CONFLICT (form_key) DO UPDATE SET fields = excluded.fields, saved_at = excluded.saved_at"),
                 {"k": draft_key(shift_id), "f": json.dumps(dict(fields), ensure_ascii=False), "t": now})


def load_draft(conn: sa.Connection, shift_id: str) -> dict[str, Any] | None:
    value = conn.execute(sa.select(draft_table.c.fields).where(draft_table.c.form_key == draft_key(shift_id))).scalar()
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def clear_draft(conn: sa.Connection, shift_id: str) -> None:
    conn.execute(draft_table.delete().where(draft_table.c.form_key == draft_key(shift_id)))


# ---- Reading back ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class HandoverRecord:
    id: str
    shift_id: str
    next_shift_id: str | None
    items: tuple[Mapping[str, Any], ...]
    outgoing_name: str
    incoming_name: str
    signed_out_at: str | None
    signed_in_at: str | None
    chain_head: str | None
    notes: str | None


def recent_handovers(conn: sa.Connection, limit: int = 30) -> list[HandoverRecord]:
    t = table_for("handover")
    q = (sa.select(t).where(t.c.deleted.is_(False))
         .order_by(sa.func.julianday(sa.func.coalesce(t.c.signed_in_at, t.c.created_at)).desc()).limit(limit))
    rows = list(conn.execute(q))
    names = roster.user_names(conn, sorted({i for r in rows for i in (r.outgoing_id, r.incoming_id) if i}))
    return [HandoverRecord(r.id, r.shift_id, r.next_shift_id, tuple(r.items or ()), names.get(r.outgoing_id, "—"),
                           names.get(r.incoming_id, "—"), r.signed_out_at, r.signed_in_at, r.chain_head, r.notes)
            for r in rows]


def get_handover(conn: sa.Connection, handover_id: str) -> HandoverRecord | None:
    t = table_for("handover")
    r = conn.execute(sa.select(t).where(t.c.id == handover_id)).first()
    if r is None:
        return None
    names = roster.user_names(conn, [i for i in (r.outgoing_id, r.incoming_id) if i])
    return HandoverRecord(r.id, r.shift_id, r.next_shift_id, tuple(r.items or ()), names.get(r.outgoing_id, "—"),
                          names.get(r.incoming_id, "—"), r.signed_out_at, r.signed_in_at, r.chain_head, r.notes)


_KIND_LABELS = {"incident": ("在办事件", "Open incidents"), "report_due": ("待报送报告", "Reports due"),
                "instruction": ("待办批示", "Open instructions"), "conflict": ("同步冲突", "Sync conflicts"),
                "dispatch": ("在途调派", "Active dispatches"), "warning": ("生效预警", "Warnings in force"),
                "stock": ("物资预警", "Stock alerts")}


def kind_label(kind: str, lang: str = "zh") -> str:
    zh, en = _KIND_LABELS.get(kind, (kind, kind))
    return zh if lang == "zh" else en


def _when(text: str | None) -> str:
    t = clock.parse(text)
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "—"


def printout(conn: sa.Connection, handover_id: str, lang: str = "zh") -> str:
    """The handover record as plain text: what the two officers signed, for the file or the printer."""
    h = get_handover(conn, handover_id)
    if h is None:
        raise KeyError(handover_id)
    shift = roster.get_shift(conn, h.shift_id)
    nxt = roster.get_shift(conn, h.next_shift_id) if h.next_shift_id else None
    zh = lang == "zh"

    def span(s: roster.ShiftRow | None) -> str:
        if s is None:
            return "—"
        lead = f"{'带班领导' if zh else 'leader'} {s.leader_name or '—'}"
        return f"{s.starts_at:%Y-%m-%d %H:%M} – {s.ends_at:%Y-%m-%d %H:%M} · {'、'.join(s.officer_names)} · {lead}"

    lines = ["交接班记录" if zh else "Shift handover record", "=" * 24,
             f"{'交班班次' if zh else 'Outgoing shift'}: {span(shift)}",
             f"{'接班班次' if zh else 'Incoming shift'}: {span(nxt)}",
             f"{'交班人' if zh else 'Outgoing officer'}: {h.outgoing_name}  {_when(h.signed_out_at)}",
             f"{'接班人' if zh else 'Incoming officer'}: {h.incoming_name}  {_when(h.signed_in_at)}",
             f"{'日志链头（封存）' if zh else 'Sealed duty-log chain head'}: {h.chain_head or '—'}", ""]
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for item in h.items:
        by_kind.setdefault(str(item.get("kind") or ""), []).append(item)
    if not h.items:
        lines.append("（无未结事项）" if zh else "(nothing open)")
    for kind in [*KINDS, *sorted(k for k in by_kind if k not in KINDS)]:
        group = by_kind.get(kind)
        if not group:
            continue
        lines.append(f"{kind_label(kind, lang) if kind else ('其他' if zh else 'Other')} ({len(group)})")
        for n, item in enumerate(group, 1):
            mark = "☑" if item.get("acknowledged") else "☐"
            detail = item.get("detail") if zh else (item.get("detail_en") or item.get("detail"))
            text = item.get("item") or item.get("text") or ""
            line = f"  {n}. {mark} {text}"
            if detail:
                line += f" — {detail}"
            lines.append(line)
            if item.get("note"):
                lines.append(f"       {'备注' if zh else 'Note'}: {item['note']}")
        lines.append("")
    if h.notes:
        lines += [f"{'交接说明' if zh else 'Notes'}: {h.notes}", ""]
    lines += [f"{'交班人签字' if zh else 'Signed out'}: {h.outgoing_name}",
              f"{'接班人签字' if zh else 'Signed in'}: {h.incoming_name}"]
    return "\n".join(lines)

