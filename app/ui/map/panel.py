"""一张图 The map panel: the canvas, the layer list, the feature card and a results list.

Layers are read from the cache on a worker thread (one snapshot for all of them) and
re-read, at most every 300 ms, when a ChangeSet touches one of their entities — local
commands and pulled sync pages alike. Selection is shared through host.selection.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.domain import clock
from app.services import feed_positions
from app.services.changes import ChangeSet
from app.services.maps import exchange, spatial
from app.services.maps import stale as ST
from app.services.maps.boundaries import load_boundaries
from app.services.maps.feeds import find_feed, read_feed_layer
from app.services.maps.layers import (
    LAYER_ENTITY,
    LAYER_WATCH,
    nearest,
    read_point_layer,
    read_record,
    read_warning_areas,
    supply_item_names,
)
from app.services.maps.sources import MBTilesSource, TileCache, TileSourceError, XyzSource
from app.ui import background, i18n
from app.ui.docks import PanelHost
from app.ui.i18n import N_, tr
from app.ui.map import style as S
from app.ui.map.dialogs import AreaDownload, DownloadDialog, NearestDialog, NewIncidentDialog
from app.ui.map.view import MapView, format_distance

log = logging.getLogger(__name__)

COALESCE_MS = 300
IdRole = Qt.ItemDataRole.UserRole
KeyRole = Qt.ItemDataRole.UserRole + 1

# The card: (field, Chinese label) per entity; enum fields show their label in the current language.
CARD_FIELDS = {
    "incident": (("severity", N_("级别")), ("status", N_("状态")), ("category", N_("类别")), ("place", N_("地点")),
                 ("occurred_at", N_("发生时间")), ("commander", N_("现场指挥")), ("summary", N_("概要"))),
    "team": (("type", N_("类型")), ("status", N_("状态")), ("headcount", N_("人数")), ("leader", N_("负责人")),
             ("phone", N_("电话")), ("base", N_("驻地"))),
    "warehouse": (("kind", N_("类型")), ("address", N_("地址")), ("area_m2", N_("面积（㎡）")),
                  ("manager", N_("管理人")), ("phone", N_("电话"))),
    "shelter": (("status", N_("状态")), ("capacity", N_("容量（人）")), ("occupancy", N_("已安置（人）")),
                ("address", N_("地址")), ("manager", N_("管理人")), ("phone", N_("电话"))),
    "risk_source": (("grade", N_("等级")), ("status", N_("状态")), ("sector", N_("行业")),
                    ("responsible_unit", N_("责任单位")), ("responsible_person", N_("责任人")), ("phone", N_("电话"))),
}
TITLE_FIELD = {"incident": "title"}
READER_STATES = {"connecting": N_("正在连接"), "stopped": N_("已停止"), "idle": N_("未启动")}  # app/video/feeds.py
RESULT_COLUMNS = (N_("名称"), N_("所属图层"), N_("距离"), N_("详情"))


def read_all_layers(conn) -> dict:
    """Every layer in one read snapshot (runs on a worker thread)."""
    out = {key: read_point_layer(conn, key) for key in S.STORE_LAYERS}
    out["warning"] = read_warning_areas(conn)
    return out


class _FeedBridge(QObject):
    """Hops the feed registry's callbacks (a reader thread) to the GUI thread as a queued signal."""

    moved = Signal()

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._unsubscribe = feed_positions.subscribe(self._on_any_thread)
        unsubscribe = self._unsubscribe  # not a method of self: the wrapper may be gone when this fires
        self.destroyed.connect(lambda *_: unsubscribe())

    def _on_any_thread(self) -> None:
        try:
            self.moved.emit()
        except RuntimeError:  # the panel is gone and its bridge with it
            self.close()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None


