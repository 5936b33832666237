"""How the duty room writes: times, titles and the bodies of duty-log entries.

``Wording`` is the base of the renderer; it owns the text random stream and
knows the district, and every ``body_<what>`` method turns one planned log
entry into its Chinese body and its structured ``details``.
"""

from __future__ import annotations

import datetime as dt
import random

from app.demo import names as N
from app.demo.geography import District
from app.demo.ids import uuid4_text
from app.demo.libraries import Refs
from app.demo.numbers import between, pick
from app.demo.users import names as user_names
from app.demo.users import phones as user_phones
from app.domain.enums import WarningLevel

OFFSET = 8 * 3600
RECIPIENT = "越秀区委区政府总值班室、广州市应急管理局指挥中心"
LEVEL_ZH = {lv.value: lv.zh for lv in WarningLevel}
RESPONSE_ZH = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}
REPORT_ZH = {"flash": "速报", "first": "首报", "followup": "续报", "final": "终报"}

Body = tuple[str, dict | None]

_ROLLCALLERS = ("广州市应急管理局", "广州市应急管理局", "广东省应急管理厅", "越秀区委区政府总值班室")
_NOTICES = ("近期安全防范工作", "节假日值班值守工作", "汛期安全防范工作", "燃气安全专项检查",
            "高层建筑消防安全排查", "电动自行车火灾防范", "有限空间作业安全", "防灾减灾宣传")
_HOTLINE_ISSUES = ("楼道堆放杂物", "路面塌陷隐患", "广告牌松动", "树木倾斜", "井盖缺失", "违规充电")
_FALSE_ALARMS = ("现场无异常", "与此前接报为同一事件，重复报警", "已由物业自行处置完毕")


def uid(plan: dict) -> str:
    """The record id of a planned record (formatted once, when first needed)."""
    u = plan.get("uid")
    if u is None:
        u = plan["uid"] = plan["id"] if isinstance(plan["id"], str) else uuid4_text(plan["id"])
    return u


def warning_title(w: dict) -> str:
    level = LEVEL_ZH[w["level"]]
    return f"森林火险{level}预警" if w["type"] == "森林火险" else f"{w['type']}{level}预警信号"


