"""Names, roads and numbers that make the synthetic district read like Yuexiu.

Street names are Yuexiu's real eighteen (SEED_REQUIREMENTS.md §4 note); their
positions (u, v in −1…1, west→east, south→north) only roughly follow the real
map so the synthetic cells sit in a familiar order. Everything else — people,
communities, house numbers, phone numbers — is invented.
"""

from __future__ import annotations

import dataclasses
import random

from app.demo.numbers import below, between, pick


@dataclasses.dataclass(frozen=True)
class StreetSpec:
    name: str  # without 街道
    u: float
    v: float
    roads: tuple[str, ...]
    riverside: bool = False  # low-lying along the Pearl River: more waterlogging
    hillside: bool = False  # at the foot of Yuexiu Hill / Baiyun Mountain: slope hazards


STREETS: tuple[StreetSpec, ...] = (
    StreetSpec("洪桥", -0.45, 0.22, ("应元路", "盘福路", "越秀北路", "环市西路", "洪桥西街")),
    StreetSpec("北京", -0.12, -0.45, ("北京路", "文德路", "西湖路", "惠福东路", "广卫路", "教育路")),
    StreetSpec("六榕", -0.42, -0.02, ("六榕路", "解放北路", "朝天路", "净慧路", "诗书路")),
    StreetSpec("流花", -0.78, 0.30, ("流花路", "人民北路", "东风西路", "西华路", "流花湖路"), hillside=True),
    StreetSpec("光塔", -0.58, -0.30, ("光塔路", "惠福西路", "米市路", "纸行路", "大德路")),
    StreetSpec("人民", -0.55, -0.72, ("人民南路", "一德路", "大新路", "状元坊", "杨巷路", "沿江西路"),
               riverside=True),
    StreetSpec("东山", 0.55, -0.30, ("寺贝通津", "署前路", "龟岗大马路", "东华东路", "庙前直街")),
    StreetSpec("农林", 0.52, 0.05, ("农林下路", "东风东路", "中山二路", "执信南路", "竹丝岗")),
    StreetSpec("梅花村", 0.85, 0.05, ("中山一路", "梅东路", "杨箕大街", "达道路", "梅花路")),
    StreetSpec("黄花岗", 0.74, 0.42, ("先烈中路", "先烈南路", "水荫路", "黄花路", "永福路"), hillside=True),
    StreetSpec("华乐", 0.30, 0.46, ("环市东路", "淘金路", "华乐路", "淘金北路", "花园路")),
    StreetSpec("建设", 0.03, 0.30, ("建设大马路", "建设六马路", "环市中路", "小北路", "建设横马路")),
    StreetSpec("大塘", 0.12, -0.55, ("大塘街", "文明路", "越秀南路", "德政南路", "长塘街", "豪贤路")),
    StreetSpec("珠光", 0.36, -0.72, ("珠光路", "沿江中路", "万福路", "东园路", "大沙头四马路"),
               riverside=True),
    StreetSpec("大东", 0.16, -0.02, ("东风中路", "越华路", "小北路", "仓边路", "德政北路")),
    StreetSpec("白云", 0.78, -0.66, ("二沙岛晴波路", "东湖路", "沿江东路", "白云路", "东川路"),
               riverside=True),
    StreetSpec("登峰", 0.35, 0.86, ("麓景路", "下塘西路", "横枝岗路", "登峰路", "广园中路"), hillside=True),
    StreetSpec("矿泉", -0.72, 0.78, ("站前路", "三元里大道", "机场路", "瑶台大街", "矿泉路"), hillside=True),
)

# Place-name stems in the Guangzhou manner; communities and estates are named from them.
STEMS: tuple[str, ...] = (
    "六榕", "光孝", "诗书", "都府", "仓边", "越华", "广卫", "盘福", "应元", "流花", "三元", "麓景", "淘金",
    "华乐", "寺贝", "龟岗", "竹丝岗", "执信", "梅东", "杨箕", "水荫", "先烈", "黄花", "东湖", "二沙",
    "大沙头", "文德", "德政", "大塘", "长塘", "豪贤", "朝天", "纸行", "米市", "惠福", "大新", "一德",
    "海珠", "泰康", "状元坊", "西湖", "教育", "登峰", "横枝岗", "下塘", "瑶台", "站前", "矿泉", "西华",
    "解放", "东风", "小北", "建设", "农林", "东山", "百子", "珠光", "万福", "东园", "东川", "大东",
    "署前", "旧仓", "芳草", "五羊", "象岗", "吉祥", "净慧", "光塔", "西来", "华侨", "环市", "恒福",
    "云台", "桂花岗", "松柏", "三眼井", "清泉", "榨粉", "达道", "共和", "东华", "松岗", "天香", "保安",
    "白云", "筑北", "模范", "较场", "越秀", "广仁", "连新", "正南", "白薇", "雅荷塘", "永胜", "法政",
    "中山", "烈士", "德坭", "铁路", "秀丽", "福今", "荣华", "朱紫", "大石", "聚贤", "玉泉", "锦荣",
)
_PREFIXES = "东西南北新中上下前后"
_SUFFIXES = ("", "路", "里", "街", "坊", "苑")

SURNAMES = "陈陈陈陈李李李黄黄黄张张梁梁刘刘林林何何罗郭周吴杨冯邓谢曾赵苏钟叶卢蔡潘彭朱麦区莫伍关邝"
GIVEN = ("伟", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "华", "平", "刚", "桂英", "志强", "建华", "国强", "少芬", "伟明", "嘉欣", "子轩", "浩然", "俊杰",
         "晓峰", "美玲", "淑芬", "文辉", "永康", "锦华", "家豪", "慧敏", "志明", "卫东", "海燕", "雪梅",
         "荣", "斌", "宇", "婷", "健", "立新", "振华", "颖", "倩", "楠", "锐", "晨", "晖", "凯", "敏仪")

ESTATES = ("花园", "大厦", "新村", "小区", "大院", "公寓", "广场", "商业中心", "市场", "酒店", "商场",
           "菜市场", "宿舍", "医院")
HOMES = ("花园", "大厦", "新村", "小区", "大院", "公寓", "宿舍")


def person(rng: random.Random) -> str:
    return pick(rng, SURNAMES) + pick(rng, GIVEN)


def mobile(rng: random.Random) -> str:
    return pick(rng, ("13", "13", "15", "18", "17")) + f"{below(rng, 10**9):09d}"


def landline(rng: random.Random) -> str:
    return f"020-8{below(rng, 10**7):07d}"


def sat_phone(rng: random.Random) -> str:
    return f"1740{below(rng, 10**7):07d}"  # 天通 satellite numbers


def house(rng: random.Random, road: str) -> str:
    return f"{road}{between(rng, 1, 320)}号"


def community_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct community names: the real-sounding stems first, then variants."""
    stems = list(STEMS)
    rng.shuffle(stems)
    names: list[str] = []
    seen: set[str] = set()
    for stem in stems:
        if len(names) == count:
            return names
        names.append(f"{stem}社区")
        seen.add(stem)
    while len(names) < count:
        cand = rng.choice(_PREFIXES) + rng.choice(STEMS) + rng.choice(_SUFFIXES)
        if cand not in seen:
            seen.add(cand)
            names.append(f"{cand}社区")
    return names


def cn_number(n: int) -> str:
    """1..99 in Chinese numerals, for "第二分队" and the like."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def nth(name: str, copy: int) -> str:
    """The name of the copy-th replica of a library entry at scale > 1 (copy 0 is the original)."""
    if copy == 0:
        return name
    return f"{name}（{cn_number(copy + 1) if copy < 99 else copy + 1}）"
