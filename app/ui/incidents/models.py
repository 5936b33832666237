"""Table models of an incident tab: its timeline, its reports and its leader instructions.

Each is a RowsModel (frozen rows from a service listing; sortable on raw values, searchable,
exportable through ListTab), the same shape as every list in the console.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import clock
from app.domain.enums import DispatchState, IncidentStatus, InstructionStatus, LogKind, ReportKind
from app.services.instructions import InstructionRow
from app.services.reporting import ReportRow, report_label
from app.services.timeline import TimelineItem
from app.ui import i18n
from app.ui.i18n import N_, tr
from app.ui.sync_panel.models import RowsModel

OVERDUE_BG = QColor("#fde0dd")
OVERDUE_FG = QColor("#a3140e")
AWAITING_FG = QColor("#8a5a00")

KIND_LABELS = {"incident": N_("事件发生"), "log": N_("值班记录"), "status": N_("状态变更"), "report": N_("信息报送"),
               "dispatch": N_("力量调派"), "instruction": N_("领导批示")}


def _label(cls, code: str | None) -> str:
    try:
        return cls(code).label(i18n.current())
    except ValueError:
        return code or ""


def time_text(value: str | None, full: bool = False) -> str:
    if not value:
        return "—"
    try:
        t = clock.to_beijing(dt.datetime.fromisoformat(value))
    except ValueError:
        return value
    if full:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    return t.strftime("%H:%M") if t.date() == clock.now().date() else t.strftime("%m-%d %H:%M")


def _when(value: str | None) -> float:
    try:
        return dt.datetime.fromisoformat(value).timestamp() if value else 0.0
    except ValueError:
        return 0.0


class TimelineModel(RowsModel[TimelineItem]):
    columns = (("at", N_("时间")), ("kind", N_("类型")), ("text", N_("内容")))

    def row_id(self, row: TimelineItem) -> str:
        return f"{row.entity}:{row.record_id}:{row.kind}"

    def text(self, row: TimelineItem, key: str) -> str:
        if key == "at":
            return time_text(row.at)
        if key == "kind":
            label = tr(KIND_LABELS.get(row.kind, row.kind))
            if row.kind == "log":
                return f"{label}·{_label(LogKind, row.sub)}"
            if row.kind == "status":
                return f"{label}·{_label(IncidentStatus, row.sub)}"
            if row.kind == "report":
                return f"{label}·{_label(ReportKind, row.sub)}"
            if row.kind == "dispatch":
                return f"{label}·{_label(DispatchState, row.sub)}"
            if row.kind == "instruction":
                return f"{label}·{_label(InstructionStatus, row.sub)}"
            return label
        return row.text.replace("\n", " ")

    def export_text(self, row: TimelineItem, key: str) -> str:
        return time_text(row.at, full=True) if key == "at" else self.text(row, key)

    def sort_value(self, row: TimelineItem, key: str) -> Any:
        return _when(row.at) if key == "at" else self.text(row, key)

    def tooltip(self, row: TimelineItem, key: str) -> str | None:
        return row.text if key == "text" else time_text(row.at, full=True) if key == "at" else None

    def state(self, row: TimelineItem) -> str:
        return row.kind


RETURNED_FG = QColor("#a3140e")


def signoff_text(row: ReportRow) -> str:
    """待签发 / 已退回：意见 / the signer's name (or 已签发)."""
    if row.awaiting:
        return tr("待签发")
    if row.returned:
        return tr("已退回：{comment}").format(comment=row.comment) if row.comment else tr("已退回")
    return row.signed_by_name or (tr("已签发") if row.signed_by else tr("未签发"))


def report_title(row: ReportRow) -> str:
    label = report_label(row.kind, row.seq, i18n.current())
    if row.awaiting:
        return tr("{report}（待签发）").format(report=label)
    if row.returned:
        return tr("{report}（已退回）").format(report=label)
    return label


def _row_color(row: ReportRow) -> QColor | None:
    return AWAITING_FG if row.awaiting else RETURNED_FG if row.returned else None


