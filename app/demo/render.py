"""Turning the planner's events into records: wording, places, coordinates, hashes.

Draws only from its own random stream (the planner's stream decides counts).
Emission also keeps time honest: records leave in non-decreasing time, and a
console's log entries in strictly increasing time, so its hash chain reads
the same whether walked in emission order or in ``occurred_at`` order.
"""

from __future__ import annotations

import datetime as dt

from app.demo import names as N
from app.demo import shapes
from app.demo.chain import HASH
from app.demo.geography import District
from app.demo.history import DEVICES, Event
from app.demo.ids import uuid4_text
from app.demo.incident_text import describe, describe_storm
from app.demo.libraries import Refs
from app.demo.numbers import between, pick
from app.demo.users import DUTY_PHONE
from app.demo.wording import RECIPIENT, Wording, uid, warning_title
from app.domain.hashchain import GENESIS

_DECISIONS = ["继续加强现场巡查和监测", "做好受影响群众安置和生活保障", "按要求续报事件进展"]
_CHANNELS = ["短信", "广播", "电子显示屏", "微信公众号", "12379预警平台"]


class Renderer(Wording):
    def __init__(self, district: District, refs: Refs, seed: int):
        super().__init__(district, refs, seed)
        self.chain = dict.fromkeys(DEVICES, GENESIS)
        self.last = 0
        self.last_on: dict[str, int] = {}
        self.entities = {name: getattr(self, name) for name in (
            "shift", "handover", "duty_log_entry", "incident", "incident_report", "dispatch", "instruction",
            "consultation", "stock_movement", "allocation_order", "warning")}

    def render(self, event: Event) -> tuple[str, dict]:
        t, _, entity, plan = event
        if t < self.last:
            t = self.last
        if entity == "duty_log_entry":
            after = self.last_on.get(plan["device"], 0) + 1
            if t < after:
                t = after
            self.last_on[plan["device"]] = t
        self.last = t
        return entity, self.entities[entity](t, plan)

    def _org(self, inc: dict | None) -> str:
        if inc is None or inc["street"] < 0:
            return self.d.district.id
        return self.d.streets[inc["street"]].id

    # -- the watch -------------------------------------------------------------------------------

    def shift(self, t: int, p: dict) -> dict:
        return {"id": p["id"], "org_unit_id": self.d.district.id, "starts_at": self.iso(t),
                "ends_at": self.iso(p["end"]), "officer_ids": list(p["officers"]), "leader_id": p["leader"],
                "officer_phone": DUTY_PHONE, "leader_phone": self.user_phones[p["leader"]],
                "status": p["status"]}

    def handover(self, t: int, p: dict) -> dict:
        s = p["shift"]
        names = self.user_names
        items = [{"item": "未结事件", "count": s["open"]},
                 {"item": "本班接报事件", "count": s["incidents"]},
                 {"item": "值班设备", "status": "正常",
                  "text": "值班电话、传真、视频会商系统、卫星电话、800兆手台运行正常"}]
        return {"id": uid(p), "org_unit_id": self.d.district.id, "shift_id": s["id"],
                "next_shift_id": p["next"], "items": items, "outgoing_id": p["outgoing"],
                "incoming_id": p["incoming"], "signed_out_at": self.iso(t),
                "signed_in_at": self.iso(max(t, p["signed_in"])), "chain_head": self.chain[p["device"]],
                "notes": f"{names[p['outgoing']]}向{names[p['incoming']]}交班，"
                         f"本班接报事件{s['incidents']}宗，{s['open']}宗转下一班跟进。"}

    def duty_log_entry(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        body, details = self.bodies[p["what"]](t, p)
        data = {"id": uuid4_text(p["id"]), "org_unit_id": self._org(inc), "kind": p["kind"], "body": body,
                "occurred_at": self.iso(t)}
        if inc is not None:
            data["incident_id"] = inc.get("uid") or uid(inc)
        data["author_id"] = p["author"]
        data["device_id"] = p["device"]
        data["shift_id"] = p["shift"]
        if details:
            data["details"] = details
        data["drill"] = p["drill"]
        prev = data["prev_hash"] = self.chain[p["device"]]
        data["hash"] = self.chain[p["device"]] = HASH(prev, data)
        return data

    # -- incidents -------------------------------------------------------------------------------

    def incident(self, t: int, p: dict) -> dict:
        p["t0"] = t
        if p["hazard"] is None:
            describe_storm(self, t, p)
        else:
            describe(self, t, p)
        data = {"id": uid(p), "org_unit_id": self._org(p), "title": p["title"], "category": p["category"],
                "subtype": p["subtype"], "severity": p["severity"]}
        if p["response"]:
            data["response_level"] = p["response"]
        data.update(status=p["status"], lon=p["lon"], lat=p["lat"], place=p["place"], occurred_at=self.iso(t),
                    summary=p["summary"], dead=p["dead"], injured=p["injured"], missing=0,
                    trapped=p["trapped"], affected=p["affected"])
        if p["status"] != "reported":
            data["commander"] = p["commander"]
        if p["close"] is not None:
            data["closed_at"] = self.iso(p["close"])
        data["drill"] = p["drill"]
        return data

    def _report_body(self, kind: str, inc: dict) -> str:
        when = f"{self.cn_date(inc['t0'])}{self.hhmm(inc['t0'])}许"
        if kind == "flash":
            return (f"【速报】{when}，{inc['place']}发生{inc['subtype']}，{inc['desc']}，"
                    f"{inc['casualty_now']}。{inc['street_name']}和区有关部门已赶赴现场处置，详情续报。")
        if kind == "first":
            return (f"【首报】关于{inc['title']}的报告：{when}，{inc['place']}{inc['desc']}。"
                    f"接报后，区应急管理局立即通知属地街道和相关队伍赶赴现场处置。{inc['casualty_now']}。")
        if kind == "followup":
            return (f"【续报】{inc['title']}最新情况：{inc['progress']}。{inc['casualty_now']}。"
                    "区应急管理局将持续跟踪。")
        close = inc["close"]
        return (f"【终报】{inc['title']}已于{self.cn_date(close)}{self.hhmm(close)}处置完毕。"
                f"{inc['result']}，{inc['casualty']}。下一步将督促属地做好善后工作。")

    def incident_report(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        data = {"id": uid(p), "org_unit_id": self._org(inc), "incident_id": uid(inc), "kind": p["kind"],
                "seq": p["seq"], "body": self._report_body(p["kind"], inc)}
        if p["due"] is not None:
            data["due_at"] = self.iso(p["due"])
        data.update(submitted_at=self.iso(t), signed_by=p["leader"],
                    signed_at=self.iso(t - between(self.rng, 120, 600)), recipient=RECIPIENT, drill=False)
        return data

    def dispatch(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        data = {"id": uid(p), "org_unit_id": self._org(inc), "team_id": p["team"].id,
                "incident_id": uid(inc), "state": p["state"], "ordered_at": self.iso(t)}
        if p["arrived"] is not None:
            data["arrived_at"] = self.iso(max(t, p["arrived"]))
        if p["returned"] is not None:
            data["returned_at"] = self.iso(max(t, p["returned"]))
        data["note"] = "前置备勤" if p.get("preposition") else f"前往{inc['short_place']}处置"
        data["drill"] = inc["drill"]
        return data

    def instruction(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        data = {"id": uid(p), "org_unit_id": self._org(inc), "incident_id": uid(inc),
                "given_by": inc["instruction_by"], "given_at": self.iso(t), "body": inc["instruction"],
                "owner": inc["street_name"], "due_at": self.iso(t + 4 * 3600),
                "status": "done" if p["closed"] else "open"}
        if p["closed"]:
            data["closed_at"] = self.iso(p["closed"])
        return data

    def consultation(self, t: int, p: dict) -> dict:
        rng = self.rng
        inc = p["incident"]
        people = [{"name": pick(rng, self.officials).split()[-1], "unit": "越秀区人民政府", "role": "主持"},
                  {"name": self.bureau.split()[-1], "unit": "越秀区应急管理局", "role": "参会"},
                  {"name": N.person(rng), "unit": inc["street_name"], "role": "参会"},
                  {"name": N.person(rng), "unit": pick(rng, ("华南理工大学", "中山大学", "广州市气象台")),
                   "role": "专家"}]
        return {"id": uid(p), "org_unit_id": self._org(inc), "title": f"{inc['title']}视频会商",
                "incident_id": uid(inc), "scheduled_at": self.iso(t),
                "started_at": self.iso(max(t, p["started"])), "ended_at": self.iso(max(t, p["ended"])),
                "participants": people,
                "agenda": f"1. 通报{inc['title']}情况；2. 研判发展趋势；3. 部署下一步处置工作。",
                "minutes": f"会议听取了{inc['street_name']}和区应急管理局关于{inc['title']}的情况汇报，"
                           f"专家分析了发展趋势。会议要求：{'；'.join(_DECISIONS)}。",
                "decisions": list(_DECISIONS)}

    # -- supplies --------------------------------------------------------------------------------

    def stock_movement(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        store, item = p["store"], p["item"]
        data = {"id": uid(p), "org_unit_id": store.org_id, "warehouse_id": store.id, "item_id": item.id,
                "delta": p["delta"], "reason": p["reason"]}
        if inc is not None:
            data["incident_id"] = uid(inc)
        if p["expires"] is not None:
            data["expires_on"] = dt.date.fromordinal(719163 + p["expires"]).isoformat()
        note = p["note"].format(title=inc["title"]) if inc is not None else p["note"]
        data.update(occurred_at=self.iso(t), note=note, drill=False)
        return data

    def allocation_order(self, t: int, p: dict) -> dict:
        inc = p["incident"]
        items = [{"item_id": item.id, "name": item.spec.name, "unit": item.spec.unit, "quantity": qty}
                 for item, qty in p["items"]]
        data = {"id": uid(p), "org_unit_id": p["store"].org_id, "incident_id": uid(inc),
                "from_warehouse_id": p["store"].id, "to_place": inc["short_place"], "items": items,
                "status": "delivered" if p["delivered"] else "shipped", "ordered_at": self.iso(t)}
        if p["delivered"]:
            data["delivered_at"] = self.iso(max(t, p["delivered"]))
        data["drill"] = False
        return data

    # -- warnings --------------------------------------------------------------------------------

    def _warning_area(self, partial: bool) -> tuple[dict, list[str]]:
        """The warned area (GeoJSON) and the streets it covers."""
        district = self.d.district
        if not partial:
            ring = [list(c) for c in district.boundary["coordinates"][0]]
            return {"type": "Polygon", "coordinates": [ring]}, [s.id for s in self.d.streets]
        rng = self.rng
        centre = pick(rng, self.d.streets)
        cx, cy = shapes.centroid(centre.ring)
        blob = shapes.ellipse(cx, cy, rng.uniform(2000, 3500), rng.uniform(1600, 2800))
        ring = shapes.clip_convex(district.ring, blob)
        regions = [s.id for s in self.d.streets if shapes.point_in_ring(*shapes.centroid(s.ring), ring)]
        if centre.id not in regions:
            regions.append(centre.id)
        return shapes.polygon(shapes.to_lonlat_ring(self.d.frame, ring)), regions

    def _warning_body(self, p: dict, title: str, date: str) -> str:
        rng = self.rng
        kind = p["type"]
        if kind == "暴雨":
            return (f"广州市气象台{date}在越秀区发布{title}：预计未来6小时内将出现{pick(rng, (50, 80, 100))}"
                    "毫米以上降水，请注意防御，低洼地区、地下空间注意防范内涝。")
        if kind == "台风":
            name = (p["episode"] or {}).get("name") or "—"
            return (f"广州市气象台{date}发布{title}：受台风“{name}”影响，未来24小时越秀区将出现8～10级阵风，"
                    "请做好防风防雨工作。")
        if kind == "高温":
            return (f"广州市气象台{date}发布{title}：未来24小时越秀区最高气温将升至"
                    f"{between(rng, 35, 38)}℃以上，请注意防暑降温，户外作业避开午间高温时段。")
        if kind == "寒冷":
            return (f"广州市气象台{date}发布{title}：受冷空气影响，越秀区最低气温将降至"
                    f"{between(rng, 3, 8)}℃左右，请注意防寒保暖，各街道做好临时避寒场所开放准备。")
        return f"广州市气象台{date}发布{title}：越秀山、白云山周边森林火险气象等级高，严禁野外用火。"

    def warning(self, t: int, p: dict) -> dict:
        area, regions = self._warning_area(p["partial"])
        title = warning_title(p)
        return {"id": uid(p), "org_unit_id": self.d.district.id, "title": f"广州市越秀区{title}",
                "type": p["type"], "level": p["level"], "status": p["status"], "regions": regions,
                "area": area,
                "audience": "三防指挥部成员单位、各街道、社区居委会、重点企事业单位",
                "channels": list(_CHANNELS), "valid_from": self.iso(t), "valid_to": self.iso(max(t, p["to"])),
                "body": self._warning_body(p, title, f"{self.cn_date(t)}{self.hhmm(t)}"), "drill": False}
