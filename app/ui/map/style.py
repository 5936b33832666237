"""How each layer looks: symbol, size and one pre-built brush per style key, legend text from the enums."""

from __future__ import annotations

import dataclasses
from functools import cache

from PySide6.QtGui import QBrush, QColor, QPen

from app.domain import enums as E
from app.ui import i18n
from app.ui.i18n import N_


@dataclasses.dataclass(frozen=True)
class LayerStyle:
    key: str
    name: str  # Chinese source, shown through tr()
    symbol: str
    size: float
    colours: tuple[tuple[str, str], ...]  # (style code, colour) in legend order, worst first
    enum: type[E.Coded] | None = None
    visible: bool = True
    extra_labels: tuple[tuple[str, str], ...] = ()  # (code, Chinese source) for codes not in an enum
    always_label: bool = False  # names shown at every zoom (a handful of features, e.g. field feeds)
    outline: str = "#ffffff"
    on_top: bool = False  # drawn above the place names (a handful of features that must not hide)

    def colour(self, code: str) -> str:
        return dict(self.colours).get(code, "#7f7f7f")

    def rank(self, code: str) -> int:
        codes = [c for c, _ in self.colours]
        return codes.index(code) if code in codes else len(codes)

    def label(self, code: str) -> str:
        if self.enum is not None:
            try:
                return self.enum(code).label(i18n.current())
            except ValueError:
                return code
        return i18n.tr(dict(self.extra_labels).get(code, code))


LAYERS: tuple[LayerStyle, ...] = (
    LayerStyle("warning", N_("预警区域"), "s", 12, (("red", "#d7191c"), ("orange", "#fd8d3c"), ("yellow", "#f2c80f"),
                                                 ("blue", "#2c7bb6")), E.WarningLevel),
    LayerStyle("risk_source", N_("风险隐患点"), "d", 11, (("red", "#e41a1c"), ("orange", "#ff7f00"),
                                                     ("yellow", "#f2c80f"), ("blue", "#377eb8")), E.RiskGrade),
    LayerStyle("incident_closed", N_("已结案事件"), "o", 6, (("I", "#9a9a9a"), ("II", "#9a9a9a"), ("III", "#a8a8a8"),
                                                       ("IV", "#b5b5b5")), E.Severity, visible=False),
    LayerStyle("shelter", N_("避难场所"), "h", 13, (("full", "#e6550d"), ("open", "#1b9e77"), ("closed", "#8c8c8c")),
               E.ShelterStatus),
    LayerStyle("warehouse", N_("物资仓库"), "s", 11, (("alert", "#d7191c"), ("ok", "#8c6d31")),
               extra_labels=(("alert", N_("库存低于下限")), ("ok", N_("库存正常")))),
    LayerStyle("team", N_("救援队伍"), "t1", 13, (("on_scene", "#d73027"), ("dispatched", "#f46d43"),
                                               ("returning", "#8073ac"), ("prepositioned", "#35978f"),
                                               ("standby", "#1a9850"), ("unavailable", "#999999")), E.TeamStatus),
    LayerStyle("feed", N_("现场视频"), "star", 24, (("down", "#b71c1c"), ("retrying", "#f9a825"), ("live", "#00897b")),
               extra_labels=(("live", N_("在线")), ("retrying", N_("重连中")), ("down", N_("中断"))),
               always_label=True, outline="#1f2a30", on_top=True),
    LayerStyle("incident", N_("在办事件"), "o", 12, (("I", "#b2001a"), ("II", "#f03b20"), ("III", "#feb24c"),
                                                ("IV", "#2c7bb6")), E.Severity),
)
STYLES = {s.key: s for s in LAYERS}
POINT_LAYERS = tuple(s.key for s in LAYERS if s.key != "warning")
STORE_LAYERS = tuple(k for k in POINT_LAYERS if k != "feed")  # read from the cache (feeds come from the video side)

# A stale feature (ANCHORS 4.9): faded fill, a grey outline.
STALE_ALPHA = 70
STALE_OUTLINE = "#8a8a8a"
STALE_SAMPLE = {"team": "standby", "shelter": "open"}  # the legend's faded sample: the commonest colour


@cache
def brush(colour: str, alpha: int = 255) -> QBrush:
    c = QColor(colour)
    c.setAlpha(alpha)
    return QBrush(c)


@cache
def pen(colour: str, width: float = 1.0, alpha: int = 255) -> QPen:
    c = QColor(colour)
    c.setAlpha(alpha)
    p = QPen(c, width)
    p.setCosmetic(True)
    return p


OUTLINE = "#ffffff"
