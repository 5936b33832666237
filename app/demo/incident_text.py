"""What an incident is called and how it is described: place, title, casualties, summary.

Run once per incident when its record is rendered; the words are kept on the
incident's plan, so every later log entry, report and dispatch about it tells
the same story.
"""

from __future__ import annotations

from app.demo import names as N
from app.demo.hazards import CROWD_SPOTS, SITES, SOURCES, Hazard
from app.demo.numbers import below, between, pick
from app.demo.wording import LEVEL_ZH, RESPONSE_ZH, Wording

STORMS = {"rainstorm": "暴雨", "typhoon": "台风"}
# What "{k}" counts in a hazard's texts; elsewhere it is people moved out or cars moved away.
_K = {"elevator": "trapped", "food": "injured", "disease": "affected", "crowd": "affected",
      "building": "affected", "geo": "affected"}


def _casualties(hz: Hazard, w: Wording, severity: str, drill: bool) -> tuple[int, int, int, int]:
    rng = w.rng
    dead = 1 if rng.random() < hz.dead_p else 0
    injured = between(rng, 1, hz.injured[1]) if rng.random() < hz.injured[0] else 0
    trapped = between(rng, 1, hz.trapped[1]) if rng.random() < hz.trapped[0] else 0
    affected = between(rng, *hz.affected) if hz.affected[1] else 0
    if hz.key == "food":
        injured = max(injured, 3)
    if severity == "III":
        injured += between(rng, 3, 8) if hz.injured[0] else 0
        dead += between(rng, 0, 2) if hz.dead_p else 0
        affected *= 3
    elif severity == "II":
        injured += between(rng, 8, 20)
        affected *= 10
    if drill:
        dead = injured = trapped = 0
    return dead, injured, trapped, affected


def casualty_text(p: dict, now: bool = False) -> str:
    """"2人受伤，被困1人已全部救出" — as known at the first call (``now``) or at the end."""
    if now and p["drill"]:
        return "演练科目，无实际人员伤亡"
    parts = []
    if p["dead"]:
        parts.append(f"{p['dead']}人死亡")
    if p["injured"]:
        parts.append(f"{p['injured']}人受伤")
    if p["trapped"]:
        parts.append(f"{p['trapped']}人被困" if now else f"被困{p['trapped']}人已全部救出")
    if not parts:
        return "暂无人员伤亡报告" if now else "无人员伤亡"
    return "，".join(parts)


def describe(w: Wording, t: int, p: dict) -> None:
    rng = w.rng
    hz: Hazard = p["hazard"]
    street = w.d.streets[p["street"]]
    community = pick(rng, w.d.communities[p["street"]])
    stem = community.name.removesuffix("社区")
    roads = street.spec.roads
    i = below(rng, len(roads))
    road, road2 = roads[i], roads[(i + 1 + below(rng, len(roads) - 1)) % len(roads)]
    floor = between(rng, 2, 28)
    fill = {"road": road, "road2": road2, "house": f"{road}{between(rng, 1, 320)}号",
            "home": stem + pick(rng, N.HOMES), "estate": stem + pick(rng, N.ESTATES),
            "school": pick(rng, (f"越秀区{stem}小学", f"{stem}中学", f"越秀区{stem}幼儿园")),
            "site": stem + pick(rng, SITES), "spot": pick(rng, CROWD_SPOTS), "n": between(rng, 15, 60),
            "floor": floor, "floor2": floor + 1,
            "b": between(rng, 1, 12), "area": between(rng, 5, 60)}
    dead, injured, trapped, affected = _casualties(hz, w, p["severity"], p["drill"])
    affected = p.get("evacuated", affected)  # the scripted present says how many are in the shelter
    counts = {"trapped": trapped, "injured": injured, "affected": affected}
    fill["k"] = counts.get(_K.get(hz.key, ""), 0) or between(rng, 5, 60)
    template = pick(rng, hz.descriptions)
    desc = template.format(**(fill | {"house": ""}))  # the house number is already in ``place``
    # The incident is named after the most specific place its description mentions.
    named = next((fill[key] for key in ("spot", "school", "site", "estate", "home")
                  if "{" + key + "}" in template), road)
    drill = "【演练】" if p["drill"] else ""
    p.update(title=f"{drill}{w.md(t)}{named}{hz.word}", category=hz.category, subtype=hz.subtype,
             place=f"越秀区{street.short}{fill['house']}", short_place=f"{street.short}{road}",
             street_name=street.name, desc=desc, dead=dead, injured=injured, trapped=trapped,
             affected=affected, source=pick(rng, SOURCES).format(street=street.short),
             progress=pick(rng, hz.progress).format(**fill), result=pick(rng, hz.results).format(**fill))
    p["lon"], p["lat"] = w.d.point_in(rng, community)
    p["casualty_now"] = casualty_text(p, now=True)
    p["casualty"] = casualty_text(p)
    grave = p["severity"] != "IV"
    p["commander"] = pick(rng, w.officials[1:]) if grave else f"{street.short}办事处副主任 {N.person(rng)}"
    p["instruction_by"] = pick(rng, w.officials) if grave else w.bureau
    p["instruction"] = pick(rng, (
        f"请{street.name}和区有关部门全力做好救援处置，确保群众生命安全，及时续报情况。",
        "要加强现场巡查值守，严防次生灾害，妥善安置受影响群众。",
        "请区应急管理局牵头，会同属地街道做好善后处置和原因调查工作。"))
    when = f"{w.cn_date(t)}{w.hhmm(t)}许"
    if p["status"] == "cancelled":
        p["summary"] = f"{when}接报{p['place']}{desc}，经核实为误报，已撤销。"
    elif p["status"] == "closed":
        p["summary"] = f"{when}，{p['place']}{desc}。{p['progress']}。{p['result']}，{p['casualty']}。"
    else:
        p["summary"] = f"{when}，{p['place']}{desc}。{p['casualty_now']}。现场正在处置中。"


def describe_storm(w: Wording, t: int, p: dict) -> None:
    """The district-wide response to a rainstorm or typhoon: "7·18暴雨", "台风“山陀儿”"."""
    rng = w.rng
    ep = p["episode"]
    kind = STORMS[ep["kind"]]
    level = LEVEL_ZH[ep["level"]]
    district = w.d.district
    affected = between(rng, 200, 2000) * (10 if p["severity"] == "II" else 1)
    p.update(title=f"台风“{ep['name']}”" if ep["kind"] == "typhoon" else f"{w.md(t)}{kind}",
             category="natural", subtype=kind, place="越秀区全区", short_place="全区", street_name="各街道",
             desc=f"{kind}{level}预警信号生效", dead=0, injured=0, trapped=0, affected=affected,
             source="广州市气象台预警信息", lon=district.lon, lat=district.lat,
             warning_title=f"{kind}{level}预警信号", progress="各街道正在开展巡查",
             result=f"{kind}影响结束，各街道巡查未发现新的险情", casualty="无人员伤亡",
             casualty_now="暂无人员伤亡报告",
             commander=f"区三防指挥部副总指挥 {pick(rng, w.officials[1:]).split()[-1]}",
             instruction_by=pick(rng, w.officials),
             instruction="各街道、各部门要严格落实防御措施，加强低洼易涝点、地下空间、危房和边坡巡查，"
                         "必要时果断转移群众，确保不死人、少伤人。")
    p["summary"] = (f"受{kind}影响，{w.cn_date(t)}{w.hhmm(t)}起越秀区{kind}{level}预警信号生效，"
                    f"区三防指挥部启动{RESPONSE_ZH[p['response']]}级应急响应。全区转移安置群众{affected}人，"
                    "无人员伤亡。")
