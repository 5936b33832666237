"""Words for what the sync panel lists: record types, operations, outbox states, fields and values.

Record types, enum values and conflict kinds carry their own zh/en labels in app.domain;
operations, outbox states and field names do not, so they are named here (Chinese
source text through tr(), like every other label of the console).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from app.domain import clock
from app.domain.entities import ENTITIES
from app.domain.enums import ConflictKind, ConflictStatus
from app.ui import i18n
from app.ui.i18n import N_, tr

OPS = {"create": N_("新建"), "patch": N_("修改"), "append": N_("追加"), "delta": N_("出入库"),
       "delete": N_("删除")}

STATES = {"pending": N_("等待上传"), "in_flight": N_("上传中"), "applied": N_("已上传"),
          "applied_with_conflict": N_("已上传（有冲突）"), "rejected": N_("被拒绝"),
          "resubmitted": N_("已重新提交"), "quarantined": N_("待带班领导审核")}

# The fields officers edit most; any other field shows its wire name (which is at least stable).
FIELDS = {
    "title": N_("标题"), "name": N_("名称"), "summary": N_("概况"), "body": N_("内容"),
    "status": N_("状态"), "state": N_("状态"), "severity": N_("级别"), "category": N_("类别"),
    "subtype": N_("子类"), "response_level": N_("响应级别"), "place": N_("地点"), "address": N_("地址"),
    "occurred_at": N_("发生时间"), "closed_at": N_("结束时间"), "org_unit_id": N_("所属辖区"),
    "lon": N_("经度"), "lat": N_("纬度"), "dead": N_("死亡"), "injured": N_("受伤"), "missing": N_("失联"),
    "trapped": N_("被困"), "affected": N_("受影响"), "commander": N_("现场指挥"), "drill": N_("演练"),
    "kind": N_("类型"), "type": N_("类型"), "headcount": N_("人数"), "leader": N_("负责人"),
    "phone": N_("电话"), "capacity": N_("容纳人数"), "occupancy": N_("已安置人数"), "area_m2": N_("面积（平方米）"),
    "manager": N_("管理人"), "level": N_("等级"), "valid_from": N_("生效时间"), "valid_to": N_("失效时间"),
    "team_id": N_("队伍"), "incident_id": N_("关联事件"), "warehouse_id": N_("仓库"), "item_id": N_("物资"),
    "delta": N_("数量变化"), "reason": N_("原因"), "note": N_("备注"), "notes": N_("备注"),
    "description": N_("说明"), "quantity": N_("数量"), "grade": N_("等级"),
}


def entity_label(entity: str) -> str:
    ent = ENTITIES.get(entity)
    if ent is None:
        return entity
    return ent.label_zh if i18n.current() == "zh" else ent.label_en


def op_label(op: str) -> str:
    return tr(OPS[op]) if op in OPS else op


def state_label(state: str) -> str:
    return tr(STATES[state]) if state in STATES else state


def field_label(field: str | None) -> str:
    if not field:
        return "—"
    return tr(FIELDS[field]) if field in FIELDS else field


def conflict_kind_label(kind: str) -> str:
    try:
        return ConflictKind(kind).label(i18n.current())
    except ValueError:
        return kind


def conflict_status_label(status: str) -> str:
    try:
        return ConflictStatus(status).label(i18n.current())
    except ValueError:
        return status


def value_text(entity: str, field: str | None, value: Any) -> str:
    """A field's value as a person reads it: enum labels, yes/no, JSON for structures, "(empty)"."""
    if value is None or value == "":
        return tr("（空）")
    ent = ENTITIES.get(entity)
    enum = None
    if ent is not None and field in ent.field_names:
        enum = ent.field(field).enum
    if enum is not None and isinstance(value, str):
        try:
            return enum(value).label(i18n.current())
        except ValueError:
            return value
    if isinstance(value, bool):
        return tr("是") if value else tr("否")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def time_text(iso_text: str | None, short: bool = False) -> str:
    """Beijing time of an ISO-8601 string (as stored), "—" when there is none.

    ``short`` drops the year, for table cells (an outage can span days, so the date stays).
    """
    if not iso_text:
        return "—"
    try:
        t = clock.to_beijing(dt.datetime.fromisoformat(iso_text))
    except (TypeError, ValueError):
        return iso_text
    return t.strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def when_text(t: dt.datetime | None) -> str:
    return clock.to_beijing(t).strftime("%Y-%m-%d %H:%M:%S") if t else "—"


def message(zh: str, en: str) -> str:
    """One of a service's two wordings (NotAllowed, SignInFailed, a refusal) in the current language."""
    return zh if i18n.current() == "zh" else (en or zh)


def either(text: str) -> str:
    """A "中文 / English" message (as the server and the engine word some) in the current language."""
    zh, sep, en = (text or "").partition(" / ")
    return message(zh.strip(), en.strip()) if sep else text


def labelled(label: str, text: str) -> str:
    """"标签：内容" in Chinese, "Label: text" in English."""
    return f"{label}{'：' if i18n.current() == 'zh' else ': '}{text}"