class MapPanel(QWidget):
    def __init__(self, host: PanelHost, parent: QWidget | None = None):
        super().__init__(parent, objectName="mapPanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.host = host
        self.ctx = host.ctx
        self.read_only = host.read_only
        self.data: dict = {}
        self.as_of = None
        self.sources: list = []
        self.tile_cache: TileCache | None = None
        self.overlays: list[exchange.Imported] = []
        self._loading = None
        self._reload_again = False
        self._pending_select: tuple[str, tuple[str, ...]] | None = None
        self._results: list[tuple[str, str, float | None, str, float, float]] = []

        self.map = MapView(self)
        self.toolbar = QToolBar(objectName="mapToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.side = QWidget(objectName="mapSide")
        self.layer_list = QListWidget(objectName="mapLayers")
        self.area_box = QComboBox(objectName="mapAreaJump")
        self.find_box = QLineEdit(objectName="mapFind", clearButtonEnabled=True)
        self.card = QLabel(objectName="mapCard", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.card.setMinimumHeight(120)
        self.feed_open = QPushButton(objectName="mapFeedOpen")  # "open in the video panel", on a feed's card
        self.feed_open.hide()
        self.stale_minutes = ST.thresholds(host.settings.get(ST.SETTINGS_KEY) if host.settings is not None else None)
        self.results_label = QLabel(objectName="sectionLabel")
        self.results = QTableWidget(0, len(RESULT_COLUMNS), objectName="mapResults")
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.verticalHeader().hide()
        self.results.setSortingEnabled(True)
        self.results.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.results_filter = QLineEdit(objectName="mapResultsFilter", clearButtonEnabled=True)
        self.export_results = QPushButton(objectName="mapResultsCsv")
        self.layers_label = QLabel(objectName="sectionLabel")
        self.card_label = QLabel(objectName="sectionLabel")
        self.cluster_box = QCheckBox(objectName="mapCluster", checked=True)

        side = QVBoxLayout(self.side)
        side.setContentsMargins(6, 6, 6, 6)
        side.addWidget(self.area_box)
        side.addWidget(self.find_box)
        side.addWidget(self.layers_label)
        side.addWidget(self.layer_list, 2)
        side.addWidget(self.cluster_box)
        side.addWidget(self.card_label)
        side.addWidget(self.card, 2)
        side.addWidget(self.feed_open)
        side.addWidget(self.results_label)
        row = QHBoxLayout()
        row.addWidget(self.results_filter, 1)
        row.addWidget(self.export_results)
        side.addLayout(row)
        side.addWidget(self.results, 3)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.side)
        self.splitter.addWidget(self.map)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.splitter, 1)

        self._make_actions()
        self._fill_layer_list()
        self._fill_area_box()

        self.layer_list.itemChanged.connect(self._on_layer_toggled)
        self.area_box.activated.connect(self._on_area_jump)
        self.find_box.returnPressed.connect(self.find)
        self.cluster_box.toggled.connect(self.map.set_clustering)
        self.results.itemSelectionChanged.connect(self._on_result_selected)
        self.results_filter.textChanged.connect(self._filter_results)
        self.export_results.clicked.connect(self.export_results_csv)
        self.map.feature_clicked.connect(self._on_feature_clicked)
        self.map.context_requested.connect(self._on_context)
        self.map.tool_result.connect(self._on_tool_result)
        self.feed_open.clicked.connect(self.open_feed_in_video)
        self.map.card_overlay.linkActivated.connect(lambda _href: self.open_feed_in_video())

        self._timer = QTimer(self, singleShot=True, interval=COALESCE_MS, timeout=self.reload)
        self._as_of_timer = QTimer(self, interval=30_000, timeout=self._tick)
        self._as_of_timer.start()
        host.changes.changes_applied.connect(self._on_changes)
        host.selection.selection_changed.connect(self._on_selection)
        i18n.notifier().language_changed.connect(self.retranslate)
        self._restore_settings()
        # Field feeds move on reader threads: a queued signal, coalesced so a burst redraws once.
        self._feed_timer = QTimer(self, singleShot=True, interval=80, timeout=self.reload_feeds)
        self.feed_bridge = _FeedBridge(self)
        self.feed_bridge.moved.connect(self._feed_timer.start, Qt.ConnectionType.QueuedConnection)
        self.retranslate()
        self.reload()
        self.reload_feeds()

    # ---- actions -------------------------------------------------------------------------
    def _make_actions(self) -> None:
        def act(name: str, text: str, slot, shortcut: str | None = None, checkable: bool = False) -> QAction:
            a = QAction(self, objectName=name, checkable=checkable)
            a.setProperty("source_text", text)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
                a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.actions_by_name = {}
        specs = [
            ("mapHome", N_("全区"), lambda: self.map.zoom_to_bbox(*self.map.district_bbox()), "Home"),
            ("mapZoomIn", N_("放大"), lambda: self.map.zoom_by(0.5), "Ctrl+="),
            ("mapZoomOut", N_("缩小"), lambda: self.map.zoom_by(2.0), "Ctrl+-"),
            ("mapDistance", N_("测距"), lambda: self.start_tool("distance"), "Ctrl+Shift+D"),
            ("mapArea", N_("测面积"), lambda: self.start_tool("area"), "Ctrl+Shift+A"),
            ("mapPolygon", N_("圈选多边形"), lambda: self.start_tool("polygon"), "Ctrl+Shift+P"),
            ("mapCircle", N_("圈选圆形"), lambda: self.start_tool("circle"), "Ctrl+Shift+C"),
            ("mapNearest", N_("周边查询"), lambda: self.ask_nearest(*self.view_centre()), "Ctrl+Shift+N"),
            ("mapStale", N_("过时阈值"), self.stale_dialog, None),
        ]
        self.side_action = act("mapSideToggle", N_("侧栏"), self._on_side_toggled, "Ctrl+Shift+B", checkable=True)
        self.side_action.setChecked(True)
        self.toolbar.addAction(self.side_action)
        self.toolbar.addSeparator()
        for name, text, slot, key in specs:
            a = act(name, text, slot, key)
            self.toolbar.addAction(a)
            self.actions_by_name[name] = a
        self.toolbar.addSeparator()
        base_menu = QMenu(self)
        base_menu.setObjectName("mapBaseMenu")
        for name, text, slot in (("mapAddMbtiles", N_("添加 MBTiles 底图…"), self.add_mbtiles_dialog),
                                 ("mapAddXyz", N_("添加在线瓦片地址…"), self.add_xyz_dialog),
                                 ("mapDownload", N_("下载区域底图…"), self.download_dialog),
                                 ("mapCompleteness", N_("底图完整性报告…"), self.completeness_dialog),
                                 ("mapClearBase", N_("移除全部底图"), self.clear_base_maps)):
            base_menu.addAction(act(name, text, slot))
        self.gcj_action = act("mapGcj", N_("底图为 GCJ-02 坐标"), self._on_gcj_toggled, checkable=True)
        base_menu.addAction(self.gcj_action)
        self.base_action = act("mapBase", N_("底图"), lambda: None)
        self.base_action.setMenu(base_menu)
        self.toolbar.addAction(self.base_action)
        exchange_menu = QMenu(self)
        for name, text, slot, key in (("mapImport", N_("导入 GeoJSON/KML…"), self.import_dialog, None),
                                      ("mapExportLayer", N_("导出图层为 GeoJSON…"), self.export_layer_dialog, None),
                                      ("mapExportPng", N_("导出视图为 PNG…"), self.export_png_dialog, "Ctrl+Shift+E"),
                                      ("mapExportPdf", N_("导出视图为 PDF…"), self.export_pdf_dialog, None)):
            exchange_menu.addAction(act(name, text, slot, key))
        self.exchange_action = act("mapExchange", N_("导入导出"), lambda: None)
        self.exchange_action.setMenu(exchange_menu)
        self.toolbar.addAction(self.exchange_action)
        for a in (self.base_action, self.exchange_action):
            button = self.toolbar.widgetForAction(a)
            if button is not None:
                button.setPopupMode(button.ToolButtonPopupMode.InstantPopup)

    def _retranslate_actions(self) -> None:
        for a in self.findChildren(QAction):
            text = a.property("source_text")
            if text:
                a.setText(tr(text))
                if a.shortcut().toString():
                    a.setToolTip(f"{tr(text)} ({a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")

    # ---- layer list ------------------------------------------------------------------------
    def _fill_layer_list(self) -> None:
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for s in reversed(S.LAYERS):
            item = QListWidgetItem()
            item.setData(KeyRole, s.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = self.map.areas_visible if s.key == "warning" else self.map.layers[s.key].visible
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.layer_list.addItem(item)
        item = QListWidgetItem()
        item.setData(KeyRole, "boundaries")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.layer_list.addItem(item)
        self.layer_list.blockSignals(False)

    def _label_layer_list(self) -> None:
        self.layer_list.blockSignals(True)
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            key = item.data(KeyRole)
            if key == "boundaries":
                item.setText(tr("行政区划（区、街道、社区）"))
                continue
            if key.startswith("overlay:"):
                continue
            data = self.data.get(key)
            n = len(data.ids) if data is not None else 0
            k = self.map.layers[key].stale_count() if key in self.map.layers else 0
            if k:
                item.setText(tr("{name}（{n}，{k} 个过时）").format(name=tr(S.STYLES[key].name), n=f"{n:,}",
                                                                 k=f"{k:,}"))
            else:
                item.setText(tr("{name}（{n}）").format(name=tr(S.STYLES[key].name), n=f"{n:,}"))
            tip = []
            if key in self.stale_minutes:
                tip.append(tr("超过 {t} 未更新的显示为淡色").format(t=format_minutes(self.stale_minutes[key])))
            if data is not None and data.latest_change:
                tip.append(tr("最近变更 {t}").format(t=data.latest_change[:19].replace("T", " ")))
            if data is not None and getattr(data, "without_position", 0):
                tip.append(tr("{n} 条无坐标，未显示").format(n=data.without_position))
            item.setToolTip("\n".join(tip))
        self.layer_list.blockSignals(False)

    def _on_layer_toggled(self, item: QListWidgetItem) -> None:
        key = item.data(KeyRole)
        on = item.checkState() == Qt.CheckState.Checked
        if key == "boundaries":
            self.map.set_boundaries_visible(on)
        elif key.startswith("overlay:"):
            for gi in self.map.overlays[int(key.split(":")[1])][2]:
                gi.setVisible(on)
        else:
            self.map.set_layer_visible(key, on)
        self._save_settings()

    def _fill_area_box(self) -> None:
        self.area_box.clear()
        self.area_box.addItem("", None)
        try:
            for b in load_boundaries():
                if b.kind in ("district", "street"):
                    self.area_box.addItem(b.name, b.id)
        except (OSError, ValueError):
            log.exception("boundaries unreadable")

    def _on_area_jump(self, index: int) -> None:
        bid = self.area_box.itemData(index)
        for b in load_boundaries():
            if b.id == bid:
                self.map.zoom_to_bbox(*b.bbox)
                return

    # ---- data ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read every layer on a worker thread; a second request while one runs queues one more."""
        self._timer.stop()
        if self._loading is not None and self._loading.running:
            self._reload_again = True
            return
        self._loading = background.run(self, self.ctx.read, read_all_layers, done=self._loaded)

    def loading(self) -> bool:
        return (self._loading is not None and self._loading.running) or self._timer.isActive()

    def _loaded(self, data, error) -> None:
        if error is not None:
            log.error("map layers read failed: %s", error)
            self.map.set_as_of(tr("读取失败") + f" {clock.now():%H:%M:%S}")
        else:
            if "feed" in self.data:
                data["feed"] = self.data["feed"]
            self.data = data
            self.as_of = clock.now()
            for key in S.STORE_LAYERS:
                self.map.set_point_layer(data[key])
            self._epochs = {key: ST.to_epochs(data[key].updated) for key in self.stale_minutes if key in data}
            self.apply_stale()
            self.map.set_warning_areas(data["warning"])
            self._label_layer_list()
            self._show_as_of()
            if self._pending_select:
                self._on_selection(*self._pending_select, None)
                self._pending_select = None
        if self._reload_again:
            self._reload_again = False
            self.reload()

    # ---- field feeds and staleness --------------------------------------------------------------
    def reload_feeds(self) -> None:
        """Redraw the field-feed layer from the registry (cheap: a handful of points)."""
        data = read_feed_layer()
        self.data["feed"] = data
        self.map.set_point_layer(data)
        self._label_layer_list()
        if getattr(self, "card_record", None) and self.card_record[0] == "feed":
            self.show_card(*self.card_record)

    def apply_stale(self, now=None) -> dict[str, int]:
        """Fade what has not been updated within its layer's threshold; returns {layer: stale count}."""
        now = now or clock.now()
        counts = {}
        for key, minutes in self.stale_minutes.items():
            epochs = getattr(self, "_epochs", {}).get(key)
            if epochs is None or key not in self.map.layers:
                continue
            mask = ST.stale_mask(epochs, now, minutes)
            self.map.set_stale(key, mask)
            counts[key] = int(mask.sum())
        self.map.stale_notes = {key: tr("超过 {t} 未更新").format(t=format_minutes(m))
                                for key, m in self.stale_minutes.items()}
        self.map.update_legend()
        return counts

    def _tick(self) -> None:
        self.apply_stale()
        self._label_layer_list()
        self._show_as_of()

    def set_stale_minutes(self, key: str, minutes: float) -> None:
        self.stale_minutes = ST.thresholds({**self.stale_minutes, key: minutes})
        if self.host.settings is not None:
            self.host.settings.set(ST.SETTINGS_KEY, dict(self.stale_minutes))
        self.apply_stale()
        self._label_layer_list()
        if getattr(self, "card_record", None):
            self.show_card(*self.card_record)

    def stale_dialog(self) -> None:
        for key in self.stale_minutes:
            value, ok = QInputDialog.getInt(
                self, tr("过时阈值"), tr("{name}：超过多少分钟未更新显示为淡色").format(name=tr(S.STYLES[key].name)),
                int(self.stale_minutes[key]), 1, 60 * 24 * 30)
            if not ok:
                return
            self.set_stale_minutes(key, value)

    def open_feed_in_video(self) -> None:
        record = getattr(self, "card_record", None)
        if record and record[0] == "feed":
            self.host.selection.select("feed", (record[1],), source=self)

    def _show_as_of(self) -> None:
        if self.as_of is None:
            return
        parts = [tr("数据截至 {t}").format(t=f"{self.as_of:%Y-%m-%d %H:%M:%S}")]
        for src in self.sources:
            if src.as_of:
                parts.append(tr("底图 {name}：{date}").format(name=src.name, date=src.as_of))
            report = getattr(src, "completeness_report", None)
            if report is not None:
                parts.append(tr("区内 {a}–{b} 级完整 {pct}").format(
                    a=report.levels[0].zoom, b=report.levels[-1].zoom, pct=f"{report.percent:.1f}%"))
        self.map.set_as_of("\n".join(parts))

    def _on_changes(self, changes: ChangeSet) -> None:
        watched = {e for ents in LAYER_WATCH.values() for e in ents}
        if changes.touches(*watched) and not self._timer.isActive():
            self._timer.start()

    # ---- selection and card ------------------------------------------------------------------
    def _entity_layer(self, entity: str, rid: str) -> str | None:
        for key, ent in LAYER_ENTITY.items():
            if ent == entity and key in self.map.layers and self.map.layers[key].index_of(rid) is not None:
                return key
        return None

    def _on_selection(self, entity: str, ids: tuple, source) -> None:
        if source is self or not ids or entity not in LAYER_ENTITY.values():
            return
        key = self._entity_layer(entity, ids[0])
        if key is None:
            if self.loading():
                self._pending_select = (entity, tuple(ids))
            return
        if not self.map.layers[key].visible:
            self._set_layer_checked(key, True)
        where = self.map.select(key, ids)
        if where:
            self.map.centre_on(*where[0], span_m=min(self.map.vb.viewRect().width(), 3000))
        self.show_card(entity, ids[0])

    def _set_layer_checked(self, key: str, on: bool) -> None:
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            if item.data(KeyRole) == key:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _on_feature_clicked(self, key: str, rid: str) -> None:
        entity = LAYER_ENTITY[key]
        self.map.select(key, (rid,))
        self.show_card(entity, rid)
        if entity != "feed":  # a feed goes to the video panel only when asked (the card's button)
            self.host.selection.select(entity, (rid,), source=self)

    def show_card(self, entity: str, rid: str) -> None:
        if entity == "feed":
            self._show_feed_card(rid)
            return
        self.feed_open.hide()
        try:
            row = self.ctx.read(read_record, entity, rid)
        except Exception:
            log.exception("card read failed")
            row = None
        if not row:
            self.card.setText(tr("记录已不存在。"))
            return
        self.card_record = (entity, rid)
        title = row.get(TITLE_FIELD.get(entity, "name")) or ""
        lines = [f"<b style='font-size:large'>{_esc(title)}</b>"]
        ent = _entity_def(entity)
        for field, label in CARD_FIELDS.get(entity, ()):
            value = row.get(field)
            if value is None or value == "":
                continue
            f = ent.field(field)
            if f.enum is not None:
                try:
                    value = f.enum(value).label(i18n.current())
                except ValueError:
                    pass
            elif field.endswith("_at"):
                value = str(value)[:16].replace("T", " ")
            text = str(value)
            if len(text) > 160:
                text = text[:160] + "…"
            lines.append(f"<span style='color:#666'>{_esc(tr(label))}</span>　{_esc(text)}")
        if entity == "shelter" and row.get("capacity") is not None:
            spare = int(row["capacity"]) - int(row.get("occupancy") or 0)
            lines.append(f"<span style='color:#666'>{_esc(tr('尚可容纳'))}</span>　{spare:,}")
        if entity == "warehouse":
            data = self.data.get("warehouse")
            if data is not None and rid in data.ids:
                low = data.extra[data.ids.index(rid)] or 0
                if low:
                    lines.append("<span style='color:#c62828'>" + _esc(tr("{n} 种物资低于下限").format(n=low))
                                 + "</span>")
        if row.get("lon") is not None:
            lines.append(f"<span style='color:#666'>{row['lon']:.6f}, {row['lat']:.6f}</span>")
        lines[1:1] = self._freshness_lines(entity, rid, row.get("updated_at"))
        self.card.setText("<br>".join(lines))
        self.map.card_overlay.setText("<br>".join(lines[:6]))  # when the side bar is hidden (a narrow dock)
        self._apply_side()

    def _freshness_lines(self, entity: str, rid: str, updated_at: str | None) -> list[str]:
        """"As of HH:MM" for a layer that can go stale: orange and explained when it is stale."""
        key = next((k for k, e in LAYER_ENTITY.items() if e == entity and k in self.stale_minutes), None)
        if key is None:
            return []
        now = clock.now()
        when = ST.as_of_text(updated_at, now)
        if not when:
            return [f"<span style='color:#666'>{_esc(tr('更新时间不详'))}</span>"]
        layer = self.map.layers.get(key)
        i = layer.index_of(rid) if layer is not None else None
        if i is not None and i < len(layer.stale) and layer.stale[i]:
            text = tr("截至 {t}（超过 {m} 未更新）").format(t=when, m=format_minutes(self.stale_minutes[key]))
            return [f"<span style='color:#b45309'><b>{_esc(text)}</b></span>"]
        return [f"<span style='color:#666'>{_esc(tr('截至 {t}').format(t=when))}</span>"]

    def _show_feed_card(self, feed_id: str) -> None:
        p = find_feed(feed_id)
        self.card_record = ("feed", feed_id)
        if p is None:
            self.card.setText(tr("该视频已无位置（已停止或未定位）。"))
            self.feed_open.show()  # the video panel may still have it, without a position
            self.map.card_overlay.setText(self.card.text())
            self._apply_side()
            return
        st = S.STYLES["feed"]
        cls = feed_positions.state_class(p.state)
        raw = READER_STATES.get(p.state)
        state = st.label(cls) + ("（" + (tr(raw) if raw else p.state) + "）" if p.state != cls else "")
        lines = [f"<b style='font-size:large'>{_esc(p.name)}</b>",
                 f"<span style='color:#666'>{_esc(tr('所属图层'))}</span>　{_esc(tr(st.name))}",
                 f"<span style='color:{st.colour(cls)}'>●</span> <span style='color:#666'>{_esc(tr('状态'))}"
                 f"</span>　{_esc(state)}",
                 f"<span style='color:#666'>{_esc(tr('位置'))}</span>　{p.lon:.6f}, {p.lat:.6f}"]
        self.card.setText("<br>".join(lines))
        link = f"<a href='feed:{_esc(feed_id)}'>{_esc(tr('在视频面板中打开'))}</a>"  # the narrow dock has no button
        self.map.card_overlay.setText("<br>".join([*lines, link]))
        self.feed_open.show()
        self._apply_side()

    # ---- tools and queries ---------------------------------------------------------------------
    def start_tool(self, tool: str) -> None:
        self.map.start_tool(tool)
        self.map.setFocus()

    def view_centre(self) -> tuple[float, float]:
        c = self.map.vb.viewRect().center()
        return self.map.to_lonlat(c.x(), c.y())

    def _on_tool_result(self, tool: str, result: dict) -> None:
        if tool in ("polygon", "circle"):
            self.list_inside(self.map.tool_polygon())

    def list_inside(self, ring: list[tuple[float, float]]) -> list[tuple[str, str]]:
        """Fill the results list with every visible feature inside the ring; returns (layer, id)."""
        import numpy as np

        found = []
        rows = []
        if len(ring) >= 3:
            for key, layer in self.map.layers.items():
                if not layer.visible or layer.data is None or not len(layer.lon):
                    continue
                inside = np.flatnonzero(spatial.points_in_ring(layer.lon, layer.lat, ring))
                st = S.STYLES[key]
                for i in inside:
                    rid = str(layer.ids[i])
                    found.append((key, rid))
                    rows.append((layer.data.label[i], key, None, st.label(layer.data.style[i]),
                                 float(layer.lon[i]), float(layer.lat[i]), rid))
        self.set_results(tr("圈选范围内 {n} 项").format(n=len(rows)), rows)
        return found

    def ask_nearest(self, lon: float, lat: float, what: str = "team") -> None:
        items = self.ctx.read(supply_item_names)
        dialog = NearestDialog(items, self, what)
        if dialog.exec():
            self.show_nearest(lon, lat, **dialog.query())

    def show_nearest(self, lon: float, lat: float, what: str, **kw) -> list:
        found = self.ctx.read(lambda conn: nearest(conn, lon, lat, what, **kw))
        st = S.STYLES[what]
        rows = []
        layer = self.map.layers.get(what)
        for n in found:
            detail = n.detail
            if what == "team":
                detail = st.label(n.detail)
            elif what == "shelter":
                detail = tr("尚可容纳 {n} 人").format(n=n.detail)
            elif what == "warehouse" and kw.get("item_name"):
                detail = tr("库存 {n}").format(n=n.detail)
            i = layer.index_of(n.id) if layer is not None and what in self.stale_minutes else None
            if i is not None and i < len(layer.stale) and layer.stale[i]:  # ANCHORS 4.9: say it, do not hide it
                detail = tr("{detail}（过时）").format(detail=detail)
            rows.append((n.name, what, n.distance_m, detail, n.lon, n.lat, n.id))
        self.set_results(tr("距 {lon}, {lat} 最近的{what}").format(lon=f"{lon:.5f}", lat=f"{lat:.5f}",
                                                                 what=tr(st.name)), rows, sort_column=2)
        self.map.tool_points = [(lon, lat)]
        return found

    def set_results(self, title: str, rows: list, sort_column: int | None = None) -> None:
        self._results = rows
        self.results_label.setText(title)
        self.results.setSortingEnabled(False)
        self.results.setRowCount(len(rows))
        for r, (name, key, dist, detail, _lon, _lat, rid) in enumerate(rows):
            cells = [QTableWidgetItem(name), QTableWidgetItem(tr(S.STYLES[key].name)), _NumberItem(dist),
                     QTableWidgetItem(detail)]
            cells[0].setData(IdRole, rid)
            cells[0].setData(KeyRole, key)
            for c, cell in enumerate(cells):
                self.results.setItem(r, c, cell)
        self.results.setSortingEnabled(True)
        if sort_column is not None:
            self.results.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
        self._filter_results(self.results_filter.text())

    def _filter_results(self, text: str) -> None:
        text = text.strip().lower()
        for r in range(self.results.rowCount()):
            row_text = " ".join(self.results.item(r, c).text() for c in range(self.results.columnCount())
                                if self.results.item(r, c))
            self.results.setRowHidden(r, bool(text) and text not in row_text.lower())

    def _on_result_selected(self) -> None:
        rows = {i.row() for i in self.results.selectedIndexes()}
        if not rows:
            return
        item = self.results.item(min(rows), 0)
        key, rid = item.data(KeyRole), item.data(IdRole)
        entity = LAYER_ENTITY.get(key)
        if entity:
            where = self.map.select(key, (rid,)) if key in self.map.layers else []
            if where:
                self.map.centre_on(*where[0])
            self.show_card(entity, rid)
            if entity != "feed":
                self.host.selection.select(entity, (rid,), source=self)

    def export_results_csv(self, path: str | None = None) -> str | None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, tr("导出列表为 CSV"), "map_results.csv", "CSV (*.csv)")
        if not path:
            return None
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow([tr(c) for c in RESULT_COLUMNS] + [tr("经度"), tr("纬度")])
            for r in range(self.results.rowCount()):
                if self.results.isRowHidden(r):
                    continue
                cells = [self.results.item(r, c).text() if self.results.item(r, c) else ""
                         for c in range(self.results.columnCount())]
                rid = self.results.item(r, 0).data(IdRole)
                src = next((x for x in self._results if x[6] == rid), None)
                w.writerow(cells + ([f"{src[4]:.6f}", f"{src[5]:.6f}"] if src else ["", ""]))
        return path

    def find(self) -> None:
        """Search every loaded layer's names; results go to the list (and the first one is shown)."""
        text = self.find_box.text().strip().lower()
        if not text:
            return
        rows = []
        for key, layer in self.map.layers.items():
            if layer.data is None:
                continue
            for i, label in enumerate(layer.data.label):
                if text in label.lower():
                    rows.append((label, key, None, S.STYLES[key].label(layer.data.style[i]),
                                 float(layer.lon[i]), float(layer.lat[i]), layer.data.ids[i]))
        for b in load_boundaries():
            if text in b.name.lower():
                self.map.zoom_to_bbox(*b.bbox)
                break
        self.set_results(tr("查找“{q}”：{n} 项").format(q=self.find_box.text().strip(), n=len(rows)), rows[:2000])
        if rows:
            self.results.selectRow(0)

    # ---- context menu ----------------------------------------------------------------------
    def _on_context(self, lon: float, lat: float, pos: QPoint) -> None:
        menu = self.context_menu(lon, lat)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one menu per click, gone once closed
        menu.popup(pos)

    def context_menu(self, lon: float, lat: float) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("mapContextMenu")
        if not self.read_only:
            menu.addAction(tr("在此新建事件…"), lambda: self.new_incident_at(lon, lat))
            menu.addSeparator()
        menu.addAction(tr("最近的备勤队伍"), lambda: self.show_nearest(lon, lat, "team", team_status="standby"))
        menu.addAction(tr("最近的有余量避难场所"), lambda: self.show_nearest(lon, lat, "shelter"))
        menu.addAction(tr("最近的物资仓库"), lambda: self.show_nearest(lon, lat, "warehouse"))
        menu.addAction(tr("查找最近（按类型、状态、物资）…"), lambda: self.ask_nearest(lon, lat))
        menu.addSeparator()
        menu.addAction(tr("复制坐标"), lambda: _copy(f"{lon:.6f}, {lat:.6f}"))
        return menu

    def new_incident_at(self, lon: float, lat: float) -> str | None:
        if self.read_only:
            return None
        dialog = NewIncidentDialog(self.ctx, lon, lat, self)
        dialog.exec()
        return dialog.created_id

    # ---- base maps -------------------------------------------------------------------------
    def add_mbtiles(self, path: str, crs: str | None = None) -> MBTilesSource:
        src = MBTilesSource(path, crs=crs)  # raises TileSourceError with a message
        self.sources.append(src)
        self._apply_sources()
        self.check_completeness(src)
        return src

    def check_completeness(self, src) -> None:
        """On import: how much of the district the file really covers, at the zooms it claims (worker thread)."""
        zmin, zmax = max(src.min_zoom, 8), min(src.max_zoom, 18)
        if zmin > zmax:
            return

        def done(report, error) -> None:
            if error is None:
                src.completeness_report = report
                self._show_as_of()

        background.run(self, src.completeness, self.map.district_bbox(), zmin, zmax, done=done)

    def add_xyz(self, url: str, name: str | None = None, crs: str = "wgs84", online: bool = True) -> XyzSource:
        src = XyzSource(name or tr("在线底图"), url, self._cache(), crs=crs, online=online)
        self.sources.append(src)
        self._apply_sources()
        return src

    def _cache(self) -> TileCache:
        if self.tile_cache is None:
            folder = Path(self.host.settings.path).parent if self.host.settings is not None else Path(".")
            self.tile_cache = TileCache(folder / "tile_cache.mbtiles")
        return self.tile_cache

    def clear_base_maps(self) -> None:
        for src in self.sources:
            if isinstance(src, MBTilesSource):
                src.close()
        self.sources = []
        self._apply_sources()

    def _apply_sources(self) -> None:
        if self.sources:
            self.gcj_action.setChecked(self.sources[-1].crs == "gcj02")
        self.map.set_tile_sources(self.sources)
        self._show_as_of()
        self._save_settings()

    def _on_gcj_toggled(self, on: bool) -> None:
        if self.sources:
            self.sources[-1].crs = "gcj02" if on else "wgs84"
        self.map.set_frame("gcj02" if on and self.sources else "wgs84")
        self._save_settings()

    def add_mbtiles_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, tr("添加 MBTiles 底图"), "", "MBTiles (*.mbtiles);;* (*)")
        for path in paths:
            try:
                self.add_mbtiles(path)
            except TileSourceError as e:
                QMessageBox.warning(self, tr("底图"), e.message(i18n.current()))

    def add_xyz_dialog(self) -> None:
        url, ok = QInputDialog.getText(self, tr("添加在线瓦片地址"),
                                       tr("瓦片地址（含 {z}/{x}/{y}），看过的瓦片都会保存，离线可用："),
                                       text="http://127.0.0.1:8080/{z}/{x}/{y}.png")
        if ok and url.strip():
            try:
                self.add_xyz(url.strip())
            except TileSourceError as e:
                QMessageBox.warning(self, tr("底图"), e.message(i18n.current()))

    def _download_bboxes(self) -> dict:
        r = self.map.vb.viewRect()
        w, s = self.map.to_lonlat(r.left(), r.top())
        e, n = self.map.to_lonlat(r.right(), r.bottom())
        return {"district": self.map.district_bbox(), "view": (w, s, e, n)}

    def download_dialog(self) -> None:
        src = next((s for s in reversed(self.sources) if isinstance(s, XyzSource)), None)
        if src is None:
            QMessageBox.information(self, tr("下载区域底图"), tr("请先添加在线瓦片地址。"))
            return
        dialog = DownloadDialog(self._download_bboxes(), self)
        if dialog.exec():
            bbox, a, b = dialog.choice()
            self.start_download(src, bbox, a, b)

    def start_download(self, src: XyzSource, bbox, zmin: int, zmax: int, done=None) -> AreaDownload:
        def finished(report, error) -> None:
            if done is not None:
                done(report, error)
                return
            if error is not None:
                QMessageBox.warning(self, tr("下载区域底图"), str(error))
            else:
                self.show_report(report.completeness, cancelled=report.cancelled, failed=report.failed)
            self.map.vb.update()

        self.download = AreaDownload(self, src, bbox, zmin, zmax, finished)
        return self.download

    def completeness_dialog(self) -> None:
        if not self.sources:
            QMessageBox.information(self, tr("底图完整性报告"), tr("尚未添加底图。"))
            return
        src = self.sources[-1]
        zmin, ok = QInputDialog.getInt(self, tr("底图完整性报告"), tr("最小级别"), 12, 0, 19)
        if not ok:
            return
        zmax, ok = QInputDialog.getInt(self, tr("底图完整性报告"), tr("最大级别"), 16, zmin, 19)
        if ok:
            background.run(self, src.completeness, self.map.district_bbox(), zmin, zmax,
                           done=lambda rep, err: self.show_report(rep) if err is None else
                           QMessageBox.warning(self, tr("底图完整性报告"), str(err)))

    def report_text(self, comp, cancelled: bool = False, failed: int = 0) -> str:
        lines = [tr("应有 {e} 块，已有 {p} 块（{pct}）").format(e=f"{comp.expected:,}", p=f"{comp.present:,}",
                                                         pct=f"{comp.percent:.1f}%")]
        for level in comp.levels:
            lines.append(tr("第 {z} 级：{p}/{e}").format(z=level.zoom, p=f"{level.present:,}", e=f"{level.expected:,}"))
        if comp.missing_sample:
            lines.append(tr("缺失示例：") + ", ".join(f"{z}/{x}/{y}" for z, x, y in comp.missing_sample[:8]))
        if failed:
            lines.append(tr("{n} 块下载失败").format(n=failed))
        if cancelled:
            lines.append(tr("下载已取消，已下载的瓦片已保存。"))
        return "\n".join(lines)

    def show_report(self, comp, cancelled: bool = False, failed: int = 0) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, tr("底图完整性报告"), self.report_text(comp, cancelled, failed),
                          parent=self)
        box.setObjectName("mapReport")
        box.open()

    # ---- exchange -------------------------------------------------------------------------
    def import_file(self, path: str) -> exchange.Imported:
        imported = exchange.load_any(path)  # raises ExchangeError with a message
        self.add_imported(imported)
        return imported

    def add_imported(self, imported: exchange.Imported) -> None:
        index = self.map.add_overlay(imported.name, imported.features)
        self.overlays.append(imported)
        item = QListWidgetItem(tr("导入：{name}（{n}）").format(name=imported.name, n=len(imported.features)))
        item.setData(KeyRole, f"overlay:{index}")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        self.layer_list.addItem(item)

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("导入 GeoJSON/KML"), "",
                                              "GeoJSON / KML (*.geojson *.json *.kml);;* (*)")
        if path:  # a large file parses on a worker thread; the map stays live meanwhile
            background.run(self, exchange.load_any, path, done=self._imported)

    def _imported(self, imported, error) -> None:
        if error is not None:
            text = error.message(i18n.current()) if isinstance(error, exchange.ExchangeError) else str(error)
            QMessageBox.warning(self, tr("导入"), text)
            return
        self.add_imported(imported)
        if imported.skipped:
            msgs = [p[0] if i18n.current() == "zh" else p[1] for p in imported.problems[:10]]
            QMessageBox.information(self, tr("导入"), tr("已导入 {n} 个要素，跳过 {k} 个：").format(
                n=len(imported.features), k=imported.skipped) + "\n" + "\n".join(msgs))

    def layer_features(self, key: str, selected_only: bool = False) -> list[dict]:
        layer = self.map.layers.get(key)
        if layer is None or layer.data is None:
            return []
        d = layer.data
        sel = set(self.map._selected[1]) if selected_only and self.map._selected[0] == key else None
        return [exchange.point_feature(d.lon[i], d.lat[i], {"name": d.label[i], "style": d.style[i],
                                                            "layer": key}, d.ids[i])
                for i in range(len(d.ids)) if sel is None or d.ids[i] in sel]

    def export_layer(self, key: str, path: str, selected_only: bool = False) -> int:
        if key == "warning":
            data = self.data.get("warning")
            features = [{"type": "Feature", "id": i, "geometry": g, "properties": {"title": t, "level": lv}}
                        for i, t, lv, g in zip(data.ids, data.title, data.level, data.geometry, strict=True)] \
                if data else []
        else:
            features = self.layer_features(key, selected_only)
        return exchange.write_geojson(path, features, key)

    def export_layer_dialog(self) -> None:
        keys = [s.key for s in reversed(S.LAYERS)]
        names = [tr(S.STYLES[k].name) for k in keys]
        if self.map._selected[1]:
            names.append(tr("当前选中"))
        name, ok = QInputDialog.getItem(self, tr("导出图层为 GeoJSON"), tr("图层"), names, 0, False)
        if not ok:
            return
        path, _ = QFileDialog.getSaveFileName(self, tr("导出图层为 GeoJSON"), "layer.geojson", "GeoJSON (*.geojson)")
        if not path:
            return
        if name == tr("当前选中"):
            n = self.export_layer(self.map._selected[0], path, selected_only=True)
        else:
            n = self.export_layer(keys[names.index(name)], path)
        QMessageBox.information(self, tr("导出"), tr("已导出 {n} 个要素。").format(n=n))

    def export_png(self, path: str, scale: float = 2.0) -> bool:
        return self.map.render_image(scale).save(path)

    def export_pdf(self, path: str) -> None:
        image = self.map.render_image(2.0)
        writer = QPdfWriter(path)
        writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        writer.setPageOrientation(writer.pageLayout().orientation().Landscape)
        writer.setResolution(200)
        writer.setTitle(tr("一张图"))
        painter = QPainter(writer)
        page = painter.viewport()
        size = image.size().scaled(page.size(), Qt.AspectRatioMode.KeepAspectRatio)
        painter.drawImage(page.x(), page.y(), image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                                             Qt.TransformationMode.SmoothTransformation))
        painter.end()

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("导出视图为 PNG"), "map.png", "PNG (*.png)")
        if path and not self.export_png(path):
            QMessageBox.warning(self, tr("导出"), tr("无法写入 {path}").format(path=path))

    def export_pdf_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, tr("导出视图为 PDF"), "map.pdf", "PDF (*.pdf)")
        if path:
            self.export_pdf(path)

    # ---- settings, language ------------------------------------------------------------------
    def _save_settings(self) -> None:
        settings = self.host.settings
        if settings is None:
            return
        layers = {}
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            key = item.data(KeyRole)
            if not key.startswith("overlay:"):
                layers[key] = item.checkState() == Qt.CheckState.Checked
        base = []
        for s in self.sources:
            if isinstance(s, MBTilesSource):
                base.append({"kind": "mbtiles", "path": str(s.path), "crs": s.crs})
            elif isinstance(s, XyzSource):
                base.append({"kind": "xyz", "url": s.url, "name": s.name, "crs": s.crs})
        settings.set("map", {"layers": layers, "base": base, "cluster": self.cluster_box.isChecked()})

    def _restore_settings(self) -> None:
        settings = self.host.settings
        saved = settings.get("map") if settings is not None else None
        if not isinstance(saved, dict):
            return
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            on = saved.get("layers", {}).get(item.data(KeyRole))
            if on is not None:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self._on_layer_toggled(item)
        self.cluster_box.setChecked(bool(saved.get("cluster", True)))
        for b in saved.get("base", []):
            try:
                if b.get("kind") == "mbtiles":
                    self.sources.append(MBTilesSource(b["path"], crs=b.get("crs")))
                elif b.get("kind") == "xyz":
                    self.sources.append(XyzSource(b.get("name") or "", b["url"], self._cache(),
                                                  crs=b.get("crs", "wgs84")))
            except (TileSourceError, KeyError) as e:
                log.warning("saved base map skipped: %s", e)
        if self.sources:
            self.map.set_tile_sources(self.sources)
            for src in self.sources:
                if isinstance(src, MBTilesSource):
                    self.check_completeness(src)

    def retranslate(self) -> None:
        self._retranslate_actions()
        self.area_box.setItemText(0, tr("定位到街道…"))
        self.find_box.setPlaceholderText(tr("查找名称（回车）"))
        self.layers_label.setText(tr("图层"))
        self.card_label.setText(tr("要素信息"))
        if not self.card.text():
            self.card.setText(tr("单击地图上的要素查看详情；右键查找周边资源。"))
        self.results_label.setText(self.results_label.text() or tr("查询结果"))
        if not self._results:
            self.results_label.setText(tr("查询结果"))
        self.results.setHorizontalHeaderLabels([tr(c) for c in RESULT_COLUMNS])
        self.results_filter.setPlaceholderText(tr("筛选结果"))
        self.export_results.setText(tr("导出 CSV"))
        self.cluster_box.setText(tr("缩小时聚合显示"))
        self.feed_open.setText(tr("在视频面板中打开"))
        self.feed_open.setToolTip(tr("在视频面板中选中并播放这一路现场视频"))
        if hasattr(self, "_epochs"):
            self.apply_stale()
        self._label_layer_list()
        self._show_as_of()
        if getattr(self, "card_record", None):
            self.show_card(*self.card_record)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            em = self.fontMetrics().height()
            self.side.setMinimumWidth(int(em * 16))
            self.side.setMaximumWidth(int(em * 30))
            self.splitter.setSizes([int(em * 22), max(self.width() - int(em * 22), 100)])
        super().changeEvent(event)

    def _on_side_toggled(self, on: bool) -> None:
        self._side_choice = on  # the officer's choice outlasts resizing
        self._apply_side()

    def side_shown(self) -> bool:
        choice = getattr(self, "_side_choice", None)
        return choice if choice is not None else self.width() >= self.fontMetrics().height() * 50

    def _apply_side(self) -> None:
        shown = self.side_shown()
        self.side.setVisible(shown)
        self.side_action.blockSignals(True)
        self.side_action.setChecked(shown)
        self.side_action.blockSignals(False)
        self.map.card_overlay.setVisible(not shown and bool(self.map.card_overlay.text()))
        self.map.place_overlays()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._apply_side()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        # The panel itself takes focus from the dock shortcut (Ctrl+2); arrows and +/- then move the map.
        self.map.keyPressEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        em = self.fontMetrics().height()
        return QSize(em * 50, em * 32)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        em = self.fontMetrics().height()  # a map narrower than this is no map: the dock keeps at least this much
        return QSize(em * 20, em * 14)

    def set_ui_scale(self, scale: float) -> None:
        """Symbols and labels at the wall's type size (the main window calls this in briefing mode)."""
        self.map.set_ui_scale(scale)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.feed_bridge.close()
        self.map.close_loader()
        for src in self.sources:
            src.close()
        if self.tile_cache is not None:
            self.tile_cache.close()
            self.tile_cache = None


class _NumberItem(QTableWidgetItem):
    """A distance cell that sorts by metres, not by its text."""

    def __init__(self, metres: float | None):
        super().__init__(format_distance(metres) if metres is not None else "")
        self.metres = metres if metres is not None else -1.0
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:
        if isinstance(other, _NumberItem):
            return self.metres < other.metres
        return super().__lt__(other)


def format_minutes(minutes: float) -> str:
    if minutes >= 60 * 24 and minutes % (60 * 24) == 0:
        return tr("{n} 天").format(n=int(minutes // (60 * 24)))
    if minutes >= 60 and minutes % 60 == 0:
        return tr("{n} 小时").format(n=int(minutes // 60))
    return tr("{n} 分钟").format(n=f"{minutes:g}")


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entity_def(name: str):
    from app.domain.entities import entity

    return entity(name)


def _copy(text: str) -> None:
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().setText(text)

