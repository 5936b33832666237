"""The catalogue of synced entities: wire names, fields and conflict policy.

One description serves the console's cache, the server's validation and the
demo generator, so a field exists under one name everywhere (SYNC_PROTOCOL.md
"Wire names that independent clients rely on"). Field kinds are deliberately few:

``str`` short text · ``text`` long text · ``int`` · ``float`` · ``bool`` ·
``time`` ISO-8601 with offset · ``date`` ISO date · ``id`` a UUID reference ·
``json`` any JSON value · an enum class from :mod:`app.domain.enums`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from app.domain import enums as E

# Conflict policies (SYNC_PROTOCOL.md "Conflict policy per entity").
APPEND_ONLY = "append_only"  # insert-if-absent, never changed afterwards
MUTABLE = "mutable"  # field-level compare-and-set against base revisions
REFERENCE = "reference"  # written by administrators only

# Fields the server owns; a client that sends them is rejected (mass assignment).
SERVER_OWNED = frozenset({"rev", "server_rev", "created_by", "updated_by", "scope_id", "field_rev"})


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    kind: Any  # a kind name (str) or a Coded enum class
    required: bool = False
    max_len: int | None = None
    indexed: bool = False
    searchable: bool = False  # goes into the full-text index

    @property
    def enum(self) -> type[E.Coded] | None:
        return self.kind if isinstance(self.kind, type) and issubclass(self.kind, E.Coded) else None


@dataclasses.dataclass(frozen=True)
class Entity:
    name: str
    label_zh: str
    label_en: str
    policy: str
    fields: tuple[Field, ...]
    scoped: bool = True  # rows belong to an org unit and are filtered by scope
    library: bool = False  # one of the resource libraries (一网五库 + experts + contacts)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @functools.cached_property  # frozen: computed once, not per validated record
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @functools.cached_property  # frozen: computed once, not per validated record
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @functools.cached_property  # frozen: computed once, not per validated record
    def searchable(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.searchable)


def F(name: str, kind: Any = "str", **kw: Any) -> Field:
    if kind == "str" and "max_len" not in kw:
        kw["max_len"] = 200
    return Field(name, kind, **kw)


GEO = (F("lon", "float"), F("lat", "float"))
ORG = F("org_unit_id", "id", indexed=True)
DRILL = F("drill", "bool")

_ENTITIES = (
    Entity("org_unit", "组织机构", "Org unit", REFERENCE, (
        F("name", required=True, searchable=True), F("kind", E.OrgKind, required=True),
        F("parent_id", "id", indexed=True), F("code", max_len=32), *GEO,
        F("boundary", "json"), F("synthetic", "bool"), F("population", "int"),
    ), scoped=False),
    Entity("user", "用户", "User", REFERENCE, (
        F("username", required=True, max_len=64), F("name", required=True),
        F("role", E.Role, required=True), ORG, F("phone", max_len=32), F("active", "bool"),
    ), scoped=False),
    Entity("shift", "班次", "Shift", MUTABLE, (
        ORG, F("starts_at", "time", required=True), F("ends_at", "time", required=True),
        F("officer_ids", "json"), F("leader_id", "id"), F("officer_phone", max_len=32),
        F("leader_phone", max_len=32), F("status", max_len=32),
    )),
    Entity("handover", "交接班", "Handover", APPEND_ONLY, (
        ORG, F("shift_id", "id", required=True), F("next_shift_id", "id"),
        F("items", "json"), F("outgoing_id", "id"), F("incoming_id", "id"),
        F("signed_out_at", "time"), F("signed_in_at", "time"), F("chain_head", max_len=128),
        F("notes", "text", searchable=True),
    )),
    Entity("duty_log_entry", "值班日志", "Duty-log entry", APPEND_ONLY, (
        ORG, F("kind", E.LogKind, required=True), F("body", "text", required=True, max_len=20000,
                                                      searchable=True),
        F("occurred_at", "time", required=True, indexed=True), F("incident_id", "id", indexed=True),
        F("corrects_id", "id"), F("prev_hash", max_len=128), F("hash", max_len=128),
        F("author_id", "id"), F("device_id", "id"), F("shift_id", "id"), F("details", "json"),
        DRILL,
    )),
    Entity("incident", "突发事件", "Incident", MUTABLE, (
        ORG, F("title", required=True, searchable=True),
        F("category", E.IncidentCategory, required=True), F("subtype", max_len=64),
        F("severity", E.Severity, required=True), F("response_level", E.ResponseLevel),
        F("status", E.IncidentStatus, required=True, indexed=True), *GEO,
        F("place", searchable=True), F("occurred_at", "time", required=True, indexed=True),
        F("summary", "text", searchable=True), F("dead", "int"), F("injured", "int"),
        F("missing", "int"), F("trapped", "int"), F("affected", "int"),
        F("commander"), F("closed_at", "time"), DRILL,
    )),
    Entity("incident_report", "事件报告", "Incident report", APPEND_ONLY, (
        ORG, F("incident_id", "id", required=True, indexed=True),
        F("kind", E.ReportKind, required=True), F("seq", "int"),
        F("body", "text", required=True, searchable=True), F("due_at", "time"),
        F("submitted_at", "time"), F("signed_by", "id"), F("signed_at", "time"),
        F("recipient"), DRILL,
    )),
    Entity("report_signoff", "报告签发", "Report sign-off", APPEND_ONLY, (
        ORG, F("report_id", "id", required=True, indexed=True), F("incident_id", "id", indexed=True),
        F("signed_by", "id", required=True), F("signed_at", "time", required=True),
        F("decision", E.SignoffDecision, required=True), F("comment", "text", max_len=2000),
    )),
    Entity("instruction", "领导批示", "Leader instruction", MUTABLE, (
        ORG, F("incident_id", "id", indexed=True), F("given_by"), F("given_at", "time", required=True),
        F("body", "text", required=True, searchable=True), F("owner"), F("due_at", "time"),
        F("status", E.InstructionStatus, required=True), F("closed_at", "time"),
    )),
    Entity("dispatch", "调派", "Dispatch", MUTABLE, (
        ORG, F("team_id", "id", required=True, indexed=True),
        F("incident_id", "id", required=True, indexed=True),
        F("state", E.DispatchState, required=True), F("ordered_at", "time"),
        F("arrived_at", "time"), F("returned_at", "time"), F("note", "text"), DRILL,
    )),
    Entity("team", "救援队伍", "Rescue team", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("type", E.TeamType, required=True),
        F("tier", max_len=32), F("headcount", "int", required=True), F("leader", searchable=True),
        F("phone", max_len=32), F("base", searchable=True), F("specialities", searchable=True),
        F("status", E.TeamStatus, required=True), *GEO,
    ), library=True),
    Entity("warehouse", "物资仓库", "Warehouse", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("kind", max_len=32), *GEO,
        F("area_m2", "float", required=True), F("manager"), F("phone", max_len=32),
        F("address", searchable=True),
    ), library=True),
    Entity("supply_item", "物资品目", "Supply item", REFERENCE, (
        F("name", required=True, searchable=True), F("unit", required=True, max_len=16),
        F("category", max_len=64), F("min_level", "int"),
    ), scoped=False),
    Entity("stock_movement", "出入库记录", "Stock movement", APPEND_ONLY, (
        ORG, F("warehouse_id", "id", required=True, indexed=True),
        F("item_id", "id", required=True, indexed=True), F("delta", "int", required=True),
        F("reason", E.StockReason, required=True), F("incident_id", "id"),
        F("expires_on", "date"), F("occurred_at", "time"), F("note", "text"), DRILL,
    )),
    Entity("allocation_order", "调拨单", "Allocation order", MUTABLE, (
        ORG, F("incident_id", "id", indexed=True), F("from_warehouse_id", "id", required=True),
        F("to_place"), F("items", "json", required=True),
        F("status", E.AllocationStatus, required=True), F("ordered_at", "time"),
        F("delivered_at", "time"), DRILL,
    )),
    Entity("shelter", "避难场所", "Shelter", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("kind", E.ShelterKind),
        F("area_m2", "float", required=True), F("capacity", "int", required=True),
        F("occupancy", "int"), F("status", E.ShelterStatus, required=True), *GEO,
        F("manager"), F("phone", max_len=32), F("address", searchable=True),
    ), library=True),
    Entity("equipment", "大型装备", "Equipment", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("type", max_len=64),
        F("quantity", "int"), F("owner_unit", searchable=True), F("team_id", "id"),
        F("warehouse_id", "id"), F("status", max_len=32), *GEO,
    ), library=True),
    Entity("expert", "专家", "Expert", MUTABLE, (
        ORG, F("name", required=True, searchable=True),
        F("category", E.ExpertCategory, required=True), F("speciality", searchable=True),
        F("employer", searchable=True), F("phone", max_len=32),
    ), library=True),
    Entity("contact", "通讯录", "Contact", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("unit", searchable=True),
        F("title"), F("role", max_len=64), F("phone", max_len=32), F("mobile", max_len=32),
        F("radio_400", max_len=32), F("radio_800", max_len=32), F("sat_phone", max_len=32),
    ), library=True),
    Entity("risk_source", "风险隐患点", "Risk source", MUTABLE, (
        ORG, F("name", required=True, searchable=True), F("grade", E.RiskGrade, required=True),
        F("sector", max_len=64), F("responsible_unit", searchable=True),
        F("responsible_person"), F("phone", max_len=32),
        F("status", E.RemediationStatus, required=True), *GEO, F("description", "text"),
    ), library=True),
    Entity("warning", "预警信息", "Warning", MUTABLE, (
        ORG, F("title", required=True, searchable=True), F("type", max_len=64),
        F("level", E.WarningLevel, required=True), F("status", E.WarningStatus, required=True),
        F("regions", "json"), F("area", "json"), F("audience"), F("channels", "json"),
        F("valid_from", "time"), F("valid_to", "time"), F("body", "text", searchable=True), DRILL,
    )),
    Entity("plan", "应急预案", "Plan", MUTABLE, (
        ORG, F("title", required=True, searchable=True), F("level", max_len=32),
        F("category", E.IncidentCategory), F("subtype", max_len=64), F("checklist", "json"),
        F("version", max_len=32), F("issued_at", "date"),
    )),
    Entity("consultation", "视频会商", "Consultation", MUTABLE, (
        ORG, F("title", required=True, searchable=True), F("incident_id", "id"),
        F("scheduled_at", "time"), F("started_at", "time"), F("ended_at", "time"),
        F("participants", "json"), F("agenda", "text"), F("minutes", "text", searchable=True),
        F("decisions", "json"),
    )),
    Entity("attachment", "附件", "Attachment", APPEND_ONLY, (
        ORG, F("sha256", required=True, max_len=64), F("name", required=True),
        F("mime", max_len=128), F("size", "int"), F("entity", max_len=64), F("entity_id", "id"),
    )),
    Entity("sync_conflict", "同步冲突", "Sync conflict", MUTABLE, (
        ORG, F("entity", required=True, max_len=64), F("entity_id", "id", required=True),
        F("field", max_len=64), F("kind", E.ConflictKind, required=True),
        F("winning_value", "json"), F("losing_value", "json"), F("losing_mutation_id", "id"),
        F("losing_device_id", "id"), F("losing_author_id", "id"),
        F("status", E.ConflictStatus, required=True), F("resolved_by", "id"),
        F("resolution", "json"),
    )),
)

ENTITIES: Mapping[str, Entity] = {e.name: e for e in _ENTITIES}
LIBRARIES: tuple[str, ...] = tuple(e.name for e in _ENTITIES if e.library)


def entity(name: str) -> Entity:
    """Look an entity up by wire name; unknown names are a KeyError, never a getattr."""
    return ENTITIES[name]
