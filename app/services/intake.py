"""The entry bar's rules (Qt-free): each kind's fields, their checks, the readable body, and
接报 → 突发事件 in one step (``record_intake``).

Field values arrive as typed (text), are checked here with messages in Chinese and
English per field (app.domain.validate.Problem), and are stored verbatim in the
entry's ``details``; ``body`` is a readable sentence built from them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain import clock
from app.domain.enums import IncidentCategory, ResponseLevel, Severity
from app.domain.validate import Problem
from app.services.duty_log_writer import append_entry
from app.services.places import unit_for_new_record
from app.store import records

CASUALTIES = ("dead", "injured", "missing", "trapped")
CASUALTY_ZH = {"dead": "死亡", "injured": "受伤", "missing": "失踪", "trapped": "被困"}


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str = "line"  # line · text (multi-line) · int (≥ 0) · coord
    required: bool = False


# Each kind's own fields (besides the time and the incident every entry has). Keys are stored in details.
KIND_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "watch": (FieldSpec("item"), FieldSpec("text", "text", True)),
    "receive": (FieldSpec("caller", required=True), FieldSpec("caller_unit"), FieldSpec("phone"),
                FieldSpec("place", required=True), FieldSpec("lon", "coord"), FieldSpec("lat", "coord"),
                FieldSpec("what", "text", True), *(FieldSpec(c, "int") for c in CASUALTIES),
                FieldSpec("actions", "text")),
    "report": (FieldSpec("recipient", required=True), FieldSpec("channel"), FieldSpec("text", "text", True)),
    "dispatch": (FieldSpec("target", required=True), FieldSpec("destination"), FieldSpec("text", "text", True)),
    "handle": (FieldSpec("owner"), FieldSpec("text", "text", True)),
    "note": (FieldSpec("text", "text", True),),
    "handover": (FieldSpec("to_whom"), FieldSpec("text", "text", True)),
    "correction": (FieldSpec("reason", required=True), FieldSpec("text", "text", True)),
}

MAX_TEXT = 18_000  # the entry's body (all fields together) stops at 20,000 characters
_PHONE = re.compile(r"^[0-9+\-() 转#*]{3,32}$")


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def check_fields(kind: str, fields: Mapping[str, Any]) -> list[Problem]:
    """Every problem with what was typed for ``kind``, one Problem per field."""
    problems: list[Problem] = []
    for spec in KIND_FIELDS.get(kind, ()):
        v = fields.get(spec.key)
        if spec.required and _blank(v):
            problems.append(Problem(spec.key, "required", "必填", "required"))
            continue
        if _blank(v):
            continue
        text = str(v).strip()
        if len(str(v)) > MAX_TEXT:
            problems.append(Problem(spec.key, "too_long", f"过长（最多 {MAX_TEXT} 字）",
                                    f"too long (at most {MAX_TEXT} characters)"))
        elif "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
            problems.append(Problem(spec.key, "nul", "含有非法字符", "contains a NUL character"))
        elif spec.type == "int":
            if not text.isdigit():
                problems.append(Problem(spec.key, "int", "应为不小于 0 的整数", "must be a whole number, 0 or more"))
        elif spec.type == "coord":
            try:
                x = float(text)
            except ValueError:
                problems.append(Problem(spec.key, "number", "应为数字（度）", "must be a number (degrees)"))
                continue
            limit = 180 if spec.key == "lon" else 90
            if not -limit <= x <= limit:
                problems.append(Problem(spec.key, "range", "超出范围", "out of range"))
    phone = fields.get("phone")
    if kind == "receive" and not _blank(phone) and not _PHONE.match(str(phone).strip()):
        problems.append(Problem("phone", "format", "电话号码格式不对（数字、-、+、空格）",
                                "not a phone number (digits, -, +, spaces)"))
    total = sum(len(str(v)) for v in fields.values() if isinstance(v, str))
    main = "what" if kind == "receive" else "text"
    if total > 19_500 and not any(p.field == main for p in problems):
        problems.append(Problem(main, "too_long", "所有栏目合计过长（最多约 19,500 字）",
                                "all fields together are too long (about 19,500 characters at most)"))
    if kind == "receive" and _blank(fields.get("lon")) != _blank(fields.get("lat")):
        missing = "lat" if _blank(fields.get("lat")) else "lon"
        problems.append(Problem(missing, "pair", "经度和纬度需同时填写", "give both longitude and latitude"))
    return problems


def check_time(occurred: dt.datetime, now: dt.datetime, shift_start: dt.datetime | None,
               slack: dt.timedelta = dt.timedelta(minutes=2)) -> list[Problem]:
    """Times to question (not refuse): in the future, or before the current shift began."""
    out = []
    if occurred > now + slack:
        out.append(Problem("occurred_at", "future", "时间晚于现在，请确认",
                           "this time is in the future: please confirm"))
    elif shift_start is not None and occurred < shift_start:
        out.append(Problem("occurred_at", "before_shift", "时间早于本班开始，请确认",
                           "this time is before the current shift began: please confirm"))
    return out


def clean(kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The details to store: text verbatim (only the outer blank lines trimmed), numbers as numbers."""
    out: dict[str, Any] = {}
    for spec in KIND_FIELDS.get(kind, ()):
        v = fields.get(spec.key)
        if _blank(v):
            continue
        if spec.type == "int":
            out[spec.key] = int(str(v).strip())
        elif spec.type == "coord":
            out[spec.key] = float(str(v).strip())
        else:
            out[spec.key] = str(v).strip("\r\n")
    return out