class ReportsModel(RowsModel[ReportRow]):
    columns = (("label", N_("报告")), ("submitted", N_("报送时间")), ("due", N_("时限")),
               ("signed", N_("签发")), ("body", N_("内容")))

    def row_id(self, row: ReportRow) -> str:
        return row.id

    def text(self, row: ReportRow, key: str) -> str:
        if key == "label":
            return report_title(row)
        if key == "submitted":
            return time_text(row.signed_at if row.counted and row.signed_at else row.submitted_at)
        if key == "due":
            text = time_text(row.due_at)
            if row.on_time is False:
                text += " " + tr("（超时报送）")
            return text
        if key == "signed":
            return signoff_text(row)
        return row.body.replace("\n", " ")

    def export_text(self, row: ReportRow, key: str) -> str:
        if key == "submitted":
            return time_text(row.signed_at if row.counted and row.signed_at else row.submitted_at, full=True)
        if key == "due":
            return time_text(row.due_at, full=True)
        return self.text(row, key)

    def sort_value(self, row: ReportRow, key: str) -> Any:
        if key == "label":
            return (row.seq or 0, row.submitted_at or "")
        if key in ("submitted", "due"):
            return _when(row.submitted_at if key == "submitted" else row.due_at)
        return self.text(row, key)

    def tooltip(self, row: ReportRow, key: str) -> str | None:
        if key == "signed" and (row.awaiting or row.returned):
            who = row.author_name or ""
            text = tr("{name} 提交于 {time}").format(name=who, time=time_text(row.submitted_at, full=True))
            return text + ("\n" + signoff_text(row) if row.returned else "")
        return row.body if key == "body" else None

    def state(self, row: ReportRow) -> str:
        return row.status

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self.row(index.row())
            color = _row_color(row)
            if color is not None:
                return QBrush(color)
            if row.on_time is False and self.columns[index.column()][0] == "due":
                return QBrush(OVERDUE_FG)
        return super().data(index, role)


class AwaitingModel(RowsModel[ReportRow]):
    """Reports of every incident awaiting a leader's 签发 (the workspace's sign-off list)."""

    columns = (("incident", N_("事件")), ("label", N_("报告")), ("author", N_("提交人")),
               ("submitted", N_("提交时间")), ("due", N_("时限")), ("body", N_("内容")))

    def row_id(self, row: ReportRow) -> str:
        return row.id

    def text(self, row: ReportRow, key: str) -> str:
        if key == "incident":
            return row.incident_title or ""
        if key == "label":
            return report_label(row.kind, row.seq, i18n.current())
        if key == "author":
            return row.author_name or ""
        if key == "submitted":
            return time_text(row.submitted_at)
        if key == "due":
            return time_text(row.due_at)
        return row.body.replace("\n", " ")

    def export_text(self, row: ReportRow, key: str) -> str:
        if key in ("submitted", "due"):
            return time_text(row.submitted_at if key == "submitted" else row.due_at, full=True)
        return self.text(row, key)

    def sort_value(self, row: ReportRow, key: str) -> Any:
        if key in ("submitted", "due"):
            return _when(row.submitted_at if key == "submitted" else row.due_at)
        return self.text(row, key)

    def tooltip(self, row: ReportRow, key: str) -> str | None:
        return row.body if key == "body" else None

    def state(self, row: ReportRow) -> str:
        return "pending" if row.pending else "synced"

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            due = self.row(index.row()).due_at
            if due and self.columns[index.column()][0] == "due" and _when(due) <= clock.now().timestamp():
                return QBrush(OVERDUE_FG)
        return super().data(index, role)


class InstructionsModel(RowsModel[InstructionRow]):
    columns = (("given_at", N_("批示时间")), ("given_by", N_("批示领导")), ("body", N_("批示内容")),
               ("owner", N_("承办")), ("due_at", N_("办理时限")), ("status", N_("办理状态")))

    def row_id(self, row: InstructionRow) -> str:
        return row.id

    def text(self, row: InstructionRow, key: str) -> str:
        if key == "given_at":
            return time_text(row.given_at)
        if key == "given_by":
            return row.given_by or ""
        if key == "body":
            return row.body.replace("\n", " ")
        if key == "owner":
            return row.owner or ""
        if key == "due_at":
            return time_text(row.due_at) if row.due_at else tr("不限")
        if row.overdue(clock.now()):
            return tr("逾期未办结")
        if row.status == "done":
            return tr("已办结 {time}").format(time=time_text(row.closed_at))
        return _label(InstructionStatus, row.status)

    def export_text(self, row: InstructionRow, key: str) -> str:
        if key in ("given_at", "due_at"):
            return time_text(getattr(row, key), full=True) if getattr(row, key) else ""
        return self.text(row, key)

    def sort_value(self, row: InstructionRow, key: str) -> Any:
        if key in ("given_at", "due_at"):
            return _when(getattr(row, key))
        if key == "status":  # descending (the default): overdue first, then open, then done
            return 2 if row.overdue(clock.now()) else 1 if row.status == "open" else 0
        return self.text(row, key)

    def tooltip(self, row: InstructionRow, key: str) -> str | None:
        return row.body if key == "body" else None

    def state(self, row: InstructionRow) -> str:
        return row.status

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole) and index.isValid():
            if self.row(index.row()).overdue(clock.now()):
                return QBrush(OVERDUE_FG if role == Qt.ItemDataRole.ForegroundRole else OVERDUE_BG)
        return super().data(index, role)
