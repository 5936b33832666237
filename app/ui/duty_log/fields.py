"""The entry bar's per-kind field labels and the officer's way of typing a time.

The rules (which fields, which are required, the checks) are Qt-free in
app.services.intake; this module only names them for people.
"""

from __future__ import annotations

import datetime as dt
import re

from app.domain import clock
from app.ui.i18n import N_

KINDS = ("watch", "receive", "report", "dispatch", "handle", "note", "handover", "correction")
KIND_BUTTONS = {"watch": N_("守"), "receive": N_("接"), "report": N_("报"), "dispatch": N_("调"),
                "handle": N_("处"), "note": N_("记"), "handover": N_("交接"), "correction": N_("更正")}
KIND_HINTS = {"watch": N_("值守：点名、巡查、签到、设备检查"), "receive": N_("接报：来电、来文、系统告警"),
              "report": N_("报送：向上级或相关单位报告"), "dispatch": N_("调度：调派队伍、物资、专家"),
              "handle": N_("处置：跟进落实、办结"), "note": N_("记事：其他值班事项"),
              "handover": N_("交接：交接班事项"), "correction": N_("更正：更正所选的一条记录（原记录保留）")}

FIELD_LABELS = {
    "item": N_("事项"), "text": N_("内容"), "caller": N_("来电人"), "caller_unit": N_("来电单位"),
    "phone": N_("联系电话"), "place": N_("事发地点"), "lon": N_("经度"), "lat": N_("纬度"),
    "what": N_("事情经过"), "dead": N_("死亡"), "injured": N_("受伤"), "missing": N_("失踪"),
    "trapped": N_("被困"), "actions": N_("已采取措施"), "recipient": N_("报送对象"), "channel": N_("报送方式"),
    "target": N_("调派对象"), "destination": N_("前往地点"), "owner": N_("责任人"), "to_whom": N_("接班人"),
    "reason": N_("更正原因"),
}
# A kind may name its main text differently.
TEXT_LABELS = {"report": N_("报送内容"), "dispatch": N_("调度内容"), "handle": N_("处置情况"),
               "handover": N_("交接内容"), "correction": N_("更正后内容")}
PLACEHOLDERS = {"item": N_("点名 / 巡查 / 签到 / 设备检查"), "channel": N_("电话 / 传真 / 系统 / 短信"),
                "phone": N_("例：13800138000"), "lon": N_("113.27"), "lat": N_("23.13")}

_TIME_FORMS = (
    (re.compile(r"^(\d{1,2})[:：](\d{2})$"), "hm"),
    (re.compile(r"^(\d{1,2})-(\d{1,2})\s+(\d{1,2})[:：](\d{2})$"), "mdhm"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2})[:：](\d{2})(?::\d{2})?$"), "ymdhm"),
)


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """'14:32' (today), '11-23 14:32' or '2026-11-23 14:32', Beijing time; '' means now; None: not a time."""
    now = now or clock.now()
    text = text.strip()
    if not text:
        return now.replace(microsecond=0)
    for pattern, form in _TIME_FORMS:
        m = pattern.match(text)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        try:
            if form == "hm":
                return now.replace(hour=g[0], minute=g[1], second=0, microsecond=0)
            if form == "mdhm":
                return now.replace(month=g[0], day=g[1], hour=g[2], minute=g[3], second=0, microsecond=0)
            return dt.datetime(g[0], g[1], g[2], g[3], g[4], tzinfo=clock.BEIJING)
        except ValueError:
            return None
    return None