def compose_body(kind: str, d: Mapping[str, Any]) -> str:
    """A readable sentence for the list and the search index, built from the details."""
    text = d.get("text", "")
    if kind == "receive":
        who = d.get("caller", "")
        extra = "，".join(str(d[k]) for k in ("caller_unit", "phone") if d.get(k))
        parts = [f"接报：{who}（{extra}）" if extra else f"接报：{who}", f"报称{d.get('place', '')}{d.get('what', '')}"]
        hurt = "、".join(f"{CASUALTY_ZH[c]}{d[c]}人" for c in CASUALTIES if d.get(c))
        if hurt:
            parts.append(f"伤亡：{hurt}")
        if d.get("actions"):
            parts.append(f"已采取：{d['actions']}")
        return "；".join(parts)
    prefix = {"watch": d.get("item"), "report": d.get("recipient") and f"报{d['recipient']}",
              "dispatch": d.get("target") and f"调{d['target']}", "handle": d.get("owner") and f"责任人{d['owner']}",
              "handover": d.get("to_whom") and f"交{d['to_whom']}",
              "correction": d.get("reason") and f"更正（{d['reason']}）"}.get(kind)
    if kind == "report" and d.get("channel"):
        prefix = f"{prefix}（{d['channel']}）"
    if kind == "dispatch" and d.get("destination"):
        prefix = f"{prefix}赴{d['destination']}"
    return f"{prefix}：{text}" if prefix else str(text)


# ---- 接报 → 突发事件 -------------------------------------------------------------------------

def incident_title(occurred: dt.datetime, place: str, kind_label: str) -> str:
    """The naming convention "M·D + place + type", e.g. 11·23越秀路火灾."""
    t = clock.to_beijing(occurred)
    return f"{t.month}·{t.day}{place.strip()}{kind_label.strip()}"


def check_incident(open_incident: Mapping[str, Any]) -> list[Problem]:
    out = []
    if open_incident.get("category") not in IncidentCategory.codes():
        out.append(Problem("category", "required", "请选择事件类别", "choose a category"))
    if open_incident.get("severity") not in Severity.codes():
        out.append(Problem("severity", "required", "请选择事件级别", "choose a severity"))
    level = open_incident.get("response_level")
    if level not in (None, "") and level not in ResponseLevel.codes():
        out.append(Problem("response_level", "enum", "响应等级无效", "not a response level"))
    return out


def _user_parts(user: Any) -> tuple[str | None, str | None]:
    if user is None or isinstance(user, str):
        return user, None
    return getattr(user, "id", None), getattr(user, "org_unit_id", None)


def record_intake(conn: sa.Connection, *, user: Any, device_id: str, now: str, intake: dict,
                  open_incident: dict | None = None, draft_key: str | None = None) -> tuple[str, str | None]:
    """Write the 接 entry and, if asked, the incident it opens, in the caller's ONE transaction.

    ``intake`` holds the receive fields (KIND_FIELDS["receive"]) plus ``occurred_at``
    (the time received) and optionally ``incident_id`` (an existing incident).
    ``open_incident``: category, severity, and optionally subtype, response_level,
    drill, title. Raises app.domain.validate.ValidationError on bad input.
    """
    from app.domain.validate import ValidationError
    from app.services.log_drafts import clear_draft

    problems = check_fields("receive", intake)
    if open_incident is not None:
        problems += check_incident(open_incident)
    if problems:
        raise ValidationError(problems)
    details = clean("receive", intake)
    occurred_at = intake.get("occurred_at") or now
    user_id, user_org = _user_parts(user)
    # Filed under the street at the point only when it is in the officer's scope (places.py).
    unit = unit_for_new_record(conn, details.get("lon"), details.get("lat"), user_org)
    incident_id = intake.get("incident_id") or None
    if open_incident is not None:
        category = open_incident["category"]
        subtype = (open_incident.get("subtype") or "").strip() or None
        label = subtype or IncidentCategory(category).zh
        title = (open_incident.get("title") or "").strip() or incident_title(
            dt.datetime.fromisoformat(occurred_at), details.get("place", ""), label)
        data = {"title": title[:200], "category": category, "subtype": subtype,
                "severity": open_incident["severity"], "response_level": open_incident.get("response_level") or None,
                "status": "reported", "place": details.get("place"), "lon": details.get("lon"),
                "lat": details.get("lat"), "occurred_at": occurred_at, "summary": details.get("what"),
                "drill": bool(open_incident.get("drill")), "org_unit_id": unit,
                **{c: details.get(c, 0) for c in CASUALTIES}}
        incident_id = records.create(conn, "incident", {k: v for k, v in data.items() if v is not None},
                                     author_id=user_id, now=now)
    entry_id = append_entry(conn, kind="receive", body=compose_body("receive", details), author_id=user_id,
                            device_id=device_id, now=now, occurred_at=occurred_at, org_unit_id=unit,
                            incident_id=incident_id, details=details,
                            drill=bool(open_incident and open_incident.get("drill")))
    if draft_key:
        clear_draft(conn, draft_key)
    return entry_id, incident_id
