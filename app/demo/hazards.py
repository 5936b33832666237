"""Incident subtypes of an old-town district: how often, how long, who goes, what is said.

Shares are of the everyday (non-storm) incidents; storms and typhoons add
waterlogging, fallen trees and building alarms on top (see history.py).
Templates use {road} {road2} {house} {home} {estate} {school} {site} {spot}
{n} {k} {b} {floor} {floor2} {area}; incident_text.py fills them.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Hazard:
    key: str
    subtype: str  # the incident's ``subtype`` (a configurable list, DOMAIN.md)
    category: str
    word: str  # the last part of a title: "7·18 东风中路水浸"
    share: float
    minutes: tuple[int, int]  # how long until closed
    teams: tuple[str, ...]  # professional team keys, "street" for the street's own team
    dispatch_p: float
    descriptions: tuple[str, ...]
    progress: tuple[str, ...]
    results: tuple[str, ...]
    months: dict[int, float] = dataclasses.field(default_factory=dict)  # seasonal factor by month
    supplies: tuple[tuple[str, int, int], ...] = ()  # item, least, most sent when supplies go
    supply_p: float = 0.0
    injured: tuple[float, int] = (0.0, 0)  # probability, most
    dead_p: float = 0.0
    trapped: tuple[float, int] = (0.0, 0)
    affected: tuple[int, int] = (0, 0)
    grave_p: float = 0.01  # chance of severity III (II is a tenth of it)
    hillside_only: bool = False


SUMMER = {4: 1.3, 5: 1.6, 6: 1.8, 7: 1.6, 8: 1.6, 9: 1.3, 10: 0.8, 11: 0.5, 12: 0.3, 1: 0.3, 2: 0.3, 3: 0.6}
WINTER = {12: 1.3, 1: 1.35, 2: 1.25, 3: 1.05, 6: 0.85, 7: 0.8, 8: 0.8}

HAZARDS: tuple[Hazard, ...] = (
    Hazard("fire", "火灾", "accident", "火情", 0.21, (40, 180), ("fire", "street"), 0.9,
           ("{home}{floor}楼一住户厨房起火，楼道内有浓烟", "{road}一临街商铺起火，明火已蔓延至招牌",
            "{home}楼道内电动自行车充电时起火", "{estate}后巷堆放杂物起火", "{home}一出租屋电线短路起火"),
           ("明火已扑灭，正在清理余火", "已疏散楼内群众{k}人，火势已得到控制", "正在排烟并逐户排查"),
           ("明火已扑灭，过火面积约{area}平方米", "余火清理完毕，现场移交属地派出所及街道",
            "火灾原因初步判断为电气线路故障，现场已断电"),
           months=WINTER, supplies=(("棉被", 5, 20), ("矿泉水", 2, 8), ("折叠床", 4, 12)), supply_p=0.05,
           injured=(0.12, 3), dead_p=0.006, grave_p=0.025),
    Hazard("traffic", "道路交通事故", "accident", "交通事故", 0.18, (30, 120), ("medical", "street"), 0.35,
           ("{road}与{road2}交叉口两车碰撞", "{road}一辆电动自行车与小客车相撞",
            "{road}一辆公交车与小货车发生刮碰", "{road}一辆泥头车与电动自行车相撞"),
           ("交警已到场疏导交通，伤者已送医", "现场已设置警戒，车辆正在拖移"),
           ("事故车辆已拖离，道路恢复通行", "伤者已送广州市第一人民医院救治，交通恢复正常"),
           injured=(0.5, 3), dead_p=0.006, grave_p=0.006),
    Hazard("elevator", "电梯困人", "accident", "电梯困人", 0.12, (30, 80), ("fire",), 0.6,
           ("{home}{b}号楼电梯故障停在{floor}楼与{floor2}楼之间，{k}人被困",),
           ("维保人员与消防员正在盘车放人",),
           ("被困人员已全部安全救出，电梯已停用待检", "被困人员安全脱困，无人受伤"),
           trapped=(1.0, 4), grave_p=0.0),
    Hazard("gas", "燃气泄漏", "accident", "燃气泄漏", 0.09, (40, 150), ("gas", "street"), 0.9,
           ("{home}居民反映楼道内有明显燃气味", "{road}施工挖破中压燃气管道，有燃气泄漏",
            "{estate}一餐饮店液化气瓶阀门泄漏"),
           ("已关闭上游阀门，正在检测周边燃气浓度", "已疏散周边群众{k}人，设置警戒区"),
           ("泄漏点已封堵，检测浓度正常，警戒解除", "管道抢修完毕，恢复供气"),
           injured=(0.03, 2), grave_p=0.01),
    Hazard("water_main", "供水管道爆裂", "accident", "爆管", 0.06, (120, 480), ("water",), 0.9,
           ("{road}供水管道爆裂，路面涌水", "{home}一带突然停水，疑似地下供水管道破损"),
           ("已关阀止水，抢修人员正在开挖", "已安排送水车为周边居民临时供水"),
           ("管道抢修完毕，恢复供水", "破损管段已更换，路面恢复通行"),
           affected=(200, 3000), grave_p=0.005),
    Hazard("outage", "停电", "accident", "停电", 0.03, (60, 300), ("power",), 0.9,
           ("{home}一带停电，{estate}电梯停运", "{road}一带配电房故障导致停电"),
           ("抢修人员已到场，应急发电车正在接入", "已排查确认为电缆故障，正在抢修"),
           ("故障已排除，恢复供电", "已恢复全部用户供电"),
           months={6: 1.4, 7: 1.5, 8: 1.5, 9: 1.2}, affected=(500, 5000)),
    Hazard("tree", "树木倒伏", "natural", "树木倒伏", 0.06, (60, 240), ("municipal", "street"), 0.8,
           ("{road}一棵大叶榕倒伏，压住路边车辆", "{estate}门前一棵树木断枝，阻断人行道",
            "{road}行道树倒伏，压断路灯线"),
           ("正在切割清理倒伏树木", "已设置警戒，疏导行人绕行"),
           ("倒伏树木已清理完毕，道路恢复通行", "断枝已清运，现场恢复正常"),
           months=SUMMER, injured=(0.04, 1)),
    Hazard("building", "房屋险情", "accident", "房屋险情", 0.07, (240, 2880), ("municipal", "street"), 0.8,
           ("{house}老旧房屋外墙出现明显裂缝，有掉落危险", "{house}一处危房局部墙体坍塌",
            "{home}外墙瓷砖大面积脱落"),
           ("已转移房屋内居民{k}人，设置警戒区", "房屋安全鉴定人员正在现场勘查"),
           ("险情已排除，已对危险部位拆除加固", "居民已妥善安置，房屋已封闭待修缮"),
           months={4: 1.3, 5: 1.5, 6: 1.6, 7: 1.4, 8: 1.4, 9: 1.2},
           supplies=(("折叠床", 5, 20), ("棉被", 5, 20), ("矿泉水", 2, 10), ("方便面", 2, 6)), supply_p=0.25,
           injured=(0.05, 2), dead_p=0.004, affected=(3, 40), grave_p=0.03),
    Hazard("flood", "内涝", "natural", "水浸", 0.04, (90, 480), ("water", "street"), 0.85,
           ("{home}地下车库水浸约{n}厘米", "{road}低洼路段积水约{n}厘米，车辆通行受阻",
            "{estate}首层商铺进水约{n}厘米"),
           ("正在抽排积水，已摆放沙袋挡水", "已封闭地下车库出入口，移走车辆{k}辆"),
           ("积水已退，道路恢复通行", "地下车库积水已抽排完毕"),
           months=SUMMER, supplies=(("沙袋", 20, 120), ("编织袋", 20, 100), ("雨衣", 5, 20)), supply_p=0.3,
           trapped=(0.03, 3), grave_p=0.005),
    Hazard("construction", "建筑施工事故", "accident", "施工事故", 0.035, (120, 600),
           ("fire", "medical", "municipal"), 0.9,
           ("{site}一名工人从脚手架坠落", "{site}基坑边坡局部坍塌", "{site}塔吊吊物坠落"),
           ("伤者已送医，工地已停工", "已对基坑实施回填加固，周边群众已疏散"),
           ("现场险情已排除，工地停工整改", "事故调查组已进驻，工地停工整改"),
           injured=(0.6, 3), dead_p=0.08, grave_p=0.08),
    Hazard("hazmat", "危险化学品泄漏", "accident", "危化品泄漏", 0.006, (120, 360), ("hazmat", "fire"), 1.0,
           ("{road}一辆运输车辆发生少量腐蚀性液体泄漏", "{estate}实验室化学试剂泄漏，有刺激性气味"),
           ("已完成侦检，正在堵漏洗消", "已划定警戒区，疏散周边人员{k}人"),
           ("泄漏物已收集处置，洗消完毕，警戒解除",),
           injured=(0.2, 3), grave_p=0.15),
    Hazard("geo", "地质灾害", "natural", "边坡滑塌", 0.004, (240, 1440), ("municipal", "street"), 1.0,
           ("{road}附近边坡发生小型滑塌，土方约{area}立方米", "{home}后山挡土墙出现开裂"),
           ("已转移坡脚住户{k}人，设置监测点", "正在清理塌方土石"),
           ("险情已控制，已覆盖彩条布并设置截水沟", "塌方已清理，纳入地质灾害隐患点监测"),
           months=SUMMER, affected=(2, 30), grave_p=0.05, hillside_only=True),
    Hazard("food", "食物中毒", "public_health", "疑似食物中毒", 0.02, (180, 720), ("medical",), 0.9,
           ("{estate}食堂{k}名就餐人员出现呕吐、腹泻症状", "{road}一餐厅{k}名顾客用餐后出现腹痛症状"),
           ("患者已送医救治，市场监管部门已封存留样", "疾控人员正在开展流行病学调查"),
           ("患者病情稳定，已陆续出院", "流调完成，涉事餐饮单位已停业整改"),
           months={6: 1.4, 7: 1.5, 8: 1.5, 9: 1.3}, injured=(1.0, 25), grave_p=0.03),
    Hazard("disease", "传染病聚集性疫情", "public_health", "聚集性疫情", 0.015, (1440, 4320), ("medical",),
           0.7,
           ("{school}报告{k}名学生出现发热、咳嗽症状，疑似流感聚集性疫情",
            "{school}报告{k}名学生出现呕吐、腹泻症状，疑似诺如病毒感染聚集性疫情"),
           ("疾控人员已到校开展流调和消杀", "涉及班级已停课，落实晨午检"),
           ("疫情已得到控制，未出现新发病例", "终末消毒完成，班级复课"),
           months={12: 1.4, 1: 1.5, 2: 1.3, 3: 1.6, 4: 1.4, 7: 0.4, 8: 0.4}, affected=(5, 30)),
    Hazard("crowd", "人员聚集", "social_security", "人员聚集", 0.015, (60, 240), ("street",), 0.7,
           ("{spot}人流密集，现场约{k}人，存在拥挤踩踏风险", "{spot}出现人员聚集，现场秩序较乱"),
           ("已实施单向通行和限流措施", "公安、街道人员正在现场疏导"),
           ("人流已疏散，现场秩序正常", "聚集人员已劝离，现场恢复正常"),
           months={10: 2.0, 2: 1.6, 1: 1.3, 5: 1.2}, affected=(500, 5000)),
)
BY_KEY = {h.key: h for h in HAZARDS}

# Storm-made incidents: the share of each hazard among the extra incidents a storm brings.
STORM_MIX = (("flood", 0.68), ("tree", 0.2), ("building", 0.09), ("geo", 0.03))
TYPHOON_MIX = (("tree", 0.5), ("flood", 0.3), ("building", 0.15), ("outage", 0.05))

SOURCES = ("市民来电", "12345热线转办", "110联动指挥中心通报", "119指挥中心通报", "街道网格员报告",
           "社区灾害信息员报告", "视频监控巡查发现", "{street}应急办报告")
SITES = ("商业综合体项目工地", "住宅项目工地", "旧楼改造工地", "地铁站施工工地", "学校扩建工地")
CROWD_SPOTS = ("北京路步行街", "海珠广场", "广州火车站西广场", "中山纪念堂", "越秀公园正门", "流花湖公园",
               "一德路批发市场")
TYPHOON_NAMES = ("苏拉", "海葵", "小犬", "泰利", "马力斯", "摩羯", "潭美", "格美", "山陀儿", "银杏", "玲玲",
                 "韦帕", "杨柳", "桦加沙", "麦德姆", "蓝湖", "白鹿", "剑鱼", "琵琶", "海鸥")
