"""点名 Roll-calls from above: record one (who called, how, when it was answered, by whom), list recent ones."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.validate import ValidationError
from app.services import rollcall, roster
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

HEADERS = (N_("点名时间"), N_("点名单位"), N_("方式"), N_("应答时间"), N_("应答人"), N_("响应时长"))
CHANNELS = (("phone", N_("电话")), ("video", N_("视频")), ("radio", N_("电台")))
FIELDS = ("caller", "channel", "called_at", "answered_at", "answered_by")


def seconds_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return tr("{s} 秒").format(s=seconds)
    m, s = divmod(seconds, 60)
    return tr("{m} 分 {s} 秒").format(m=m, s=s)


class RollCallTab(QWidget):
    recorded = Signal(str)
    """A roll-call was logged (the duty-log entry's id)."""

    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="rollcallTab")
        self.host = host
        self.ctx = host.ctx
        self.read_only = host.read_only
        self.rows: list[rollcall.RollCallRow] = []

        self.form = QGroupBox(objectName="rollcallForm")
        self.caller = QLineEdit(objectName="rollcallCaller")
        self.channel = QComboBox(objectName="rollcallChannel")
        self.called_at = time_edit("rollcallCalledAt")
        self.answered_at = time_edit("rollcallAnsweredAt")
        for edit in (self.called_at, self.answered_at):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            edit.dateTimeChanged.connect(lambda *_: self._show_response())
        self.call_now = QPushButton(objectName="callNow")
        self.answer_now = QPushButton(objectName="answerNow")
        self.call_now.clicked.connect(self.mark_called)
        self.answer_now.clicked.connect(self.mark_answered)
        self.answered_by = QComboBox(objectName="rollcallAnsweredBy")
        self.note = QLineEdit(objectName="rollcallNote")
        self.response = QLabel(objectName="rollcallResponse")
        self.save_button = QPushButton(objectName="saveRollcall")
        self.save_button.clicked.connect(self.save)
        self.result_note = QLabel(objectName="rollcallResult", wordWrap=True)
        self.problems = {f: problem_label(f) for f in FIELDS}
        self._labels: dict[str, QLabel] = {}
        grid = QGridLayout(self.form)
        layout_rows = (("caller", self.caller, None), ("channel", self.channel, None),
                       ("called_at", self.called_at, self.call_now), ("answered_at", self.answered_at, self.answer_now),
                       ("answered_by", self.answered_by, None), ("note", self.note, None))
        for r, (key, widget, extra) in enumerate(layout_rows):
            label = QLabel()
            label.setBuddy(widget)
            self._labels[key] = label
            grid.addWidget(label, r, 0)
            grid.addWidget(widget, r, 1)
            if extra is not None:
                grid.addWidget(extra, r, 2)
            if key in self.problems:
                grid.addWidget(self.problems[key], r, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(3, 2)
        foot = QHBoxLayout()
        foot.addWidget(self.response)
        foot.addWidget(self.save_button)
        foot.addWidget(self.result_note, 1)
        grid.addLayout(foot, len(layout_rows), 0, 1, 4)

        self.summary = QLabel(objectName="rollcallSummary")
        self.list = SearchableTable("rollcalls", HEADERS, descending=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.form)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        self.form.setVisible(not self.read_only)
        QShortcut(QKeySequence("Ctrl+Return"), self.form, activated=self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+Enter"), self.form, activated=self.save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._tick = QTimer(self, interval=1000, timeout=self._on_tick)  # the response clock running
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.reset_form()
        self.reload()

    # ---- Public API ------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.form.setTitle(tr("记录点名"))
        for key, text in (("caller", N_("点名单位")), ("channel", N_("方式")), ("called_at", N_("点名时间")),
                          ("answered_at", N_("应答时间")), ("answered_by", N_("应答人")), ("note", N_("备注"))):
            self._labels[key].setText(tr(text))
        self.caller.setPlaceholderText(tr("例如：市应急管理局总值班室"))
        keep = self.channel.currentData()
        self.channel.clear()
        for code, text in CHANNELS:
            self.channel.addItem(tr(text), code)
        self.channel.setCurrentIndex(max(self.channel.findData(keep), 0))
        self.call_now.setText(tr("现在来电"))
        self.answer_now.setText(tr("现在应答"))
        self.save_button.setText(tr("记录点名") + " (Ctrl+Enter)")
        self.list.retranslate()
        self._show_response()
        self._fill()

    def reload(self) -> None:
        self.rows = self.ctx.read(rollcall.recent_rollcalls, 50)
        callers = sorted({r.caller for r in self.rows if r.caller and r.caller != "—"})
        completer = QCompleter(callers, self.caller)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.caller.setCompleter(completer)
        self._fill()

    def reset_form(self) -> None:
        now = clock.now().replace(microsecond=0)
        set_edit_time(self.called_at, now)
        set_edit_time(self.answered_at, now)
        self.note.clear()
        people = self.ctx.read(roster.duty_people)
        self.answered_by.clear()
        self.answered_by.addItem("—", None)
        for p in people:
            self.answered_by.addItem(p.name, p.id)
        # Whoever is signed in answered, if they are on the roster; else the first officer on watch.
        default = self.ctx.user.id if self.ctx.user else None
        if self.answered_by.findData(default) < 0:
            cur = self.ctx.read(current_shift)
            row = self.ctx.read(roster.get_shift, cur.id) if cur else None
            default = row.officer_ids[0] if row and row.officer_ids else None
        self.answered_by.setCurrentIndex(max(self.answered_by.findData(default), 0))
        for label in self.problems.values():
            show_problem(label, None)

    def mark_called(self) -> None:
        """The phone rings: the call time is now, and the response clock runs until it is answered."""
        now = clock.now().replace(microsecond=0)
        set_edit_time(self.called_at, now)
        set_edit_time(self.answered_at, now)
        self._tick.start()
        self.caller.setFocus()

    def mark_answered(self) -> None:
        self._tick.stop()
        set_edit_time(self.answered_at, clock.now().replace(microsecond=0))
        self._show_response()

    def draft(self) -> rollcall.RollCallDraft:
        return rollcall.RollCallDraft(self.caller.text(), self.channel.currentData() or "",
                                      edit_time(self.called_at), edit_time(self.answered_at),
                                      self.answered_by.currentData(), self.note.text())

    def save(self) -> bool:
        if self.read_only:
            return False
        self._tick.stop()
        draft = self.draft()
        user = self.ctx.user
        device = self.ctx.device_id
        for label in self.problems.values():
            show_problem(label, None)
        cur = self.ctx.read(current_shift)
        shift = self.ctx.read(roster.get_shift, cur.id) if cur else None

        def write(conn):
            return rollcall.record_rollcall(conn, draft, author_id=user.id if user else None, device_id=device,
                                            now=clock.now_iso(), shift_id=shift.id if shift else None,
                                            org_unit_id=shift.org_unit_id if shift else None)
        try:
            entry_id = self.ctx.store.write_sync(write)
        except ValidationError as e:
            for p in e.problems:
                show_problem(self.problems.get(p.field, self.problems["caller"]), problem_text(p))
            return False
        self.ctx.publish(ChangeSet.of("duty_log_entry", [entry_id]))
        self.result_note.setText(tr("已记录：{caller}，响应 {time}").format(
            caller=draft.caller.strip(), time=seconds_text(draft.response_seconds)))
        self.caller.clear()
        self.reset_form()
        self.reload()
        self.list.select_id(entry_id)
        self.recorded.emit(entry_id)
        return True

    # ---- Private ---------------------------------------------------------------------------
    def _show_response(self) -> None:
        secs = int((edit_time(self.answered_at) - edit_time(self.called_at)).total_seconds())
        self.response.setText(tr("响应时长：{time}").format(time=seconds_text(secs) if secs >= 0 else "—"))

    def _on_tick(self) -> None:
        set_edit_time(self.answered_at, clock.now().replace(microsecond=0))  # shows through dateTimeChanged

    def _fill(self) -> None:
        lang = i18n.current()
        rows = []
        for r in self.rows:
            rows.append((r.entry_id, [
                (f"{r.called_at:%Y-%m-%d %H:%M:%S}" if r.called_at else "—",
                 r.called_at.timestamp() if r.called_at else 0),
                (r.caller, None), (rollcall.channel_label(r.channel, lang) if r.channel else "—", None),
                (f"{r.answered_at:%H:%M:%S}" if r.answered_at else "—", None), (r.answered_by, None),
                (seconds_text(r.response_seconds), r.response_seconds if r.response_seconds is not None else -1)]))
        self.list.set_rows(rows)
        self.list.table.resizeColumnsToContents()
        n, mean, slowest = rollcall.response_summary(self.rows[:50])
        if mean is None:
            self.summary.setText(tr("近期没有点名记录"))
        else:
            self.summary.setText(tr("最近 {n} 次点名：平均响应 {mean}，最慢 {slowest}").format(
                n=n, mean=seconds_text(round(mean)), slowest=seconds_text(slowest)))
