"""值班日志 Duty log: the list (filters, search, export, verify) above the entry bar.

The list is append-only to the officer: no edit, no delete. "更正" (F2) on a selected
entry opens a correction entry pointing at it; both stay in the list, the wrong one
marked 已更正. "校验" walks every console's hash chain off the GUI thread and names
the exact entry where it breaks.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.domain.enums import LogKind
from app.services import duty_log_queries as Q
from app.services.changes import ChangeSet
from app.services.shift_queries import current_shift
from app.services.spreadsheet import spreadsheet_cell
from app.ui import background, i18n
from app.ui.docks import PanelHost
from app.ui.duty_log.entry_bar import EntryBar
from app.ui.duty_log.fields import parse_time
from app.ui.duty_log.incident_dialog import IncidentDialog
from app.ui.duty_log.model import COLUMNS, PAGE, DutyLogModel, first_line, format_time, kind_label
from app.ui.i18n import N_, tr
from app.ui.record_table import record_table

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 250
COALESCE_MS = 200
TIME_RANGES = (("all", N_("全部时间")), ("shift", N_("本班")), ("today", N_("今天")), ("week", N_("近 7 天")),
               ("month", N_("近 30 天")))
BREAK_TEXT = N_("日志链断开于：{time} {kind}，记录人 {author}，“{words}”——{reason}（终端 {device}，此前 {n} 条完好）")  # noqa: E501
REASONS = {"hash": N_("内容被改动"), "prev_hash": N_("链接断开（前一条记录被删除或调换）"),
           "fork": N_("链条分叉（出现两条接续同一记录的条目）")}


class DutyLogPanel(QWidget):
    def __init__(self, host: PanelHost, parent: QWidget | None = None):
        super().__init__(parent, objectName="dutyLogPanel")
        self.host = host
        self.ctx = host.ctx
        self._selected_incident: str | None = None  # what another panel selected
        self._search_hits: tuple[str, ...] | None = None
        self._search_token: object | None = None
        self._verify_state: dict | None = None
        self._export_state: dict | None = None
        self.last_verify: list[Q.ChainReport] | None = None

        self.model = DutyLogModel(self.ctx.read, self)
        self.search = QLineEdit(objectName="logSearch", clearButtonEnabled=True)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.run_search_now)
        self.kind_filter = QComboBox(objectName="kindFilter")
        self.time_filter = QComboBox(objectName="timeFilter")
        self.author_filter = QComboBox(objectName="authorFilter")
        self.incident_only = QCheckBox(objectName="incidentOnly")
        self.incident_only.hide()
        self.export_button = QPushButton(objectName="exportCsv")
        self.verify_button = QPushButton(objectName="verifyChain")
        self.correct_button = QPushButton(objectName="correctEntry")
        self.incident_only.toggled.connect(self._apply_filter)
        self.export_button.clicked.connect(self.choose_export)
        self.verify_button.clicked.connect(self.verify)
        self.correct_button.clicked.connect(self.correct_selected)

        self.status = QLabel(objectName="logStatus")
        self.verify_label = QLabel(objectName="verifyResult", wordWrap=True,
                                   textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(objectName="logProgress", maximumWidth=220)
        self.progress.hide()
        self.cancel_button = QPushButton(objectName="cancelWork")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_work)

        self.table = record_table("dutyLog", self.model)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)  # before enabling: one read
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection)
        self.table.doubleClicked.connect(self._on_double_click)
        self.model.modelReset.connect(self._show_status)
        self.model.rowsInserted.connect(self._show_status)

        self.entry_bar: EntryBar | None = None
        if not host.read_only:
            self.entry_bar = EntryBar(host, shortcut_owner=self)
            self.entry_bar.open_incident_requested.connect(self.ask_open_incident)
            self.entry_bar.saved.connect(self._on_saved)

        filters = QHBoxLayout()
        filters.addWidget(self.search, 3)
        for w in (self.kind_filter, self.time_filter, self.author_filter):
            filters.addWidget(w, 1)
        filters.addWidget(self.incident_only)
        actions = QHBoxLayout()
        actions.addWidget(self.status, 1)
        actions.addWidget(self.progress)
        actions.addWidget(self.cancel_button)
        if not host.read_only:
            actions.addWidget(self.correct_button)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.export_button)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(filters)
        top_layout.addLayout(actions)
        top_layout.addWidget(self.verify_label)
        top_layout.addWidget(self.table, 1)
        self.verify_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        if self.entry_bar is not None:
            self.splitter = QSplitter(Qt.Orientation.Vertical)
            self.splitter.addWidget(top)
            # In a short dock the form scrolls rather than squeezing the list to nothing.
            form_scroll = QScrollArea(objectName="entryBarScroll")
            form_scroll.setWidgetResizable(True)
            form_scroll.setFrameShape(QFrame.Shape.NoFrame)
            form_scroll.setWidget(self.entry_bar)
            top.setMinimumHeight(180)
            self.splitter.addWidget(form_scroll)
            self.splitter.setStretchFactor(0, 1)
            self.splitter.setStretchFactor(1, 0)
            self._split_done = False
            self.splitter.setChildrenCollapsible(False)
            layout.addWidget(self.splitter)
        else:
            layout.addWidget(top)

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS, timeout=self._run_search)
        self._changes_timer = QTimer(self, singleShot=True, interval=COALESCE_MS, timeout=self._flush_changes)
        self._pending_changes: ChangeSet | None = None
        self._poll = QTimer(self, interval=100, timeout=self._poll_work)
        shortcuts = (("Ctrl+F", self.focus_search), ("F2", self.correct_selected),
                     ("Ctrl+Shift+E", self.choose_export), ("Ctrl+Shift+V", self.verify),
                     ("Escape", self.cancel_work))
        for seq, slot in shortcuts:
            QShortcut(QKeySequence(seq), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
                      activated=slot)
        host.changes.changes_applied.connect(self._on_changes)
        host.selection.selection_changed.connect(self._on_shared_selection)
        i18n.notifier().language_changed.connect(self.retranslate)
        self._fill_filters()
        for combo in (self.kind_filter, self.time_filter, self.author_filter):
            combo.currentIndexChanged.connect(self._apply_filter)  # after filling: one read at start, not four
        self.retranslate()
        self.model.set_filter(self.current_filter())
        self._load_corrections()
        self.setTabOrder(self.search, self.kind_filter)

    # ---- Public API ------------------------------------------------------------------------
    def current_filter(self) -> Q.LogFilter:
        kind = self.kind_filter.currentData()
        since = until = None
        rng = self.time_filter.currentData()
        now = clock.now()
        if rng == "shift":
            shift = self.ctx.read(current_shift, now)
            since = clock.iso(shift.starts_at) if shift else clock.iso(now.replace(hour=0, minute=0, second=0,
                                                                                     microsecond=0))
        elif rng == "today":
            since = clock.iso(now.replace(hour=0, minute=0, second=0, microsecond=0))
        elif rng in ("week", "month"):
            since = clock.iso(now - dt.timedelta(days=7 if rng == "week" else 30))
        incident = self._selected_incident if self.incident_only.isChecked() else None
        return Q.LogFilter(kinds=(kind,) if kind else (), since=since, until=until, incident_id=incident,
                           author_id=self.author_filter.currentData(), hit_ids=self._search_hits,
                           ascending=self.model.filter.ascending)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def run_search_now(self) -> None:
        self._search_timer.stop()
        self._run_search()

    def correct_selected(self) -> None:
        if self.entry_bar is None:
            return
        row = self._selected_row()
        if row is None:
            self.status.setText(tr("先选中要更正的记录。"))
            return
        summary = (f"{format_time(row.occurred_at)} {kind_label(row.kind)} {row.author_name or ''}："
                   f"{first_line(row.body, 40)}")
        self.entry_bar.start_correction(row.id, summary, row.incident_id)

    def select_entry(self, entry_id: str, max_pages: int = 50) -> bool:
        """Scroll to an entry, fetching pages until it is loaded (within ``max_pages``)."""
        for _ in range(max_pages):
            r = self.model.row_of(entry_id)
            if r is not None:
                self.table.selectRow(r)
                self.table.scrollTo(self.model.index(r, 0))
                return True
            if not self.model.has_more():
                break
            self.model.fetchMore(QModelIndex())
        return False

    def ask_open_incident(self) -> None:
        if self.entry_bar is None:
            return
        values = self.entry_bar.values()
        self.incident_dialog = IncidentDialog(values.get("place", ""), parse_time(self.entry_bar.time_edit.text()),
                                              self)
        self.incident_dialog.accepted.connect(lambda: self.entry_bar.save(self.incident_dialog.values()))
        self.incident_dialog.open()

    def verify(self) -> None:
        if self._verify_state is not None:
            return
        state = {"done": 0, "total": 0, "stop": False}
        self._verify_state = state

        def progress(done: int, total: int) -> None:
            state["done"], state["total"] = done, total

        def work():
            return self.ctx.read(Q.verify_chains, progress, lambda: state["stop"], self.ctx.device_id)

        self._start_progress(tr("正在校验日志链…"))
        self._verify_job = background.run(self, work, done=self._verify_done)

    def choose_export(self) -> None:
        dialog = QFileDialog(self, tr("导出 CSV"), str(Path.home() / "duty_log.csv"), "CSV (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(self.export_csv)
        dialog.open()

    def export_csv(self, path: str) -> None:
        """Write every row of the filtered list (page by page, off the GUI thread) to ``path``."""
        if self._export_state is not None:
            return
        state = {"done": 0, "total": 0, "stop": False}
        self._export_state = state
        headers = [tr(c[1]) for c in COLUMNS] + [tr("更正的记录"), tr("未上传"), "id"]
        flt, read = self.model.filter, self.ctx.read
        lang = i18n.current()

        def work():
            from app.services.sync_queries import pending_ids

            waiting = read(pending_ids, "duty_log_entry")
            after = None
            with open(path, "w", newline="", encoding="utf-8-sig") as fh:
                out = csv.writer(fh)
                out.writerow(headers)
                while not state["stop"]:
                    rows = read(Q.page, flt, after, 2000)
                    for r in rows:
                        out.writerow([spreadsheet_cell(c) for c in (
                            r.occurred_at, _kind(r.kind, lang), r.incident_title or "", r.author_name or "",
                            r.body, r.corrects_id or "", "1" if r.id in waiting else "", r.id)])
                    state["done"] += len(rows)
                    if len(rows) < 2000:
                        return state["done"]
                    after = rows[-1].key
            return None

        self._start_progress(tr("正在导出…"))
        self._export_job = background.run(self, work, done=self._export_done)

    def cancel_work(self) -> None:
        for state in (self._verify_state, self._export_state):
            if state is not None:
                state["stop"] = True

    def work_running(self) -> bool:
        return self._verify_state is not None or self._export_state is not None

    def retranslate(self) -> None:
        self.search.setPlaceholderText(tr("搜索日志（任意长度的中文或其他文字）Ctrl+F"))
        self.kind_filter.setItemText(0, tr("全部类别"))
        for i in range(1, self.kind_filter.count()):
            self.kind_filter.setItemText(i, kind_label(self.kind_filter.itemData(i)))
        for i, (_, label) in enumerate(TIME_RANGES):
            self.time_filter.setItemText(i, tr(label))
        self.author_filter.setItemText(0, tr("全部记录人"))
        self.export_button.setText(tr("导出 CSV"))
        self.export_button.setToolTip(tr("把筛选后的全部记录导出为 CSV（Ctrl+Shift+E）"))
        self.verify_button.setText(tr("校验日志链"))
        self.verify_button.setToolTip(tr("逐条核对每台终端的哈希链，指出被改动的记录（Ctrl+Shift+V）"))
        self.correct_button.setText(tr("更正 F2"))
        self.correct_button.setToolTip(tr("为选中的记录写一条更正（原记录保留，标为已更正）"))
        self.cancel_button.setText(tr("取消"))
        self._fit_columns()
        self._show_incident_option()
        self._show_status()
        if self.last_verify is not None:
            self._show_verify(self.last_verify)

    # ---- Qt overrides ----------------------------------------------------------------------
    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.PolishRequest):
            self._fit_columns()
        super().changeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802
        self._fit_columns()
        super().showEvent(event)
        if self.entry_bar is not None and not self._split_done:
            self._split_done = True
            QTimer.singleShot(0, self._split_log_and_form)

    def _split_log_and_form(self) -> None:
        # Once the dock has its height: the log keeps three fifths, the form (which scrolls) the rest.
        total = sum(self.splitter.sizes())
        if total > 0:
            self.splitter.setSizes([total * 3 // 5, total - total * 3 // 5])

    def closeEvent(self, event) -> None:  # noqa: N802
        self.cancel_work()
        if self.entry_bar is not None:
            self.entry_bar.flush_draft()
        super().closeEvent(event)

    # ---- Private ---------------------------------------------------------------------------
    def _fit_columns(self) -> None:
        # Time, kind and author take what their text needs; the incident a fixed share; the text the rest.
        fm = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        pad = fm.horizontalAdvance("M") * 2
        kind_w = max(fm.horizontalAdvance(kind_label(k.value)) for k in LogKind)
        widths = (fm.horizontalAdvance("2026-11-23 23:59") + pad + 20, kind_w + pad,
                  fm.horizontalAdvance("11·23越秀北路暴雨积水事件") + pad, fm.horizontalAdvance("值班员值班员") + pad)
        for col, w in enumerate(widths):
            header.resizeSection(col, max(w, header.sectionSizeHint(col)))

    def _fill_filters(self) -> None:
        self.kind_filter.addItem("", None)
        for k in LogKind:
            self.kind_filter.addItem(k.label(i18n.current()), k.value)
        for key, _ in TIME_RANGES:
            self.time_filter.addItem("", key)
        self.author_filter.addItem("", None)
        for uid, name in self.ctx.read(Q.authors):
            self.author_filter.addItem(name, uid)

    def _apply_filter(self, *_args) -> None:
        self.model.set_filter(self.current_filter())

    def search_running(self) -> bool:
        return self._search_token is not None

    def _run_search(self) -> None:
        """Search off the GUI thread (a one-character query on a million entries takes ~0.1 s)."""
        text = self.search.text()
        if not text.strip():
            self._search_token, self._search_hits = None, None
            self._apply_filter()
            return
        token = self._search_token = object()
        base, read = self.current_filter(), self.ctx.read

        def work():
            hits = read(Q.search_ids, text)
            flt = dataclasses.replace(base, hit_ids=hits)
            return flt, read(Q.page, flt, None, PAGE)

        self._search_job = background.run(self, work, done=lambda r, e: self._search_done(token, r, e))

    def _search_done(self, token: object, result, error) -> None:
        if token is not self._search_token:
            return  # the officer typed on; a newer search is under way
        self._search_token = None
        if error is not None:
            log.error("search failed: %s", error)
            self.status.setText(tr("搜索失败：") + str(error))
            return
        flt, first = result
        self._search_hits = flt.hit_ids
        self.model.set_filter(flt, first=first)

    def _show_status(self, *_args) -> None:
        n = self.model.loaded()
        text = tr("已显示 {n} 条").format(n=f"{n:,}")
        if self.model.has_more():
            text += tr("，向下滚动载入更多")
        if self._search_hits is not None and len(self._search_hits) >= Q.SEARCH_LIMIT:
            text += " · " + tr("搜索结果仅取最新 {n} 条，请加词缩小范围").format(n=f"{Q.SEARCH_LIMIT:,}")
        self.status.setText(text)

    def _show_incident_option(self) -> None:
        if self._selected_incident is None:
            self.incident_only.hide()
            return
        title = self.ctx.read(Q.incident_title, self._selected_incident) or self._selected_incident[:8]
        self.incident_only.setText(tr("只看此事件：{title}").format(title=first_line(title, 24)))
        self.incident_only.show()

    def _selected_row(self) -> Q.LogRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _on_table_selection(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = self._selected_row()
        if row is not None and row.incident_id:
            self.host.selection.select("incident", [row.incident_id], source=self)

    def _on_double_click(self, index: QModelIndex) -> None:
        row = self.model.row_at(index.row())
        if row is None:
            return
        fixes = self.model.corrections_of(row.id)
        target = fixes[-1] if fixes else row.corrects_id
        if target and not self.select_entry(target):
            self.status.setText(tr("所链接的记录不在当前筛选结果中。"))

    def _on_shared_selection(self, entity: str, ids: tuple, source: object) -> None:
        if entity != "incident" or source is self:
            return
        self._selected_incident = ids[0] if ids else None
        if self._selected_incident is None:
            self.incident_only.setChecked(False)
        self._show_incident_option()
        if self.incident_only.isChecked():
            self._apply_filter()
        if self.entry_bar is not None and self._selected_incident and self.entry_bar.incident_combo.currentIndex() == 0:
            self.entry_bar.set_incident(self._selected_incident)

    def _on_changes(self, changes: ChangeSet) -> None:
        if changes.touches("duty_log_entry", "incident", "user"):
            self._pending_changes = changes if self._pending_changes is None else self._pending_changes.merge(changes)
            if not self._changes_timer.isActive():
                self._changes_timer.start()
        elif changes.touches("outbox"):
            self.model.reload_pending()

    def _flush_changes(self) -> None:
        changes, self._pending_changes = self._pending_changes, None
        if changes is None:
            return
        if changes.touches("incident") and self.entry_bar is not None:
            self.entry_bar.reload_incidents()
        if changes.touches("duty_log_entry"):
            ids = changes.entities["duty_log_entry"]
            if self._search_hits is not None and self.search.text().strip():
                self._run_search()  # the new rows may match: search again, off the GUI thread
                return
            self.model.apply_changes(ids)
            if not ids:
                self._load_corrections()
        elif changes.touches("incident", "user"):
            self.model.reload()

    def _on_saved(self, entry_id: str, _incident_id: object) -> None:
        self.model.apply_changes(frozenset({entry_id}))
        self.select_entry(entry_id, max_pages=1)

    def _load_corrections(self) -> None:
        self._corrections_job = background.run(self, self.ctx.read, Q.corrected_ids, done=self._corrections_done)

    def _corrections_done(self, result, error) -> None:
        if error is not None:
            log.error("reading the corrections failed: %s", error)
            return
        self.model.set_corrected(result)

    def _start_progress(self, text: str) -> None:
        self.status.setText(text)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self._poll.start()

    def _poll_work(self) -> None:
        state = self._verify_state or self._export_state
        if state is None:
            return
        if state["total"]:
            self.progress.setRange(0, state["total"])
            self.progress.setValue(state["done"])
        elif self._export_state is not None:
            self.status.setText(tr("正在导出… 已写 {n} 条").format(n=f"{state['done']:,}"))

    def _stop_progress(self) -> None:
        if not self.work_running():
            self._poll.stop()
            self.progress.hide()
            self.cancel_button.hide()

    def _verify_done(self, result, error) -> None:
        self._verify_state = None
        self._stop_progress()
        if isinstance(error, Q.Cancelled):
            self.status.setText(tr("已取消校验。"))
            return
        if error is not None:
            log.error("verifying the chain failed: %s", error)
            self.status.setText(tr("校验失败：") + str(error))
            return
        self.last_verify = result
        self._show_verify(result)
        self._show_status()

    def _show_verify(self, reports: list[Q.ChainReport]) -> None:
        broken = [r for r in reports if not r.ok]
        total = sum(r.total for r in reports)
        if not broken:
            text = tr("日志链完整：{d} 台终端、{n} 条记录逐条核对无误。").format(d=len(reports), n=f"{total:,}")
            partial = sum(1 for r in reports if r.gaps)
            if partial:
                text += tr("其中 {p} 台终端的日志本机只存有辖区内的部分，已存部分逐条核对无误。").format(p=partial)
            self.verify_label.setProperty("alert", False)
        else:
            lines = []
            for r in broken:
                b = r.broken
                lines.append(tr(BREAK_TEXT).format(
                    time=format_time(b.occurred_at), kind=kind_label(b.kind),
                    author=b.author_name or (b.author_id or "—")[:8],
                    words=first_line(b.body, 30), reason=tr(REASONS.get(r.reason or "", r.reason or "")),
                    device=(r.device_id or "")[:8], n=f"{r.checked:,}"))
            text = "\n".join(lines)
            self.verify_label.setProperty("alert", True)
        self.verify_label.setObjectName("formError" if broken else "verifyResult")
        self.verify_label.style().unpolish(self.verify_label)
        self.verify_label.style().polish(self.verify_label)
        self.verify_label.setText(text)
        self.verify_label.show()

    def _export_done(self, result, error) -> None:
        self._export_state = None
        self._stop_progress()
        if error is not None:
            log.error("export failed: %s", error)
            self.status.setText(tr("导出失败：") + str(error))
        elif result is None:
            self.status.setText(tr("已取消导出（文件不完整）。"))
        else:
            self.status.setText(tr("已导出 {n} 条。").format(n=f"{result:,}"))


def _kind(code: str, lang: str) -> str:
    try:
        return LogKind(code).label(lang)
    except ValueError:
        return code

