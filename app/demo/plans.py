"""The plan library: 413 plans (seed 003:113) with a checklist per response level.

1 district general plan + 25 district special plans + 29 member-unit plans +
7 plans in each of the 18 streets + 10 key-site plans + one "一页纸" plan per
community (222) = 413. The plans follow the org tree, so they do not grow
with ``scale``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from app.demo import catalog as C
from app.demo.geography import District, Unit
from app.demo.ids import random_id

LEVELS = ("IV", "III", "II", "I")

_COMMON = {
    "IV": ["值班员接报后10分钟内报告带班领导", "通知属地街道和相关专业队伍赶赴现场先期处置",
           "30分钟内电话首报区委区政府总值班室、市应急管理局，1小时内书面报告", "跟踪现场处置进展，按时续报"],
    "III": ["启动Ⅲ级应急响应，区专项指挥部副总指挥赶赴现场", "成立现场指挥部，开设视频会商",
            "调派区级专业队伍、物资和装备", "发布预警信息和公众防范提示"],
    "II": ["启动Ⅱ级应急响应，区应急委主任坐镇指挥", "请求市级应急力量支援",
           "组织人员转移安置，开放应急避护场所", "统一发布权威信息，做好舆情引导"],
    "I": ["启动Ⅰ级应急响应，在市应急指挥部统一领导下开展处置", "全区应急力量进入战时状态",
          "落实交通管制、人员转移和社会面管控措施"],
}
_SPECIFIC = {
    "三防": "巡查低洼易涝点、地下空间、危房和边坡，落实“人盯人”转移",
    "地质灾害": "对隐患点实施专人监测，发现险情立即转移坡脚住户",
    "火灾": "通知消防救援大队出动，组织楼内群众疏散",
    "燃气": "通知燃气抢险队关阀断气，设置警戒区并禁止明火",
    "危险化学品": "划定警戒区，通知危化品应急处置队侦检堵漏",
    "道路交通": "通知交警实施交通管制，医疗救援队转运伤员",
    "建筑施工": "责令工地停工，组织搜救被困人员并监测周边建筑",
    "停电": "通知供电部门抢修，保障医院、地铁等重要用户应急供电",
    "供水": "通知供水部门关阀抢修，安排送水车临时供水",
    "人员密集场所": "实施限流和单向通行，防止拥挤踩踏",
    "电梯": "通知维保单位和消防员盘车放人",
    "房屋险情": "转移危房内居民，组织房屋安全鉴定",
    "公共卫生": "通知疾控部门开展流行病学调查和消杀",
    "食物中毒": "封存可疑食品和留样，组织患者送医",
    "传染病": "落实病例隔离、密接排查和重点场所消杀",
}


def checklist(subtype: str, community: bool = False) -> dict[str, list[str]]:
    out = {level: list(steps) for level, steps in _COMMON.items()}
    extra = _SPECIFIC.get(subtype)
    if extra:
        out["IV"].insert(1, extra)
    if community:
        out["IV"] = ["社区灾害信息员发现险情立即报告街道应急办", "组织楼长、网格员通知居民避险",
                     *([extra] if extra else []), "引导居民前往就近应急避护场所"]
    return out


def _issued(rng: random.Random) -> tuple[str, str]:
    day = dt.date(2021, 3, 1) + dt.timedelta(days=rng.randrange(1750))
    return f"{day.year}版", day.isoformat()


def _plan(rng: random.Random, org: Unit, title: str, level: str, category: str, subtype: str,
          community: bool = False) -> tuple[str, dict]:
    version, issued = _issued(rng)
    data = {"id": random_id(rng), "org_unit_id": org.id, "title": title, "level": level}
    if category:
        data["category"] = category
    if subtype:
        data["subtype"] = subtype
    data.update(checklist=checklist(subtype, community), version=version, issued_at=issued)
    return "plan", data


def plan_records(rng: random.Random, d: District) -> Iterator[tuple[str, dict]]:
    district = d.district
    yield _plan(rng, district, "越秀区突发事件总体应急预案", "district", "", "")
    for name, category, subtype in C.DISTRICT_SPECIAL_PLANS:
        yield _plan(rng, district, f"越秀区{name}应急预案", "district", category, subtype)
    for unit in C.MEMBER_UNITS:
        yield _plan(rng, district, f"{unit}突发事件应急预案", "department", "", "")
    for site in C.KEY_SITE_PLANS:
        yield _plan(rng, district, f"{site}专项应急预案", "site", "", "")
    for street in d.streets:
        for title, category, subtype in C.STREET_PLANS:
            yield _plan(rng, street, f"{street.name}{title}", "street", category, subtype)
    for group in d.communities:
        for community in group:
            yield _plan(rng, community, f"{community.name}“一页纸”应急预案", "community", "natural", "三防",
                        community=True)
