"""Validation of records against the entity catalogue.

Used by the server on every pushed mutation and by the console's forms, so the
officer and the server see the same rule and the same message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from typing import Any

from app.domain.entities import SERVER_OWNED, Entity, Field
from app.domain.stocktake import counted_in


@dataclasses.dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message_zh: str
    message_en: str

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en


class ValidationError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message_en}" for p in problems))


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def parse_time(value: str) -> dt.datetime:
    """Parse an ISO-8601 time; a naive time is refused because it is ambiguous."""
    t = dt.datetime.fromisoformat(value)
    if t.tzinfo is None:
        raise ValueError("time without offset")
    return t


def _encodable(text: str) -> bool:
    """False for a lone surrogate (UTF-8 cannot encode it); checked in C, not per character."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: Any) -> bool:
    """False for what no database column can hold: NUL, lone surrogates, NaN and infinities."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v or not _encodable(v):
                return False
        elif isinstance(v, float):
            if not math.isfinite(v):
                return False
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True


def _parses(parse, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _check_value(f: Field, value: Any) -> Problem | None:
    if value is None:
        return None
    enum = f.enum
    if enum is not None:
        if value not in enum.codes():
            return Problem(f.name, "enum", f"取值无效：{value!r}",
                           f"not one of {', '.join(enum.codes())}: {value!r}")
        return None
    kind = f.kind
    if kind in ("str", "text"):
        if not isinstance(value, str):
            return Problem(f.name, "type", "应为文字", "must be text")
        if f.max_len is not None and len(value) > f.max_len:
            return Problem(f.name, "too_long", f"过长（最多 {f.max_len} 字）",
                           f"too long (at most {f.max_len} characters)")
        if not storable(value):
            return Problem(f.name, "nul", "含有非法字符", "contains a NUL or an unpaired surrogate character")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return Problem(f.name, "type", "应为整数", "must be a whole number")
        if abs(value) > 2**53:
            return Problem(f.name, "range", "数值超出范围", "number out of range")
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return Problem(f.name, "type", "应为数字", "must be a number")
    elif kind == "bool":
        if not isinstance(value, bool):
            return Problem(f.name, "type", "应为是/否", "must be true or false")
    elif kind == "id":
        if not is_uuid(value):
            return Problem(f.name, "type", "编号格式无效", "must be a UUID")
    elif kind == "time":
        if not _parses(parse_time, value):
            return Problem(f.name, "type", "时间格式无效（需带时区）",
                           "must be an ISO-8601 time with offset")
    elif kind == "json":
        if not storable(value):
            return Problem(f.name, "nul", "含有非法字符或超出范围的数字",
                           "holds a NUL, an unpaired surrogate or a number out of range")
    elif kind == "date":
        if not _parses(dt.date.fromisoformat, value):
            return Problem(f.name, "type", "日期格式无效", "must be an ISO date")
    return None


def _range_rules(ent: Entity, data: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    for name in ("headcount", "capacity", "occupancy", "dead", "injured", "missing", "trapped",
                 "affected", "quantity", "min_level", "size"):
        v = data.get(name)
        if isinstance(v, int) and not isinstance(v, bool) and v < 0 and name in ent.field_names:
            out.append(Problem(name, "negative", "不能为负数", "cannot be negative"))
    v = data.get("area_m2")
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v <= 0 and "area_m2" in ent.field_names:
        out.append(Problem("area_m2", "range", "面积必须大于 0", "area must be greater than 0"))
    lon, lat = data.get("lon"), data.get("lat")
    if isinstance(lon, (int, float)) and not -180 <= lon <= 180:
        out.append(Problem("lon", "range", "经度超出范围", "longitude out of range"))
    if isinstance(lat, (int, float)) and not -90 <= lat <= 90:
        out.append(Problem("lat", "range", "纬度超出范围", "latitude out of range"))
    # A stocktake asserting a count ("[count=N]" note, app/services/stock.py) may agree with the ledger.
    counted = counted_in(data.get("reason"), data.get("note")) is not None
    if ent.name == "stock_movement" and data.get("delta") == 0 and not counted:
        out.append(Problem("delta", "zero", "数量变化不能为 0", "quantity change cannot be 0"))
    return out


def check_record(ent: Entity, data: Mapping[str, Any], *, partial: bool = False) -> list[Problem]:
    """Return every problem with ``data`` as a record (or, when partial, a patch) of ``ent``."""
    problems: list[Problem] = []
    known = set(ent.field_names)
    for key in data:
        if key in SERVER_OWNED:
            problems.append(Problem(key, "server_owned", "该字段由服务器维护", "field is owned by the server"))
        elif key not in known:
            problems.append(Problem(key, "unknown_field", "未知字段", "unknown field"))
    if not partial:
        for name in ent.required:
            v = data.get(name)
            if v is None or (isinstance(v, str) and not v.strip()):
                problems.append(Problem(name, "required", "必填", "required"))
    else:
        for name in ent.required:
            if name in data and (data[name] is None or (isinstance(data[name], str) and not data[name].strip())):
                problems.append(Problem(name, "required", "必填，不能清空", "required, cannot be cleared"))
    for f in ent.fields:
        if f.name in data:
            p = _check_value(f, data[f.name])
            if p:
                problems.append(p)
    problems.extend(_range_rules(ent, data))
    return problems


def validate_record(ent: Entity, data: Mapping[str, Any], *, partial: bool = False) -> None:
    problems = check_record(ent, data, partial=partial)
    if problems:
        raise ValidationError(problems)
