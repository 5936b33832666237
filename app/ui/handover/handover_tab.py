"""交接班 Handover: every open item acknowledged by the incoming officer, both signatures, the seal.

Keyboard: Space toggles the acknowledgement of the current item (F2 edits its note),
Ctrl+Enter signs and hands over, F5 re-reads what is open. "Take the shift" stays
disabled until every item is acknowledged, an incoming shift is chosen and both
passwords are typed; the passwords are then checked (off the GUI thread, they take a
fraction of a second each) and the handover is written in one transaction.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QMarginsF, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPageLayout, QPageSize, QPdfWriter, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.validate import ValidationError
from app.services import handover, roster
from app.services.changes import ChangeSet
from app.services.shift_queries import current_shift
from app.ui import background, i18n
from app.ui.handover.common import SearchableTable, problem_label, problem_text, show_problem, write_csv
from app.ui.i18n import N_, tr

log = logging.getLogger(__name__)

ITEM_HEADERS = (N_("确认"), N_("类别"), N_("事项"), N_("情况"), N_("备注"))
HISTORY_HEADERS = (N_("接班时间"), N_("交班人"), N_("接班人"), N_("交接事项"), N_("日志链头"))
KIND_LABELS = {"incident": N_("在办事件"), "report_due": N_("待报送"), "instruction": N_("待办批示"),
               "conflict": N_("同步冲突"), "dispatch": N_("在途调派"), "warning": N_("生效预警"),
               "stock": N_("物资预警")}
KeyRole = Qt.ItemDataRole.UserRole + 1
DRAFT_MS = 400  # the read-back is saved this long after the last tick or keystroke
COL_ACK, COL_KIND, COL_ITEM, COL_DETAIL, COL_NOTE = range(5)


class _SpaceToggles(QObject):
    """Space anywhere on an item's row toggles its acknowledgement (the read-back, one key per item)."""

    def __init__(self, tab: HandoverTab):
        super().__init__(tab)
        self.tab = tab

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Space \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.tab.toggle_current()
            return True
        return False


