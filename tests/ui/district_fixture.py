"""A small, realistic district for UI tests and screenshots (until app.demo.district lands).

Every record is written with app.store.records.bulk_load, the same path the demo
generator uses, so switching to ``generate_records(scale=1)`` changes no test.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import uuid
import warnings

from app.domain import clock


def _id() -> str:
    return str(uuid.uuid4())


def _t(now: dt.datetime, **delta: float) -> str:
    return clock.iso(now + dt.timedelta(**delta))


def fixture_records(now: dt.datetime | None = None) -> list[tuple[str, dict]]:
    now = (now or clock.now()).replace(microsecond=0)
    leader = _id()
    rows: list[tuple[str, dict]] = [
        ("user", {"id": leader, "username": "liming", "name": "李明", "role": "leader", "active": True}),
        ("shift", {"id": _id(), "starts_at": _t(now, hours=-2), "ends_at": _t(now, hours=22),
                   "leader_id": leader, "status": "open"}),
    ]
    incidents = [
        ("越秀北路暴雨积水，两辆车被困", "natural", "III", "responding", {"minutes": -35}, "越秀北路"),
        ("东风中路燃气管道泄漏", "accident", "II", "responding", {"hours": -2}, "东风中路"),
        ("北京街道老旧房屋墙体开裂", "natural", "IV", "verified", {"hours": -5}, "北京街道"),
        ("环市东路两车追尾", "accident", "IV", "reported", {"minutes": -8}, "环市东路"),
        ("登峰街道山体滑坡隐患", "natural", "III", "reported", {"hours": -20}, "登峰街道"),
        ("中山六路商铺火情", "accident", "IV", "closed", {"hours": -30}, "中山六路"),
    ]
    for title, category, severity, status, ago, place in incidents:
        rows.append(("incident", {"id": _id(), "title": title, "category": category, "severity": severity,
                                  "status": status, "occurred_at": _t(now, **ago), "place": place,
                                  "drill": False}))
    rows.append(("incident", {"id": _id(), "title": "演练：公园前地铁站客流疏散", "category": "accident",
                              "severity": "IV", "status": "responding", "occurred_at": _t(now, hours=-1),
                              "drill": True}))
    for name, status in [("区应急救援大队", "standby"), ("区消防救援站", "dispatched"),
                         ("北京街道兼职队", "standby"), ("登峰街道兼职队", "on_scene"),
                         ("蓝天救援队", "standby"), ("区供电抢修队", "unavailable")]:
        rows.append(("team", {"id": _id(), "name": name, "type": "professional", "headcount": 30,
                              "status": status}))
    for name, status, capacity, occupancy in [("越秀公园应急避难场所", "open", 5000, 1200),
                                              ("二沙体育训练中心", "full", 800, 800),
                                              ("东山广场", "closed", 3000, 0)]:
        rows.append(("shelter", {"id": _id(), "name": name, "area_m2": capacity * 1.5, "capacity": capacity,
                                 "occupancy": occupancy, "status": status}))
    warehouse, tents, water = _id(), _id(), _id()
    rows += [
        ("warehouse", {"id": warehouse, "name": "区应急物资仓库", "area_m2": 600.0}),
        ("supply_item", {"id": tents, "name": "救灾帐篷", "unit": "顶", "min_level": 100}),
        ("supply_item", {"id": water, "name": "瓶装饮用水", "unit": "箱", "min_level": 50}),
        ("stock_movement", {"id": _id(), "warehouse_id": warehouse, "item_id": tents, "delta": 40,
                            "reason": "inbound", "occurred_at": _t(now, days=-40)}),
        ("stock_movement", {"id": _id(), "warehouse_id": warehouse, "item_id": water, "delta": 200,
                            "reason": "inbound", "occurred_at": _t(now, days=-300),
                            "expires_on": (now + dt.timedelta(days=12)).date().isoformat()}),
    ]
    for title, level, status in [("暴雨橙色预警", "orange", "issued"), ("雷电黄色预警", "yellow", "updated"),
                                 ("高温蓝色预警", "blue", "lifted")]:
        rows.append(("warning", {"id": _id(), "title": title, "level": level, "status": status}))
    for n, grade in enumerate(["orange", "yellow", "yellow", "blue", "blue", "blue"]):
        rows.append(("risk_source", {"id": _id(), "name": f"风险点 {n + 1}", "grade": grade,
                                     "status": "identified"}))
    return rows


def district_records() -> list[tuple[str, dict]]:
    """The demo district when app.demo.district exists, else the small fixture above."""
    if importlib.util.find_spec("app.demo.district") is not None:
        try:
            from app.demo.district import generate_records

            return list(generate_records(scale=1))
        except Exception as e:  # the demo has its own tests; the UI tests still need a district
            warnings.warn(f"app.demo.district failed ({e!r}); using the small UI fixture", stacklevel=2)
    return fixture_records()
