"""视频会商 Video consultation: the consultations, the call's tiles, minutes and decisions, playback.

Left: consultations (search, sort, CSV). Centre: the call: tiles in grid or speaker view,
mute, camera, recording, field feeds, and a clear banner when video is unavailable.
Right: minutes (纪要) and decisions (决定事项) typed during the call, written to the duty
log with the call time; the log lines of the call, and a playback tile that a click on
a line seeks to that moment of the recording.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.validate import ValidationError, parse_time
from app.services import consultations as cs
from app.services.incident_queries import incident_rows, open_incident_ids
from app.ui import background, i18n
from app.ui.docks import PanelHost
from app.ui.i18n import tr
from app.ui.record_table import record_table
from app.ui.video.call import CallController
from app.ui.video.dialogs import FeedDialog, ScheduleDialog
from app.ui.video.models import CallLogModel, ConsultationsModel, IdRole, SortRole
from app.ui.video.tiles import TileStage, VideoTile

log = logging.getLogger(__name__)


def write_csv(rows, path: Path) -> int:
    """UTF-8 with a BOM (Excel in Chinese opens it); a leading = + - @ is quoted, never a formula."""
    n = -1
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        for row in rows:
            w.writerow(["'" + c if c[:1] in "=+-@" and c[:1] else c for c in map(str, row)])
            n += 1
    return max(n, 0)


def _open_incidents(conn):
    ids = open_incident_ids(conn)[:200]
    rows = incident_rows(conn, ids)
    return [(i, rows[i].title) for i in ids if i in rows]


class VideoPanel(QWidget):
    def __init__(self, host: PanelHost, parent: QWidget | None = None, *, media_size=(640, 480), fps: float = 30):
        super().__init__(parent, objectName="videoPanel")
        self.host = host
        self.ctx = host.ctx
        self.read_only = host.read_only
        self.call = CallController(self.ctx, host.settings, self, width=media_size[0], height=media_size[1], fps=fps)
        self.active_id: str | None = None  # the consultation whose call this console is in
        self.selected_incident: str | None = None
        self.selected_warning: str | None = None  # the newer of the two selections wins
        self._player_job = None

        # ---- left: the consultations
        self.list_label = QLabel(objectName="sectionLabel")
        self.search = QLineEdit(objectName="consultationSearch", clearButtonEnabled=True)
        self.model = ConsultationsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = record_table("consultationTable", self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)  # the subject keeps a readable width; the rest scrolls
        header.resizeSection(1, 220)
        header.resizeSection(2, 150)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        self.table.doubleClicked.connect(lambda _i: self.join_selected())
        self.btn_schedule = QPushButton(objectName="scheduleButton", clicked=self.schedule)
        self.btn_from_incident = QPushButton(objectName="fromIncidentButton", clicked=self.start_from_incident)
        self.btn_join = QPushButton(objectName="joinButton", clicked=self.join_selected)
        self.btn_end = QPushButton(objectName="endButton", clicked=self.end_call)
        self.btn_export = QPushButton(objectName="exportButton", clicked=lambda: self.export_csv())
        left = QWidget(objectName="consultationList")
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list_label)
        ll.addWidget(self.search)
        ll.addWidget(self.table, 1)
        for pair in ((self.btn_schedule, self.btn_from_incident), (self.btn_join, self.btn_end)):
            row = QHBoxLayout()
            for b in pair:
                row.addWidget(b)
            ll.addLayout(row)
        ll.addWidget(self.btn_export)

        # ---- centre: the call
        self.call_title = QLabel(objectName="callTitle")
        self.call_status = QLabel(objectName="callStatus")
        self.banner = QLabel(objectName="videoUnavailable", wordWrap=True)
        self.banner.setStyleSheet("background:#8e2b20;color:white;padding:8px;font-weight:bold;")
        self.banner.hide()
        self.btn_layout = QToolButton(objectName="layoutButton", checkable=True, toggled=self._toggle_layout)
        self.btn_mute = QToolButton(objectName="muteButton", checkable=True, toggled=self.call.set_muted)
        self.btn_camera = QToolButton(objectName="cameraButton", checkable=True, toggled=self.call.set_camera_off)
        self.btn_record = QToolButton(objectName="recordButton", checkable=True, toggled=self._toggle_recording)
        self.btn_feed = QToolButton(objectName="feedButton", clicked=self.add_feed)
        self.btn_share = QToolButton(objectName="shareFeedButton", checkable=True, toggled=self._toggle_share)
        self.btn_mute.toggled.connect(self._mark_self_muted)
        # what this console hears: master volume of the received voices, and a word when nothing can play
        self.volume_label = QLabel(objectName="volumeLabel")
        self.volume = QSlider(Qt.Orientation.Horizontal, objectName="volumeSlider", minimum=0, maximum=150,
                              singleStep=5, pageStep=25)
        self.volume.setValue(int(round(self.call.mixer.volume * 100)))
        self.volume.setFixedWidth(110)
        self.volume.valueChanged.connect(self.call.set_volume)
        self.volume.valueChanged.connect(lambda _v: self._retranslate_volume())
        self.volume_label.setBuddy(self.volume)
        self.audio_status = QLabel(objectName="audioStatus")
        self.audio_status.setStyleSheet("color:#c0392b;font-weight:bold;")
        self.audio_status.hide()
        self.call.audio_state.connect(self._audio_state)
        # our LAN relay turned someone away (no room key): said here, and in the console's log
        self.refused_status = QLabel(objectName="joinRefused", wordWrap=True)
        self.refused_status.setStyleSheet("background:#fdecea;color:#a93226;padding:4px 8px;font-weight:bold;")
        self.refused_status.hide()
        self.call.join_refused.connect(self._join_refused)
        bar = QHBoxLayout()
        for b in (self.btn_layout, self.btn_mute, self.btn_camera, self.btn_record, self.btn_feed, self.btn_share):
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(self.volume_label)
        bar.addWidget(self.volume)
        bar.addWidget(self.audio_status)
        bar.addWidget(self.call_status)
        self.stage = TileStage()
        self.empty_stage = QLabel(objectName="stageEmpty", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        centre = QWidget(objectName="callArea")
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.call_title)
        cl.addWidget(self.banner)
        cl.addLayout(bar)
        cl.addWidget(self.refused_status)
        cl.addWidget(self.empty_stage, 1)
        cl.addWidget(self.stage, 4)

        # ---- right: minutes, decisions, the call's log, playback
        self.minutes_label = QLabel(objectName="sectionLabel")
        self.minute_edit = QPlainTextEdit(objectName="minuteEdit")
        self.minute_edit.setTabChangesFocus(True)
        self.minute_edit.setFixedHeight(70)
        self.minute_error = QLabel(objectName="fieldError", wordWrap=True)
        self.minute_error.setStyleSheet("color:#c0392b;")
        self.minute_error.hide()
        self.btn_minute = QPushButton(objectName="minuteButton", clicked=lambda: self.record_minute("minute"))
        self.btn_decision = QPushButton(objectName="decisionButton", clicked=lambda: self.record_minute("decision"))
        self.log_model = CallLogModel(self)
        self.log_proxy = QSortFilterProxyModel(self)
        self.log_proxy.setSourceModel(self.log_model)
        self.log_proxy.setSortRole(SortRole)
        self.log_table = record_table("callLogTable", self.log_proxy)
        self.log_table.setSortingEnabled(True)
        self.log_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for col in (0, 1):
            self.log_table.horizontalHeader().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.log_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.log_table.activated.connect(self._seek_to_entry)
        self.log_table.clicked.connect(self._seek_to_entry)
        self.player_label = QLabel(objectName="sectionLabel")
        self.player = QLabel(objectName="playerTile", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.player.setMinimumHeight(150)
        self.player.setStyleSheet("background:#14181e;color:#ddd;")
        self.player_time = QLabel(objectName="playerTime")
        right = QWidget(objectName="minutesArea")
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.minutes_label)
        rl.addWidget(self.minute_edit)
        rl.addWidget(self.minute_error)
        row = QHBoxLayout()
        row.addWidget(self.btn_minute)
        row.addWidget(self.btn_decision)
        rl.addLayout(row)
        rl.addWidget(self.log_table, 2)
        rl.addWidget(self.player_label)
        rl.addWidget(self.player, 1)
        rl.addWidget(self.player_time)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="videoSplitter")
        for w in (left, centre, right):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([440, 1040, 440])
        # A dock shares the window with the log and the map: let the columns squeeze (clipping
        # their buttons) rather than force the whole window wider than the screen.
        for w, least in ((left, 180), (centre, 260), (right, 180)):
            w.setMinimumWidth(least)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 8)
        lay.addWidget(self.splitter)

        self.tiles: dict[str, VideoTile] = {}
        self._refresh_timer = QTimer(self, singleShot=True, interval=200, timeout=self.refresh)
        self.call.bridge.image.connect(self._on_image)
        self.call.tile_added.connect(self._add_tile)
        self.call.tile_removed.connect(self._remove_tile)
        self.call.tile_state.connect(self._tile_state)
        self.call.call_state.connect(self._call_state)
        self.call.levels.connect(self._levels)
        host.changes.changes_applied.connect(self._on_changes)
        host.selection.selection_changed.connect(self._on_selection)
        self.selected_incident = next(iter(host.selection.current("incident")), None)

        self._shortcuts = []
        for keys, fn in (("Ctrl+Return", lambda: self.record_minute("minute")),
                         ("Ctrl+Shift+Return", lambda: self.record_minute("decision")),
                         ("Ctrl+Shift+M", self.btn_mute.toggle), ("Ctrl+Shift+K", self.btn_camera.toggle),
                         ("Ctrl+Shift+G", self.btn_layout.toggle), ("Ctrl+Shift+R", self.btn_record.toggle),
                         ("Ctrl+F", self.search.setFocus)):
            sc = QShortcut(QKeySequence(keys), self, activated=fn)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self._shortcuts.append(sc)
        i18n.notifier().language_changed.connect(self.retranslate)
        app = QApplication.instance()
        if app is not None:  # a dock is never closed on quit: end the call (log line, peers told) here
            app.aboutToQuit.connect(self.shutdown)
        self.retranslate()
        self.refresh()
        self._update_actions()

    # ---- data --------------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.current_id()
        try:
            rows = self.ctx.read(cs.list_consultations)
        except Exception:
            log.exception("consultations read failed")
            return
        self.model.set_rows(rows)
        if current:
            self.select_consultation(current)
        self._refresh_log()
        self._update_actions()

    def _refresh_log(self) -> None:
        cid = self.active_id or self.current_id()
        self.log_model.set_rows(self.ctx.read(cs.call_log, cid) if cid else [])

    def _on_changes(self, changes) -> None:
        # coalesced: a sync page of many log lines costs one re-read, not one per line
        if changes.touches("consultation", "duty_log_entry", "incident") and not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _on_selection(self, entity: str, ids: tuple, source) -> None:
        if entity == "feed" and ids and source is not self and ids[0] in self.tiles:
            self.show_feed(ids[0])
            return
        if entity in ("incident", "warning") and source is not self:
            self.selected_incident = ids[0] if ids and entity == "incident" else None
            self.selected_warning = ids[0] if ids and entity == "warning" else None
            self._update_actions()

    def show_feed(self, feed_id: str) -> None:
        """Bring a feed forward (chosen on the map's card): speaker view on its tile, dock in front."""
        self.btn_layout.setChecked(True)
        self._pinned = feed_id  # stays the big tile until the officer switches back to the grid
        self.stage.set_speaker(feed_id)
        self.tiles[feed_id].setFocus(Qt.FocusReason.OtherFocusReason)
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()

    def current_id(self) -> str | None:
        idx = self.table.currentIndex()
        return idx.data(IdRole) if idx.isValid() else None

    def current_row(self):
        cid = self.current_id()
        return next((r for r in self.model.rows if r.id == cid), None)

    def select_consultation(self, cid: str) -> None:
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if idx.data(IdRole) == cid:
                self.table.setCurrentIndex(idx)
                return

    def _on_row(self, current, _previous) -> None:
        cid = current.data(IdRole) if current.isValid() else None
        if cid:
            self.host.selection.select("consultation", (cid,), source=self)
        if self.active_id is None:
            self._refresh_log()
        self._update_actions()

    # ---- actions -----------------------------------------------------------------------------
    def _update_actions(self) -> None:
        row = self.current_row()
        editable = not self.read_only
        in_call = self.active_id is not None
        self.btn_schedule.setEnabled(editable)
        self.btn_from_incident.setEnabled(editable and not in_call and
                                          (self.selected_incident or self.selected_warning) is not None)
        self.btn_join.setEnabled(editable and row is not None and row.status != "ended" and not in_call)
        self.btn_end.setEnabled(editable and in_call)
        live_target = in_call or (row is not None and row.status == "live")
        for w in (self.btn_minute, self.btn_decision, self.minute_edit):
            w.setEnabled(editable and live_target)
        for b in (self.btn_mute, self.btn_camera, self.btn_record):
            b.setEnabled(in_call)
        if not in_call:
            self.audio_status.hide()
        self.btn_share.setEnabled(editable and in_call and (bool(self.call.feeds) or self.btn_share.isChecked()))
        self.btn_feed.setEnabled(editable)
        self.empty_stage.setVisible(not self.tiles)
        self.stage.setVisible(bool(self.tiles))

    def schedule(self) -> str | None:
        dialog = ScheduleDialog(self.ctx.read(_open_incidents), self, incident_id=self.selected_incident)
        if not dialog.exec():
            return None
        v = dialog.values()
        try:
            cid = cs.schedule(self.ctx, title=v["title"], incident_id=v["incident_id"],
                              scheduled_at=v["scheduled_at"], participants=v["participants"], agenda=v["agenda"])
        except ValidationError as e:
            QMessageBox.warning(self, tr("未能安排"), "\n".join(p.message(i18n.current()) for p in e.problems))
            return None
        self.refresh()
        self.select_consultation(cid)
        return cid

    def start_from_incident(self) -> str | None:
        """One step: a consultation about the selected incident (or warning), started, logged, joined."""
        if self.active_id is not None or self.read_only:
            return None
        if self.selected_incident is not None:
            cid = cs.start_from_incident(self.ctx, self.selected_incident)
        elif self.selected_warning is not None:
            cid = cs.start_from_warning(self.ctx, self.selected_warning)
        else:
            return None
        self.refresh()
        self.select_consultation(cid)
        self._join(cid)
        return cid

    def join_selected(self) -> None:
        row = self.current_row()
        if row is None or row.status == "ended" or self.active_id is not None or self.read_only:
            return
        if row.status == "scheduled":
            cs.start(self.ctx, row.id)
        self._join(row.id)

    def _join(self, cid: str) -> None:
        rec = self.ctx.read(cs.get_consultation, cid)
        self.active_id = cid
        self.call.join(cid, incident_id=rec.get("incident_id"), started_at=rec.get("started_at"))
        self.call_title.setText(rec["title"])
        self.refresh()

    def end_call(self) -> None:
        cid = self.active_id
        if cid is None:
            return
        path = self.call.stop_recording()
        for b in (self.btn_record, self.btn_share):
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)
        self.call.shared_feed = None
        self.call.leave()
        self.active_id = None
        try:
            cs.end(self.ctx, cid, recording=str(path) if path else None)
        except ValueError:
            pass  # someone else ended it meanwhile
        self.call_title.clear()
        self.refresh()

    def record_minute(self, kind: str) -> str | None:
        cid = self.active_id or (self.current_id() if (r := self.current_row()) and r.status == "live" else None)
        text = self.minute_edit.toPlainText().strip()
        if cid is None or self.read_only:
            return None
        if not text:
            self.minute_error.setText(tr("请先输入纪要或决定的内容"))
            self.minute_error.show()
            self.minute_edit.setFocus()
            return None
        t = self.call.call_time() if self.active_id == cid else None
        try:
            fn = cs.add_minute if kind == "minute" else cs.add_decision
            log_id = fn(self.ctx, cid, text, call_time_s=t)
        except ValidationError as e:
            self.minute_error.setText(e.problems[0].message(i18n.current()))
            self.minute_error.show()
            return None  # the text stays in the box: nothing typed is lost
        self.minute_error.hide()
        self.minute_edit.clear()
        self._refresh_log()
        return log_id

    def add_feed(self, name: str | None = None, url: str | None = None, position=None) -> str | None:
        if name is None or url is None:
            dialog = FeedDialog(self)
            if not dialog.exec():
                return None
            v = dialog.values()
            name, url, position = v["name"], v["url"], v["position"]
        fid = self.call.add_feed(name, url, position=position if isinstance(position, tuple) else None)
        self._update_actions()
        return fid

    def export_csv(self, path: str | None = None) -> int:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, tr("导出会商列表"), "consultations.csv", "CSV (*.csv)")
            if not path:
                return 0
        order = [self.proxy.mapToSource(self.proxy.index(r, 0)).row() for r in range(self.proxy.rowCount())]
        return write_csv(self.model.csv_rows(order), Path(path))

    # ---- the call's tiles ----------------------------------------------------------------------
    def _add_tile(self, source: str, name: str, kind: str) -> None:
        if source in self.tiles:
            return
        tile = VideoTile(source, name, kind)
        tile.resized.connect(self.call.bridge.set_target)
        tile.audio_mute_toggled.connect(self.call.set_peer_audio_muted)
        self.tiles[source] = tile
        self.stage.add(tile)
        self._update_actions()

    def _remove_tile(self, source: str) -> None:
        if self.tiles.pop(source, None) is not None:
            self.stage.remove(source)
        self._update_actions()

    def _on_image(self, source: str, img: QImage) -> None:
        tile = self.tiles.get(source)
        if tile is not None:
            tile.set_image(img)

    def _tile_state(self, source: str, state: str, detail) -> None:
        tile = self.tiles.get(source)
        if tile is not None:
            tile.set_state("live" if state == "connected" else state, detail)

    def _mark_self_muted(self, muted: bool) -> None:
        tile = self.tiles.get(self.call.self_id or "")
        if tile is not None:
            tile.muted = muted
            tile.update()

    def _levels(self, levels: dict) -> None:
        if not levels:
            return
        if getattr(self, "_pinned", None) in self.tiles:
            return
        loudest, level = max(levels.items(), key=lambda kv: kv[1])
        self.stage.set_speaker(loudest if level > 0.02 else None)

    def _audio_state(self, state: str) -> None:
        self._last_audio_state = state
        self.audio_status.setVisible(state == "no_device")
        self.audio_status.setText(tr("无音频输出设备"))
        self.audio_status.setToolTip(tr("本机没有可用的扬声器/耳机：听不到其他参会方，视频和纪要照常"))

    def _retranslate_volume(self) -> None:
        self.volume_label.setText(tr("音量 {v}%").format(v=self.volume.value()))
        self.volume.setToolTip(tr("收听音量（所有参会方）；右键或 M 键关闭单个参会方的声音"))
        self.volume.setAccessibleName(tr("收听音量"))

    def _join_refused(self, room: str, name: str, address: str) -> None:
        self._last_refusal = (name, address)
        self._show_refusals()

    def _show_refusals(self) -> None:
        name, address = self._last_refusal
        last = tr("最近一次：{name}，来自 {addr}").format(name=name or "?", addr=address or "?")
        self.refused_status.setText(tr("未受邀的入会请求已拒绝（{n} 次）").format(n=self.call.refused_joins)
                                    + " · " + last)
        self.refused_status.setToolTip(tr("本席位的局域网信令中继拒绝了没有会商密钥的入会请求") + "。" + last)
        self.refused_status.show()

    def _call_state(self, state: str, detail: str) -> None:
        self._last_call_state = (state, detail)
        self.banner.setVisible(state in ("unavailable", "not_invited"))
        if state == "unavailable":
            self.banner.setText(tr("视频不可用：信令服务器和局域网席位均无响应。请改用音频或电话会商。")
                                + "\n" + detail)
        elif state == "not_invited":
            self.banner.setText(tr("未受邀：局域网信令中继不认可本席位的会商密钥，拒绝入会。")
                                + tr("请待会商记录同步到本席位后重试，或改用电话会商。"))
        self.call_status.setText({"connecting": tr("正在连接…"), "joined": tr("已接入会商"),
                                  "unavailable": tr("视频不可用"), "not_invited": tr("入会被拒绝（未受邀）"),
                                  "left": "",
                                  "signalling_lost": tr("信令中断：已接通的画面继续，新参会方暂不能加入")}
                                 .get(state, ""))
        self._update_actions()

    def _toggle_layout(self, speaker: bool) -> None:
        if not speaker:
            self._pinned = None
        self.stage.set_mode("speaker" if speaker else "grid")
        self.retranslate()

    def feed_to_share(self) -> str | None:
        """The feed tile with the keyboard focus, else the newest feed."""
        focused = next((sid for sid, t in self.tiles.items() if t.hasFocus() and sid in self.call.feeds), None)
        return focused or (list(self.call.feeds)[-1] if self.call.feeds else None)

    def _toggle_share(self, on: bool) -> None:
        self.call.share_feed(self.feed_to_share() if on else None)
        self.retranslate()

    def _toggle_recording(self, on: bool) -> None:
        if on:
            self.call.start_recording()
        else:
            self.call.stop_recording()
        self.retranslate()

    # ---- playback ----------------------------------------------------------------------------
    def recording_for(self, cid: str) -> tuple[Path, dict] | None:
        """The newest finished recording of this consultation, with its sidecar."""
        folder = self.call.recordings_dir()
        found = sorted(folder.glob(f"{cid}-*.mkv")) if folder.exists() else []
        for path in reversed(found):
            side = path.with_suffix(".mkv.json")
            if side.exists() and (self.call.recorder is None or self.call.recorder.path != path):
                return path, json.loads(side.read_text())
        return None

    def _seek_to_entry(self, index) -> None:
        row = self.log_model.rows[self.log_proxy.mapToSource(index).row()] if index.isValid() else None
        cid = self.active_id or self.current_id()
        if row is None or cid is None or row.call_time_s is None:
            return
        rec = self.recording_for(cid)
        if rec is None:
            self.player.setText(tr("录制中，结束录制后可回放") if self.call.recorder else tr("本次会商没有录像"))
            return
        path, meta = rec
        consultation = self.ctx.read(cs.get_consultation, cid)
        call_start = parse_time(consultation["started_at"]).timestamp() if consultation.get("started_at") else 0
        offset = row.call_time_s - (float(meta.get("start_epoch", call_start)) - call_start)
        self.seek_recording(path, offset)

    def seek_recording(self, path: Path, seconds: float) -> None:
        from app.video.recorder import RecordingPlayer

        def work():
            player = RecordingPlayer(path)
            try:
                return player.frame_at(seconds)
            finally:
                player.close()

        def done(result, error):
            if error is not None or result is None:
                self.player.setText(tr("无法读取录像"))
                return
            t, rgb = result
            h, w = rgb.shape[:2]
            img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            self.player.setPixmap(QPixmap.fromImage(img).scaled(
                self.player.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
            self.last_seek = t
            self.player_time.setText(tr("录像位置 {t}").format(t=cs.fmt_call_time(t)))

        self._player_job = background.run(self, work, done=done)

    # ---- language ----------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.list_label.setText(tr("视频会商"))
        self.search.setPlaceholderText(tr("搜索会商主题、事件… (Ctrl+F)"))
        self.btn_schedule.setText(tr("安排会商…"))
        self.btn_from_incident.setText(tr("从所选事件/预警发起"))
        self.btn_from_incident.setToolTip(tr("一步发起：为地图或列表中选中的事件或预警创建会商并接入"))
        self.btn_join.setText(tr("开始/加入"))
        self.btn_end.setText(tr("结束会商"))
        self.btn_export.setText(tr("导出 CSV…"))
        self.btn_layout.setText(tr("主讲视图") if self.btn_layout.isChecked() else tr("宫格视图"))
        self.btn_layout.setToolTip(tr("切换宫格/主讲视图 (Ctrl+Shift+G)"))
        self.btn_mute.setText(tr("取消静音") if self.btn_mute.isChecked() else tr("静音"))
        self.btn_mute.setToolTip("Ctrl+Shift+M")
        self.btn_camera.setText(tr("打开摄像头") if self.btn_camera.isChecked() else tr("关闭摄像头"))
        self.btn_camera.setToolTip("Ctrl+Shift+K")
        self.btn_record.setText(tr("停止录制") if self.btn_record.isChecked() else tr("录制"))
        self.btn_record.setToolTip("Ctrl+Shift+R")
        self.btn_feed.setText(tr("接入图传…"))
        self._retranslate_volume()
        if getattr(self, "_last_audio_state", None):
            self._audio_state(self._last_audio_state)
        self.btn_share.setText(tr("停止共享图传") if self.btn_share.isChecked() else tr("共享图传到会商"))
        self.btn_share.setToolTip(tr("把选中的（或最新接入的）图传作为参会方发给所有席位"))
        self.empty_stage.setText(tr("未在会商中：选择一个会商并“开始/加入”，或从所选事件一步发起；也可直接接入现场图传。"))
        self.minutes_label.setText(tr("会商纪要与决定事项"))
        self.minute_edit.setPlaceholderText(tr("输入纪要或决定，Ctrl+Enter 记入纪要，Ctrl+Shift+Enter 记为决定"))
        self.btn_minute.setText(tr("记入纪要"))
        self.btn_decision.setText(tr("记为决定"))
        self.player_label.setText(tr("录像回放（点击上方记录跳转）"))
        if not self.player.pixmap() or self.player.pixmap().isNull():
            self.player.setText(tr("暂无录像画面"))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.model.columnCount() - 1)
        self.log_model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.log_model.columnCount() - 1)
        for tile in self.tiles.values():
            tile.update()
        if getattr(self, "_last_call_state", None):
            self._call_state(*self._last_call_state)
        if getattr(self, "_last_refusal", None):
            self._show_refusals()
        if getattr(self, "last_seek", None) is not None:
            self.player_time.setText(tr("录像位置 {t}").format(t=cs.fmt_call_time(self.last_seek)))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """End the call (with its log line) and stop the media thread; safe to call twice."""
        if self.active_id is not None:
            self.end_call()
        self.call.close()