class Wording:
    def __init__(self, district: District, refs: Refs, seed: int):
        self.d, self.refs = district, refs
        self.rng = random.Random(f"{seed}/text")
        self.user_names, self.user_phones = user_names(), user_phones()
        self.dates: dict[int, str] = {}
        rng = self.rng
        self.officials = [f"区长 {N.person(rng)}", f"常务副区长 {N.person(rng)}", f"副区长 {N.person(rng)}"]
        self.bureau = f"区应急管理局局长 {N.person(rng)}"
        # Looked up once: at scale 100 even a getattr per entry shows in the profile.
        self.bodies = {name.removeprefix("body_"): getattr(self, name) for name in dir(self)
                       if name.startswith("body_")}

    # -- time ------------------------------------------------------------------------------------

    def _date(self, t: int) -> str:
        day = (t + OFFSET) // 86400
        s = self.dates.get(day)
        if s is None:
            s = self.dates[day] = dt.date.fromordinal(719163 + day).isoformat()  # 719163: 1970-01-01
        return s

    def iso(self, t: int) -> str:
        day, s = divmod(t + OFFSET, 86400)
        date = self.dates.get(day) or self._date(t)
        return f"{date}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00"

    @staticmethod
    def hhmm(t: int) -> str:
        s = (t + OFFSET) % 86400
        return f"{s // 3600:02d}:{s // 60 % 60:02d}"

    def md(self, t: int) -> str:
        """The date code of an incident's name: "7·18"."""
        d = self._date(t)
        return f"{int(d[5:7])}·{int(d[8:10])}"

    def cn_date(self, t: int) -> str:
        d = self._date(t)
        return f"{int(d[:4])}年{int(d[5:7])}月{int(d[8:10])}日"

    # -- the watch -------------------------------------------------------------------------------

    def body_signin(self, t: int, p: dict) -> Body:
        n = self.user_names
        o1, o2 = (n[o] for o in p["officers"])
        return (f"{self.hhmm(t)} 接班。带班领导{n[p['leader']]}，值班员{o1}、{o2}，"
                "人员在岗，值班设备检查正常。", None)

    def body_comms(self, t: int, p: dict) -> Body:
        if self.rng.random() < 0.04:
            tail = f"{pick(self.rng, self.d.streets).short}800兆手台信号弱，已通知通信保障应急队检修。"
        else:
            tail = "与18个街道应急办通联正常。"
        return f"{self.hhmm(t)} 开展天通卫星电话、400兆/800兆电台通联测试，{tail}", None

    def body_inspect(self, t: int, p: dict) -> Body:
        state = "运行正常"
        if self.rng.random() < 0.05:
            road = pick(self.rng, pick(self.rng, self.d.streets).spec.roads)
            state = f"{road}积水监测点离线，已通知运维单位处理，其余运行正常"
        return f"{self.hhmm(t)} 巡查视频监控、三防监测系统、值班电话和传真，{state}。", None

    def body_rollcall(self, t: int, p: dict) -> Body:
        who = pick(self.rng, _ROLLCALLERS)
        secs = between(self.rng, 3, 25)
        return (f"{self.hhmm(t)} {who}视频点名，{secs}秒内应答，值班员{self.user_names[p['author']]}在岗。",
                {"answered_in_s": secs, "by": who})

    def body_note(self, t: int, p: dict) -> Body:
        rng = self.rng
        hh = self.hhmm(t)
        street = pick(rng, self.d.streets)
        summer = 5 <= int(self._date(t)[5:7]) <= 9
        kind = rng.random()
        if kind < 0.22:
            weather = pick(rng, ("多云，局部有阵雨", "多云间晴", "阴天有小雨", "雷阵雨") if summer
                           else ("晴", "多云", "阴天", "晴到多云"))
            lo = between(rng, 24, 27) if summer else between(rng, 8, 18)
            hi = lo + between(rng, 5, 9)
            body = (f"{hh} 收到广州市气象台天气预报：未来24小时{weather}，气温{lo}～{hi}℃。"
                    "已转发各街道及三防指挥部成员单位。")
        elif kind < 0.42:
            body = (f"{hh} 收到市应急管理局《关于做好{pick(rng, _NOTICES)}的通知》，已呈带班领导阅示，"
                    "并转发各街道、各有关部门。")
        elif kind < 0.62:
            body = f"{hh} {street.short}应急办报送当日值班情况：辖区总体平稳，无突发事件。"
        elif kind < 0.80:
            road = pick(rng, street.spec.roads)
            body = (f"{hh} 12345热线转来{street.short}{road}{pick(rng, _HOTLINE_ISSUES)}工单，"
                    f"已转{street.name}跟进处理。")
        elif kind < 0.92:
            body = f"{hh} 舆情监测：网络平台未发现涉越秀区突发事件相关舆情。"
        else:
            body = f"{hh} {pick(rng, self.officials)}来电询问全区值班值守情况，已如实报告。"
        return body, None

    def body_handover(self, t: int, p: dict) -> Body:
        s = p["ending"]
        incoming = self.user_names[s["officers"][1]]  # the second officer stays on (Planner.rota)
        return (f"{self.hhmm(t)} 交班。本班接报事件{s['incidents']}宗，{s['open']}宗仍在处置；"
                f"值班设备运行正常。已与{incoming}完成交接。", None)

    def body_warning(self, t: int, p: dict) -> Body:
        w = p["warning"]
        return (f"{self.hhmm(t)} 收到广州市气象台发布的{warning_title(w)}，已通过短信、广播、微信群向"
                "三防指挥部成员单位、各街道和社区居委会转发，提醒做好防御。", {"warning_id": uid(w)})

    def body_warning_lifted(self, t: int, p: dict) -> Body:
        w = p["warning"]
        return f"{self.hhmm(t)} {warning_title(w)}解除，已通知各街道及成员单位。", {"warning_id": uid(w)}

    def body_standby(self, t: int, p: dict) -> Body:
        team = p["team"]
        return (f"{self.hhmm(t)} 根据{warning_title(p['warning'])}，通知{team.name}前置备勤，"
                f"带队{team.leader}，电话{team.phone}。", {"team_id": team.id})

    # -- an incident's trail ---------------------------------------------------------------------

    def body_receive(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        drill = "【演练】" if inc["drill"] else ""
        return (f"{drill}{self.hhmm(t)} 接{inc['source']}：{inc['place']}，{inc['desc']}，"
                f"{inc['casualty_now']}。", {"source": inc["source"]})

    def body_cancel(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        why = pick(self.rng, _FALSE_ALARMS)
        return f"{self.hhmm(t)} 经{inc['street_name']}核实，{inc['title']}{why}，撤销事件。", None

    def body_phone_report(self, t: int, p: dict) -> Body:
        return f"{self.hhmm(t)} 已将{p['incident']['title']}情况电话报告区委区政府总值班室。", None

    def body_report(self, t: int, p: dict) -> Body:
        rep = p["report"]
        return (f"{self.hhmm(t)} 向{RECIPIENT}书面报送{p['incident']['title']}{REPORT_ZH[rep['kind']]}"
                "（经带班领导签发）。", {"report_id": uid(rep), "report_kind": rep["kind"]})

    def body_dispatch(self, t: int, p: dict) -> Body:
        d, inc = p["dispatch"], p["incident"]
        team = d["team"]
        return (f"{self.hhmm(t)} 通知{team.name}前往{inc['short_place']}处置，带队{team.leader}，"
                f"电话{team.phone}。", {"dispatch_id": uid(d), "team_id": team.id})

    def body_preposition(self, t: int, p: dict) -> Body:
        d = p["dispatch"]
        team = d["team"]
        where = (self.d.streets[team.street].short if team.street >= 0
                 else pick(self.rng, self.d.streets).short + "低洼易涝点")
        return (f"{self.hhmm(t)} 按{p['incident']['title']}响应要求，调派{team.name}前置{where}备勤。",
                {"dispatch_id": uid(d), "team_id": team.id})

    def body_supply(self, t: int, p: dict) -> Body:
        order = p["order"]
        goods = "、".join(f"{item.spec.name}{qty}{item.spec.unit}" for item, qty in order["items"])
        return (f"{self.hhmm(t)} 从{order['store'].name}调拨{goods}至{p['incident']['short_place']}。",
                {"allocation_order_id": uid(order)})

    def body_on_scene(self, t: int, p: dict) -> Body:
        return f"{self.hhmm(t)} {p['dispatch']['team'].name}到达现场，{p['incident']['progress']}。", None

    def body_close(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        drill = "【演练】" if inc["drill"] else ""
        return f"{drill}{self.hhmm(t)} {inc['result']}，{inc['casualty']}，事件处置完毕，结案。", None

    def body_instruction(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        return (f"{self.hhmm(t)} 传达{inc['instruction_by']}批示：“{inc['instruction']}”"
                f"已转{inc['street_name']}及区有关部门落实。", None)

    def body_consultation(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        return (f"{self.hhmm(t)} 召开{inc['title']}视频会商，区有关部门、{inc['street_name']}及专家参加。",
                None)

    def body_response_start(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        return (f"{self.hhmm(t)} 区三防指挥部根据{inc['warning_title']}，启动防{inc['subtype']}"
                f"{RESPONSE_ZH[inc['response']]}级应急响应，通知各街道、各成员单位进入应急状态。", None)

    def body_patrol(self, t: int, p: dict) -> Body:
        rng = self.rng
        return (f"{self.hhmm(t)} 汇总各街道巡查情况：共出动巡查人员{between(rng, 200, 900)}人次，"
                f"巡查低洼易涝点、危房、边坡{between(rng, 40, 160)}处，转移群众{between(rng, 0, 120)}人。",
                None)

    def body_response_end(self, t: int, p: dict) -> Body:
        inc = p["incident"]
        return (f"{self.hhmm(t)} 区三防指挥部终止防{inc['subtype']}{RESPONSE_ZH[inc['response']]}级应急响应，"
                "前置队伍陆续撤回。", None)

    def body_evacuate(self, t: int, p: dict) -> Body:
        name = self.refs.shelter_names[p["shelter"]]
        return (f"{self.hhmm(t)} 已转移受影响居民{p['evacuated']}人至{name}临时安置，街道安排专人值守。",
                {"shelter_id": p["shelter"], "evacuated": p["evacuated"]})
