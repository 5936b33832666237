"""排班 Roster: a week of shifts (officers, leader on duty, phones), the shift form, copy last week."""

from __future__ import annotations

import datetime as dt
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.enums import Role
from app.domain.validate import ValidationError
from app.services import roster
from app.services.changes import ChangeSet
from app.services.shift_queries import current_shift
from app.ui import i18n
from app.ui.handover.common import (
    SearchableTable,
    edit_time,
    problem_label,
    problem_text,
    set_edit_time,
    show_problem,
    time_edit,
)
from app.ui.i18n import N_, tr

log = logging.getLogger(__name__)

HEADERS = (N_("日期"), N_("时间"), N_("值班员"), N_("值班电话"), N_("带班领导"), N_("领导电话"), N_("状态"))
STATUS = {roster.PLANNED: N_("已排班"), roster.OPEN: N_("值守中"), roster.HANDED_OVER: N_("已交班"),
          roster.CANCELLED: N_("已撤销"), "closed": N_("已交班")}
WEEKDAYS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))
FORM_FIELDS = ("starts_at", "ends_at", "officer_ids", "leader_id", "officer_phone", "leader_phone", "status")


def monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def status_text(status: str | None) -> str:
    return tr(STATUS[status]) if status in STATUS else (status or "—")


class RosterTab(QWidget):
    saved = Signal(str)
    """A shift was created or changed (its id)."""

    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="rosterTab")
        self.host = host
        self.ctx = host.ctx
        self.read_only = host.read_only
        self.week = monday(clock.now().date())
        self.rows: list[roster.ShiftRow] = []
        self.editing_id: str | None = None
        self.current_id: str | None = None
        self.people: list[roster.Person] = []

        self.prev_button = QPushButton(objectName="prevWeek")
        self.this_button = QPushButton(objectName="thisWeek")
        self.next_button = QPushButton(objectName="nextWeek")
        self.week_label = QLabel(objectName="weekLabel")
        self.current_label = QLabel(objectName="currentShiftLabel", wordWrap=True)
        self.prev_button.clicked.connect(lambda: self.show_week(self.week - dt.timedelta(days=7)))
        self.this_button.clicked.connect(lambda: self.show_week(monday(clock.now().date())))
        self.next_button.clicked.connect(lambda: self.show_week(self.week + dt.timedelta(days=7)))
        nav = QHBoxLayout()
        for w in (self.prev_button, self.this_button, self.next_button, self.week_label):
            nav.addWidget(w)
        nav.addStretch(1)

        self.list = SearchableTable("roster", HEADERS)
        self.list.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.list.table.activated.connect(lambda _i: self.edit_selected())
        self.new_button = QPushButton(objectName="newShift")
        self.edit_button = QPushButton(objectName="editShift")
        self.cancel_shift_button = QPushButton(objectName="cancelShift")
        self.copy_button = QPushButton(objectName="copyLastWeek")
        self.new_button.clicked.connect(self.new_shift)
        self.edit_button.clicked.connect(self.edit_selected)
        self.cancel_shift_button.clicked.connect(self.cancel_selected)
        self.copy_button.clicked.connect(self.copy_last_week)
        self.action_note = QLabel(objectName="rosterNote", wordWrap=True)
        actions = QHBoxLayout()
        for w in (self.new_button, self.edit_button, self.cancel_shift_button, self.copy_button):
            actions.addWidget(w)
        actions.addWidget(self.action_note, 1)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addLayout(nav)
        lv.addWidget(self.current_label)
        lv.addWidget(self.list, 1)
        lv.addLayout(actions)

        self.form = self._build_form()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.form)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_shift,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        for w in (self.new_button, self.edit_button, self.cancel_shift_button, self.copy_button):
            w.setVisible(not self.read_only)
        self.form.setVisible(not self.read_only)
        self.list.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.reload()

    # ---- The form ------------------------------------------------------------------------------
    def _build_form(self) -> QGroupBox:
        box = QGroupBox(objectName="shiftForm")
        self.starts = time_edit("shiftStarts")
        self.ends = time_edit("shiftEnds")
        self.officers = QListWidget(objectName="shiftOfficers")
        self.officers.setMinimumHeight(110)
        self.officers.setMaximumHeight(200)
        self.leader = QComboBox(objectName="shiftLeader")
        self.officer_phone = QLineEdit(objectName="officerPhone")
        self.leader_phone = QLineEdit(objectName="leaderPhone")
        self.leader.currentIndexChanged.connect(self._fill_leader_phone)
        self.problems = {name: problem_label(name) for name in FORM_FIELDS}
        self.save_button = QPushButton(objectName="saveShift")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.clear_button = QPushButton(objectName="clearShiftForm")
        self.clear_button.clicked.connect(self.new_shift)
        self.form_title = QLabel(objectName="shiftFormTitle")
        outer = QVBoxLayout(box)
        self.form_layout = QFormLayout()
        outer.addLayout(self.form_layout)
        outer.addStretch(1)
        self.form_layout.addRow(self.form_title)
        self._labels = {}
        for key, widget in (("starts_at", self.starts), ("ends_at", self.ends), ("officer_ids", self.officers),
                            ("leader_id", self.leader), ("officer_phone", self.officer_phone),
                            ("leader_phone", self.leader_phone)):
            cell = QWidget()
            v = QVBoxLayout(cell)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(widget)
            v.addWidget(self.problems[key])
            label = QLabel()
            label.setBuddy(widget)
            self._labels[key] = label
            self.form_layout.addRow(label, cell)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        self.form_layout.addRow(self.problems["status"])
        self.form_layout.addRow(buttons)
        return box

    def _fill_leader_phone(self) -> None:
        pid = self.leader.currentData()
        person = next((p for p in self.people if p.id == pid), None)
        if person is not None and person.phone and not self.leader_phone.text().strip():
            self.leader_phone.setText(person.phone)

    def _load_people(self) -> None:
        self.people = self.ctx.read(roster.duty_people)
        lang = i18n.current()
        checked = set(self.checked_officers())
        self.officers.clear()
        for p in self.people:
            item = QListWidgetItem(f"{p.name} · {Role(p.role).label(lang)}" + (f" · {p.phone}" if p.phone else ""))
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if p.id in checked else Qt.CheckState.Unchecked)
            self.officers.addItem(item)
        keep = self.leader.currentData()
        self.leader.blockSignals(True)
        self.leader.clear()
        self.leader.addItem("—", None)
        for p in self.people:
            if p.role == "leader":
                self.leader.addItem(p.name, p.id)
        i = self.leader.findData(keep)
        self.leader.setCurrentIndex(max(i, 0))
        self.leader.blockSignals(False)

    def checked_officers(self) -> list[str]:
        return [self.officers.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.officers.count())
                if self.officers.item(i).checkState() == Qt.CheckState.Checked]

    def set_officers(self, ids) -> None:
        ids = set(ids)
        for i in range(self.officers.count()):
            item = self.officers.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in ids
                               else Qt.CheckState.Unchecked)

    def draft(self) -> roster.ShiftDraft:
        org = None
        if self.editing_id:
            row = next((r for r in self.rows if r.id == self.editing_id), None)
            org = row.org_unit_id if row else None
        elif self.ctx.user is not None:
            org = self.ctx.user.org_unit_id
        if org is None and self.rows:
            org = self.rows[-1].org_unit_id
        return roster.ShiftDraft(edit_time(self.starts), edit_time(self.ends), self.checked_officers(),
                                 self.leader.currentData(), self.officer_phone.text(), self.leader_phone.text(), org)

    # ---- Public API ------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.prev_button.setText(tr("上一周"))
        self.this_button.setText(tr("本周"))
        self.next_button.setText(tr("下一周"))
        self.new_button.setText(tr("新建班次"))
        self.new_button.setToolTip(tr("新建班次") + " (Ctrl+N)")
        self.edit_button.setText(tr("编辑"))
        self.cancel_shift_button.setText(tr("撤销班次"))
        self.copy_button.setText(tr("复制上周排班"))
        self.form.setTitle(tr("班次"))
        for key, text in (("starts_at", N_("班次开始")), ("ends_at", N_("班次结束")), ("officer_ids", N_("值班员")),
                          ("leader_id", N_("带班领导")), ("officer_phone", N_("值班电话")),
                          ("leader_phone", N_("领导电话"))):
            self._labels[key].setText(tr(text))
        self.save_button.setText(tr("保存班次") + " (Ctrl+S)")
        self.clear_button.setText(tr("清空"))
        self.list.retranslate()
        self._form_title()
        self._show_week_label()
        if self.people:
            self._load_people()
        self._fill()

    def reload(self) -> None:
        start = dt.datetime.combine(self.week, dt.time(), clock.BEIJING)
        self.rows = self.ctx.read(roster.shifts_between, start, start + dt.timedelta(days=7))
        cur = self.ctx.read(current_shift)
        self.current_id = cur.id if cur else None
        if not self.people:
            self._load_people()
            if not self.editing_id:
                self._reset_form()
        self._fill()

    def show_week(self, week: dt.date) -> None:
        self.week = monday(week)
        self._show_week_label()
        self.reload()

    def new_shift(self) -> None:
        if self.read_only:
            return
        self.editing_id = None
        self._reset_form()
        self.starts.setFocus()

    def edit_selected(self) -> None:
        rid = self.list.selected_id()
        row = next((r for r in self.rows if r.id == rid), None)
        if row is None or self.read_only:
            return
        self.editing_id = row.id
        self._clear_problems()
        set_edit_time(self.starts, row.starts_at)
        set_edit_time(self.ends, row.ends_at)
        self.set_officers(row.officer_ids)
        self.leader.setCurrentIndex(max(self.leader.findData(row.leader_id), 0))
        self.officer_phone.setText(row.officer_phone or "")
        self.leader_phone.setText(row.leader_phone or "")
        self._form_title()
        self.starts.setFocus()

    def save(self) -> bool:
        """Check and write the form; each problem is shown beside its field and nothing is written."""
        if self.read_only:
            return False
        draft = self.draft()
        user = self.ctx.user
        sid = self.editing_id
        self._clear_problems()
        try:
            new_id = self.ctx.store.write_sync(lambda c: roster.save_shift(
                c, draft, shift_id=sid, author_id=user.id if user else None, now=clock.now_iso()))
        except ValidationError as e:
            for p in e.problems:
                label = self.problems.get(p.field, self.problems["status"])
                show_problem(label, problem_text(p))
            return False
        self.editing_id = new_id
        self.ctx.publish(ChangeSet.of("shift", [new_id]))
        self.action_note.setText(tr("班次已保存"))
        self.show_week(self.starts.date().toPython())
        self.list.select_id(new_id)
        self._form_title()
        self.saved.emit(new_id)
        return True

    def cancel_selected(self) -> None:
        rid = self.list.selected_id()
        if not rid or self.read_only:
            return
        user = self.ctx.user
        try:
            self.ctx.store.write_sync(lambda c: roster.cancel_shift(
                c, rid, author_id=user.id if user else None, now=clock.now_iso()))
        except ValidationError as e:
            self.action_note.setText(problem_text(e.problems[0]))
            return
        self.ctx.publish(ChangeSet.of("shift", [rid]))
        self.action_note.setText(tr("班次已撤销"))

    def copy_last_week(self) -> None:
        if self.read_only:
            return
        user = self.ctx.user
        week = self.week
        result = self.ctx.store.write_sync(lambda c: roster.copy_week(
            c, week, author_id=user.id if user else None, now=clock.now_iso()))
        if result.created:
            self.ctx.publish(ChangeSet.of("shift", result.created))
        self.action_note.setText(tr("已复制 {n} 个班次，跳过 {m} 个与已排班次冲突的").format(
            n=len(result.created), m=result.skipped))
        self.reload()

    # ---- Private ---------------------------------------------------------------------------
    def _reset_form(self) -> None:
        self._clear_problems()
        last = max((r.ends_at for r in self.rows if r.status != roster.CANCELLED), default=None)
        start = last or clock.now().replace(minute=30 if clock.now().minute >= 30 else 0, second=0, microsecond=0)
        set_edit_time(self.starts, start)
        set_edit_time(self.ends, start + dt.timedelta(hours=24))
        self.set_officers(())
        self.leader.setCurrentIndex(0)
        self.officer_phone.setText(next((r.officer_phone for r in reversed(self.rows) if r.officer_phone), ""))
        self.leader_phone.clear()
        self._form_title()

    def _clear_problems(self) -> None:
        for label in self.problems.values():
            show_problem(label, None)

    def _form_title(self) -> None:
        self.form_title.setText(tr("编辑班次") if self.editing_id else tr("新建班次"))

    def _show_week_label(self) -> None:
        end = self.week + dt.timedelta(days=6)
        self.week_label.setText(f"{self.week:%Y-%m-%d} – {end:%m-%d}")

    def _update_buttons(self) -> None:
        rid = self.list.selected_id()
        row = next((r for r in self.rows if r.id == rid), None)
        self.edit_button.setEnabled(row is not None and not row.finished)
        self.cancel_shift_button.setEnabled(row is not None and not row.finished and row.status != roster.OPEN)

    def _fill(self) -> None:
        cur = next((r for r in self.rows if r.id == self.current_id), None)
        if cur is None and self.current_id:
            cur = self.ctx.read(roster.get_shift, self.current_id)
        if cur is not None:
            self.current_label.setText(tr("当前班次：{span} · 值班员 {officers} · 带班领导 {leader}").format(
                span=f"{cur.starts_at:%m-%d %H:%M}–{cur.ends_at:%m-%d %H:%M}",
                officers="、".join(cur.officer_names) or "—", leader=cur.leader_name or "—"))
        else:
            self.current_label.setText(tr("当前没有值守中的班次"))
        rows = []
        for r in self.rows:
            day = f"{r.starts_at:%m-%d} {tr(WEEKDAYS[r.starts_at.weekday()])}"
            span = f"{r.starts_at:%H:%M}–" + ("" if r.ends_at.date() == r.starts_at.date() else tr("次日")) \
                + f"{r.ends_at:%H:%M}"
            state = status_text(r.status)
            if r.id == self.current_id:
                state = tr("当前") + " · " + state
            rows.append((r.id, [(day, r.starts_at.timestamp()), (span, r.starts_at.timestamp()),
                                ("、".join(r.officer_names) or "—", None), (r.officer_phone or "", None),
                                (r.leader_name or "—", None), (r.leader_phone or "", None), (state, None)]))
        self.list.set_rows(rows, bold_id=self.current_id)
        self.list.table.resizeColumnsToContents()
        self._update_buttons()