class HandoverTab(QWidget):
    handed_over = Signal(object)
    """The handover was sealed (a HandoverResult)."""
    items_loaded = Signal()

    def __init__(self, host, parent: QWidget | None = None):
        super().__init__(parent, objectName="handoverTab")
        self.host = host
        self.ctx = host.ctx
        self.read_only = host.read_only
        self.shift: roster.ShiftRow | None = None
        self.items: list[handover.HandoverItem] = []
        self.acks: dict[str, handover.Acknowledgement] = {}
        self.loading = False
        self._reload_again = False
        self.busy = False
        self.last_result: handover.HandoverResult | None = None
        self.history: list[handover.HandoverRecord] = []
        self._draft_for: str | None = None  # the shift whose saved read-back has been restored
        self._restoring = False
        self._draft_timer = QTimer(self, singleShot=True, interval=DRAFT_MS, timeout=self.save_draft)

        self.shift_label = QLabel(objectName="outgoingShift", wordWrap=True)
        self.next_shift = QComboBox(objectName="nextShift")
        self.next_shift.currentIndexChanged.connect(self._on_next_shift)
        self.next_shift.currentIndexChanged.connect(self._draft_changed)
        self.next_label = QLabel()
        self.next_label.setBuddy(self.next_shift)
        self.next_problem = problem_label("next_shift_id")
        top = QGridLayout()
        top.addWidget(self.shift_label, 0, 0, 1, 3)
        top.addWidget(self.next_label, 1, 0)
        top.addWidget(self.next_shift, 1, 1)
        top.addWidget(self.next_problem, 1, 2)
        top.setColumnStretch(1, 2)
        top.setColumnStretch(2, 2)

        self.search = QLineEdit(objectName="itemSearch", clearButtonEnabled=True)
        self.search.textChanged.connect(self._apply_search)
        self.progress = QLabel(objectName="ackProgress")
        self.refresh_button = QPushButton(objectName="refreshItems")
        self.refresh_button.clicked.connect(self.reload)
        self.export_button = QPushButton(objectName="exportItems")
        self.export_button.clicked.connect(self.choose_items_export)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.export_button)

        self.table = QTableWidget(0, len(ITEM_HEADERS), objectName="handoverItems")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.DoubleClicked)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the service's order (kind, urgency) first
        self.table.setSortingEnabled(True)
        header.setSectionResizeMode(COL_ITEM, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_DETAIL, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_NOTE, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.installEventFilter(_SpaceToggles(self))
        self.items_problem = problem_label("items")
        self.empty_note = QLabel(objectName="itemsEmpty")

        self.notes = QPlainTextEdit(objectName="handoverNotes")
        self.notes.setTabChangesFocus(True)
        self.notes.setMaximumHeight(64)
        self.notes_label = QLabel()
        self.notes_label.setBuddy(self.notes)

        self.sign_box = QGroupBox(objectName="signatures")
        self.outgoing = QComboBox(objectName="outgoingOfficer")
        self.incoming = QComboBox(objectName="incomingOfficer")
        self.outgoing_password = QLineEdit(objectName="outgoingPassword", echoMode=QLineEdit.EchoMode.Password)
        self.incoming_password = QLineEdit(objectName="incomingPassword", echoMode=QLineEdit.EchoMode.Password)
        self.outgoing_problem = problem_label("outgoing")
        self.incoming_problem = problem_label("incoming")
        self.out_label, self.in_label = QLabel(), QLabel()
        self.out_label.setBuddy(self.outgoing)
        self.in_label.setBuddy(self.incoming)
        grid = QGridLayout(self.sign_box)
        for r, (label, combo, pw, problem) in enumerate(((self.out_label, self.outgoing, self.outgoing_password,
                                                          self.outgoing_problem),
                                                         (self.in_label, self.incoming, self.incoming_password,
                                                          self.incoming_problem))):
            grid.addWidget(label, r, 0)
            grid.addWidget(combo, r, 1)
            grid.addWidget(pw, r, 2)
            grid.addWidget(problem, r, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 2)
        grid.setColumnStretch(3, 3)
        for w in (self.outgoing_password, self.incoming_password):
            w.textChanged.connect(self._update_take)
        for combo in (self.outgoing, self.incoming):
            combo.currentIndexChanged.connect(self._update_take)
            combo.currentIndexChanged.connect(self._draft_changed)
        self.notes.textChanged.connect(self._draft_changed)
        self.take_button = QPushButton(objectName="takeShift")
        self.take_button.clicked.connect(self.take_shift)
        self.result = QLabel(objectName="handoverResult", wordWrap=True)
        take_row = QHBoxLayout()
        take_row.addWidget(self.take_button)
        take_row.addWidget(self.result, 1)

        self.history_box = QGroupBox(objectName="handoverHistory")
        self.history_list = SearchableTable("handovers", HISTORY_HEADERS, descending=True)
        self.print_button = QPushButton(objectName="printHandover")
        self.print_button.clicked.connect(self.choose_printout_file)
        hv = QVBoxLayout(self.history_box)
        hv.addWidget(self.history_list, 1)
        hv.addWidget(self.print_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.history_box.setMinimumHeight(220)

        work = QWidget()
        wl = QVBoxLayout(work)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addLayout(top)
        wl.addLayout(bar)
        wl.addWidget(self.table, 1)
        wl.addWidget(self.empty_note)
        wl.addWidget(self.items_problem)
        wl.addWidget(self.notes_label)
        wl.addWidget(self.notes)
        wl.addWidget(self.sign_box)
        wl.addLayout(take_row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(work)
        splitter.addWidget(self.history_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(seq), self, activated=self.take_shift,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("F5"), self, activated=self.reload,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence.StandardKey.Print, self, activated=self.choose_printout_file,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if self.read_only:
            for w in (self.sign_box, self.take_button, self.notes, self.notes_label, self.next_shift):
                w.setEnabled(False)
            self.sign_box.hide()
            self.take_button.hide()
        i18n.notifier().language_changed.connect(self.retranslate)
        self.retranslate()
        self.reload()

    # ---- Public API ------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.next_label.setText(tr("接班班次"))
        self.search.setPlaceholderText(tr("搜索事项…"))
        self.refresh_button.setText(tr("刷新") + " (F5)")
        self.export_button.setText(tr("导出 CSV"))
        self.table.setHorizontalHeaderLabels([tr(h) for h in ITEM_HEADERS])
        self.notes_label.setText(tr("交接说明（设备、通信、其他需要交代的情况）"))
        self.sign_box.setTitle(tr("双方签字"))
        self.out_label.setText(tr("交班人"))
        self.in_label.setText(tr("接班人"))
        self.outgoing_password.setPlaceholderText(tr("交班人本人密码"))
        self.incoming_password.setPlaceholderText(tr("接班人本人密码"))
        self.take_button.setText(tr("签字接班") + " (Ctrl+Enter)")
        self.history_box.setTitle(tr("交接班记录"))
        self.print_button.setText(tr("打印 / 导出交接单…") + " (Ctrl+P)")
        self.history_list.retranslate()
        self.empty_note.setText(tr("没有未结事项：可以直接签字接班。"))
        self._show_shift()
        self._relabel_items()
        self._fill_history()
        self._update_take()

    def reload(self) -> None:
        """Re-read the shifts now and what is open in the background; acknowledgements stay with their items."""
        self.shift = None
        cur = self.ctx.read(current_shift)
        if cur is not None:
            self.shift = self.ctx.read(roster.get_shift, cur.id)
        self._load_people()
        self._load_next_shifts()
        self._show_shift()
        self.history = self.ctx.read(handover.recent_handovers, 30)
        self._fill_history()
        if self.loading:
            self._reload_again = True
            return
        self.loading = True
        self.progress.setText(tr("正在读取未结事项…"))
        background.run(self, self.ctx.read, handover.open_items, done=self._on_items)

    def toggle_current(self) -> None:
        row = self.table.currentRow()
        if row < 0 or self.read_only:
            return
        item = self.table.item(row, COL_ACK)
        done = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if done else Qt.CheckState.Checked)
        if not done and row + 1 < self.table.rowCount():
            self.table.setCurrentCell(row + 1, self.table.currentColumn())  # read-back walks down the list

    def unacknowledged(self) -> int:
        return sum(1 for i in self.items if not self.acks.get(i.key, handover.Acknowledgement()).acknowledged)

    def ready(self) -> bool:
        return (not self.read_only and not self.loading and not self.busy and self.shift is not None
                and self.next_shift.currentData() is not None and self.unacknowledged() == 0
                and bool(self.outgoing_password.text()) and bool(self.incoming_password.text()))

    def draft(self) -> handover.HandoverDraft:
        return handover.HandoverDraft(
            self.shift.id if self.shift else "", self.next_shift.currentData(), list(self.items),
            {k: handover.Acknowledgement(a.acknowledged, a.note) for k, a in self.acks.items()},
            self.outgoing.currentData(), self.incoming.currentData(), self.notes.toPlainText())

    def take_shift(self) -> None:
        """Check everything and verify both passwords off the GUI thread, then seal in one transaction."""
        if self.read_only or self.busy:
            return
        self._clear_problems()
        if self.shift is None:
            self.result.setText(tr("当前没有值守中的班次，无法交接"))
            return
        draft = self.draft()
        out_pw, in_pw = self.outgoing_password.text(), self.incoming_password.text()
        ctx, user = self.ctx, self.ctx.user
        self.save_draft()  # what was acknowledged is kept even if the handover is refused below
        self.busy = True
        self._update_take()
        self.result.setText(tr("正在核验双方密码…"))

        def work():  # on a worker thread: listing what is open and two Argon2 checks take ~0.1 s each
            problems = ctx.read(handover.check_handover, draft)
            if problems:
                raise ValidationError(problems)
            refused = ctx.read(handover.verify_both, draft.outgoing_id, out_pw, draft.incoming_id, in_pw)
            if refused:
                return refused
            return ctx.store.write_sync(lambda c: handover.seal_handover(
                c, draft, device_id=ctx.device_id, author_id=user.id if user else None, now=clock.now_iso()))

        background.run(self, work, done=self._on_sealed)

    def export_printout(self, handover_id: str, path: Path) -> None:
        """The handover record as PDF (by the file's suffix) or plain UTF-8 text."""
        text = self.ctx.read(handover.printout, handover_id, i18n.current())
        if path.suffix.lower() == ".pdf":
            doc = QTextDocument()
            doc.setPlainText(text)
            font = doc.defaultFont()
            font.setPointSize(11)
            doc.setDefaultFont(font)
            writer = QPdfWriter(str(path))
            writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                             QMarginsF(20, 20, 20, 20), QPageLayout.Unit.Millimeter))
            writer.setTitle(tr("交接班记录"))
            doc.print_(writer)
        else:
            path.write_text(text + "\n", encoding="utf-8")

    def choose_printout_file(self) -> None:
        hid = self.history_list.selected_id() or (self.last_result.handover_id if self.last_result else "")
        if not hid and self.history:
            hid = self.history[0].id
        if not hid:
            return
        default = str(Path.home() / f"交接班-{clock.now():%Y%m%d-%H%M}.pdf")
        path, _ = QFileDialog.getSaveFileName(self, tr("打印 / 导出交接单…"), default, "PDF (*.pdf);;Text (*.txt)")
        if path:
            try:
                self.export_printout(hid, Path(path))
            except OSError as e:
                self.result.setText(tr("导出失败：{error}").format(error=e.strerror or str(e)))
            else:
                self.result.setText(tr("交接单已导出：{path}").format(path=path))

    def export_items(self, path: Path) -> int:
        rows = []
        for r in range(self.table.rowCount()):
            if self.table.isRowHidden(r):
                continue
            ack = self.table.item(r, COL_ACK).checkState() == Qt.CheckState.Checked
            rows.append([tr("已确认") if ack else tr("未确认")]
                        + [self.table.item(r, c).text() for c in (COL_KIND, COL_ITEM, COL_DETAIL, COL_NOTE)])
        return write_csv(path, [tr(h) for h in ITEM_HEADERS], rows)

    def choose_items_export(self) -> None:
        default = str(Path.home() / f"交接事项-{clock.now():%Y%m%d-%H%M}.csv")
        path, _ = QFileDialog.getSaveFileName(self, tr("导出 CSV"), default, "CSV (*.csv)")
        if path:
            try:
                n = self.export_items(Path(path))
            except OSError as e:
                self.result.setText(tr("导出失败：{error}").format(error=e.strerror or str(e)))
            else:
                self.result.setText(tr("已导出 {n} 行").format(n=n))

    def save_draft(self) -> None:
        """Keep the read-back so far in the cache (never the passwords): a crash or restart loses none of it."""
        self._draft_timer.stop()
        if self.read_only or self.busy or self.shift is None or self._draft_for != self.shift.id:
            return
        fields = {"acks": {k: [a.acknowledged, a.note] for k, a in self.acks.items() if a.acknowledged or a.note},
                  "notes": self.notes.toPlainText(), "next_shift_id": self.next_shift.currentData(),
                  "outgoing_id": self.outgoing.currentData(), "incoming_id": self.incoming.currentData()}
        sid = self.shift.id
        now = clock.now_iso()
        try:  # not waited for: behind a long pull the writer may be busy, and typing must not stall
            future = self.ctx.store.write(lambda c: handover.save_draft(c, sid, fields, now))
        except RuntimeError:  # the cache is closed (shutdown); the form still holds it
            log.warning("handover draft not saved: the cache is closed")
            return
        future.add_done_callback(_log_draft_failure)

    # ---- Private: loading ------------------------------------------------------------------
    def _draft_changed(self, *_args) -> None:
        if not self._restoring and not self.read_only:
            self._draft_timer.start()

    def _restore_draft(self) -> None:
        if self.shift is None or self._draft_for == self.shift.id:
            return
        self._draft_for = self.shift.id
        saved = None if self.read_only else self.ctx.read(handover.load_draft, self.shift.id)
        if not saved:
            return
        self._restoring = True
        try:
            keys = {i.key for i in self.items}
            for key, (acked, note) in (saved.get("acks") or {}).items():
                if key in keys:
                    self.acks[key] = handover.Acknowledgement(bool(acked), note or "")
            if saved.get("notes") and not self.notes.toPlainText():
                self.notes.setPlainText(saved["notes"])
            for combo, name in ((self.next_shift, "next_shift_id"), (self.outgoing, "outgoing_id"),
                                (self.incoming, "incoming_id")):
                i = combo.findData(saved.get(name)) if saved.get(name) else -1
                if i >= 0:
                    combo.setCurrentIndex(i)
        finally:
            self._restoring = False

    def _on_items(self, items, error) -> None:
        self.loading = False
        if error is not None:
            log.error("reading the open items failed", exc_info=error)
            self.progress.setText(tr("读取未结事项失败"))
            return
        self.items = list(items)
        keys = {i.key for i in self.items}
        self.acks = {k: a for k, a in self.acks.items() if k in keys}
        self._restore_draft()
        self._fill_items()
        if self._reload_again:
            self._reload_again = False
            self.reload()
            return
        self.items_loaded.emit()

    def _load_people(self) -> None:
        people = self.ctx.read(roster.duty_people)
        for combo in (self.outgoing, self.incoming):
            keep = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("—", None)
            for p in people:
                combo.addItem(p.name, p.id)
            i = combo.findData(keep)
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
        if self.outgoing.currentData() is None:
            default = self.ctx.user.id if self.ctx.user else None
            if self.outgoing.findData(default) < 0 and self.shift is not None and self.shift.officer_ids:
                default = self.shift.officer_ids[0]
            self.outgoing.setCurrentIndex(max(self.outgoing.findData(default), 0))

    def _load_next_shifts(self) -> None:
        keep = self.next_shift.currentData()
        shifts = self.ctx.read(handover.upcoming, self.shift.id if self.shift else None)
        self.next_shift.blockSignals(True)
        self.next_shift.clear()
        if not shifts:
            self.next_shift.addItem(tr("（没有已排的下一班，请先在“排班”中安排）"), None)
        for s in shifts:
            self.next_shift.addItem(f"{s.starts_at:%m-%d %H:%M}–{s.ends_at:%m-%d %H:%M} · "
                                    f"{'、'.join(s.officer_names) or '—'} · {tr('带班')} {s.leader_name or '—'}", s.id)
        i = self.next_shift.findData(keep)
        self.next_shift.setCurrentIndex(i if i >= 0 else 0)
        self.next_shift.blockSignals(False)
        self._on_next_shift()

    def _on_next_shift(self) -> None:
        sid = self.next_shift.currentData()
        if sid is None:
            return
        nxt = self.ctx.read(roster.get_shift, sid)
        if nxt is not None and nxt.officer_ids and self.incoming.currentData() not in nxt.officer_ids:
            self.incoming.setCurrentIndex(max(self.incoming.findData(nxt.officer_ids[0]), 0))
        self._update_take()

    def _show_shift(self) -> None:
        s = self.shift
        if s is None:
            self.shift_label.setText(tr("当前没有值守中的班次"))
            return
        self.shift_label.setText(tr("交班班次：{span} · 值班员 {officers} · 带班领导 {leader}").format(
            span=f"{s.starts_at:%m-%d %H:%M}–{s.ends_at:%m-%d %H:%M}", officers="、".join(s.officer_names) or "—",
            leader=s.leader_name or "—"))

    # ---- Private: the item table ------------------------------------------------------------
    def _fill_items(self) -> None:
        lang = i18n.current()
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.items))
        for r, it in enumerate(self.items):
            ack = self.acks.setdefault(it.key, handover.Acknowledgement())
            check = QTableWidgetItem()
            check.setData(KeyRole, it.key)
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            check.setFlags(flags | (Qt.ItemFlag.NoItemFlags if self.read_only else Qt.ItemFlag.ItemIsUserCheckable))
            check.setCheckState(Qt.CheckState.Checked if ack.acknowledged else Qt.CheckState.Unchecked)
            cells = [check, QTableWidgetItem(tr(KIND_LABELS.get(it.kind, it.kind))), QTableWidgetItem(it.title),
                     QTableWidgetItem(it.detail(lang)), QTableWidgetItem(ack.note)]
            for c, cell in enumerate(cells):
                if c != COL_ACK:
                    cell.setFlags(flags | (Qt.ItemFlag.ItemIsEditable if c == COL_NOTE and not self.read_only
                                           else Qt.ItemFlag.NoItemFlags))
                    cell.setToolTip(cell.text())
                cell.setData(KeyRole, it.key)
                if it.urgent and c in (COL_KIND, COL_DETAIL):
                    font = cell.font()
                    font.setBold(True)
                    cell.setFont(font)
                self.table.setItem(r, c, cell)
        self.table.setSortingEnabled(True)
        self.table.blockSignals(False)
        for c in (COL_ACK, COL_KIND, COL_DETAIL):
            self.table.resizeColumnToContents(c)
        self.empty_note.setVisible(not self.items)
        self._apply_search(self.search.text())
        if self.table.currentRow() < 0 and self.items:
            self.table.setCurrentCell(0, COL_ACK)
        self._update_take()

    def _relabel_items(self) -> None:
        lang = i18n.current()
        by_key = {i.key: i for i in self.items}
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            it = by_key.get(self.table.item(r, COL_ACK).data(KeyRole))
            if it is not None:
                self.table.item(r, COL_KIND).setText(tr(KIND_LABELS.get(it.kind, it.kind)))
                self.table.item(r, COL_DETAIL).setText(it.detail(lang))
        self.table.blockSignals(False)

    def _on_item_changed(self, cell: QTableWidgetItem) -> None:
        key = cell.data(KeyRole)
        ack = self.acks.setdefault(key, handover.Acknowledgement())
        if cell.column() == COL_ACK:
            ack.acknowledged = cell.checkState() == Qt.CheckState.Checked
        elif cell.column() == COL_NOTE:
            ack.note = cell.text()
        self._update_take()
        self._draft_changed()

    def _apply_search(self, text: str) -> None:
        needle = text.strip().lower()
        for r in range(self.table.rowCount()):
            hay = " ".join(self.table.item(r, c).text().lower() for c in (COL_KIND, COL_ITEM, COL_DETAIL, COL_NOTE))
            self.table.setRowHidden(r, bool(needle) and needle not in hay)

    def _update_take(self) -> None:
        if not hasattr(self, "take_button"):
            return
        total, missing = len(self.items), self.unacknowledged()
        if not self.loading:
            self.progress.setText(tr("已确认 {done} / {total} 项").format(done=total - missing, total=total))
        self.take_button.setEnabled(self.ready())
        if missing and not self.read_only:
            self.take_button.setToolTip(tr("还有 {n} 项未确认").format(n=missing))
        else:
            self.take_button.setToolTip("")

    # ---- Private: signing ---------------------------------------------------------------------
    def _clear_problems(self) -> None:
        for label in (self.items_problem, self.next_problem, self.outgoing_problem, self.incoming_problem):
            show_problem(label, None)

    def _show_problems(self, problems) -> None:
        where = {"items": self.items_problem, "next_shift_id": self.next_problem, "shift_id": self.next_problem,
                 "outgoing": self.outgoing_problem, "incoming": self.incoming_problem}
        for p in problems:
            label = where.get(p.field, self.items_problem)
            show_problem(label, (label.text() + "\n" if label.isVisible() and label.text() else "") + problem_text(p))
        self.result.setText(tr("未交接：请按提示修改"))

    def _on_sealed(self, result, error) -> None:
        self.busy = False
        self.outgoing_password.clear()
        self.incoming_password.clear()
        if isinstance(error, ValidationError):
            self._show_problems(error.problems)
        elif error is not None:
            log.error("the handover could not be written", exc_info=error)
            self.result.setText(tr("交接未保存：{error}").format(error=str(error)))
        elif isinstance(result, list):  # signatures refused
            for refused in result:
                label = self.outgoing_problem if refused.field == "outgoing" else self.incoming_problem
                show_problem(label, refused.message(i18n.current()))
            self.result.setText(tr("未交接：签字核验未通过"))
        else:
            self.last_result = result
            self._draft_for = None  # sealed: the draft went with it, and clearing the form must not save one
            self.result.setText(tr("交接完成：新班次开始值守，日志链头已封存（{head}…）").format(
                head=result.chain_head[:12]))
            self.ctx.publish(ChangeSet({"handover": frozenset([result.handover_id]),
                                        "duty_log_entry": frozenset([result.log_entry_id]),
                                        "shift": frozenset([result.shift_id, result.next_shift_id])}))
            self.acks.clear()
            self.notes.clear()
            self.outgoing.setCurrentIndex(0)
            self.incoming.setCurrentIndex(0)
            self._draft_timer.stop()
            self.reload()
            self.history_list.select_id(result.handover_id)
            self.handed_over.emit(result)
        self._update_take()

    def _fill_history(self) -> None:
        rows = []
        for h in self.history:
            t = clock.parse(h.signed_in_at)
            acked = sum(1 for i in h.items if i.get("acknowledged", True))
            rows.append((h.id, [(f"{t:%Y-%m-%d %H:%M}" if t else "—", t.timestamp() if t else 0),
                                (h.outgoing_name, None), (h.incoming_name, None),
                                (tr("{acked}/{n} 项已确认").format(acked=acked, n=len(h.items)), len(h.items)),
                                ((h.chain_head or "—")[:16], None)]))
        self.history_list.set_rows(rows)
        self.history_list.table.resizeColumnsToContents()


def _log_draft_failure(future) -> None:
    if future.exception() is not None:  # the form still holds it; the next keystroke tries again
        log.error("saving the handover draft failed: %s", future.exception())
