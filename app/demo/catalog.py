"""Fixed reference tables of the demo district: supplies, teams, equipment, units.

The figures that come from seed 003 (26 teams / 722 people, 8 professional
teams / 452 people, 23 warehouses / 1,500 m², 35 shelters, 63 experts) are
pinned here so that scale 1 reproduces them exactly.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ItemSpec:
    name: str
    unit: str
    category: str
    min_level: int  # the floor for one storage point
    stocked_at: str  # letters of the storage kinds holding it (D is implied: the district store holds all)
    shelf_days: int = 0  # 0: does not expire
    reusable: bool = False  # comes back to the store after an incident


# Storage kinds: S street point · F 三防 store · R relief store · H hill fire-prevention point · M 城管 store
SUPPLY_ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("折叠床", "张", "生活类", 20, "SR", reusable=True),
    ItemSpec("棉被", "床", "生活类", 30, "SR"),
    ItemSpec("毛毯", "床", "生活类", 30, "R"),
    ItemSpec("救灾帐篷", "顶", "生活类", 5, "R", reusable=True),
    ItemSpec("睡袋", "个", "生活类", 20, "R"),
    ItemSpec("矿泉水", "箱", "食品饮用水", 30, "SRH", shelf_days=540),
    ItemSpec("方便面", "箱", "食品饮用水", 20, "SR", shelf_days=180),
    ItemSpec("压缩饼干", "箱", "食品饮用水", 10, "R", shelf_days=730),
    ItemSpec("自热米饭", "箱", "食品饮用水", 10, "R", shelf_days=270),
    ItemSpec("雨衣", "件", "防汛类", 30, "SF"),
    ItemSpec("雨靴", "双", "防汛类", 20, "SF"),
    ItemSpec("应急灯", "盏", "照明类", 10, "SR", reusable=True),
    ItemSpec("手电筒", "支", "照明类", 20, "SH"),
    ItemSpec("急救包", "个", "医疗防疫类", 10, "S", shelf_days=730),
    ItemSpec("医用外科口罩", "盒", "医疗防疫类", 50, "R", shelf_days=730),
    ItemSpec("消毒液", "桶", "医疗防疫类", 10, "R", shelf_days=365),
    ItemSpec("沙袋", "个", "防汛类", 200, "SFM"),
    ItemSpec("编织袋", "条", "防汛类", 300, "SFM"),
    ItemSpec("挡水板", "块", "防汛类", 20, "SF", reusable=True),
    ItemSpec("吸水膨胀袋", "个", "防汛类", 100, "F"),
    ItemSpec("抽水泵", "台", "防汛类", 2, "SF", reusable=True),
    ItemSpec("潜水泵", "台", "防汛类", 2, "F", reusable=True),
    ItemSpec("救生衣", "件", "水上救援类", 20, "SF", reusable=True),
    ItemSpec("救生圈", "个", "水上救援类", 10, "F", reusable=True),
    ItemSpec("冲锋舟", "艘", "水上救援类", 6, "", reusable=True),
    ItemSpec("橡皮艇", "艘", "水上救援类", 2, "F", reusable=True),
    ItemSpec("警示带", "卷", "警戒类", 20, "SM"),
    ItemSpec("反光锥", "个", "警戒类", 30, "M", reusable=True),
    ItemSpec("发电机", "台", "抢险工具类", 2, "FM", reusable=True),
    ItemSpec("油锯", "台", "抢险工具类", 2, "HM", reusable=True),
    ItemSpec("铁锹", "把", "抢险工具类", 20, "SHM", reusable=True),
    ItemSpec("破拆工具组", "套", "抢险工具类", 1, "M", reusable=True),
    ItemSpec("安全帽", "顶", "防护类", 30, "SHM", reusable=True),
    ItemSpec("防护手套", "副", "防护类", 50, "HM"),
    ItemSpec("绝缘靴", "双", "防护类", 10, "M"),
    ItemSpec("防毒面具", "个", "防护类", 10, "M", shelf_days=1095),
    ItemSpec("对讲机", "部", "通信类", 6, "H", reusable=True),
    ItemSpec("手持扩音器", "个", "通信类", 5, "S", reusable=True),
    ItemSpec("灾害预警铜锣", "面", "通信类", 5, "S"),
    ItemSpec("移动照明灯", "台", "照明类", 2, "M", reusable=True),
    ItemSpec("风力灭火机", "台", "森林防火类", 4, "H", reusable=True),
    ItemSpec("灭火器", "具", "消防类", 20, "SH"),
)


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    name: str
    kind: str  # district · special · street
    area_m2: int
    holds: str  # storage-kind letter (see SUPPLY_ITEMS); "D" holds everything


# Five district-level stores take 870 m²; the 18 street points share the remaining 630 m².
DISTRICT_STORES: tuple[StoreSpec, ...] = (
    StoreSpec("越秀区应急物资储备库", "district", 360, "D"),
    StoreSpec("越秀区三防物资仓库", "special", 220, "F"),
    StoreSpec("越秀区救灾物资储备点", "special", 150, "R"),
    StoreSpec("越秀山森林防火物资储备点", "special", 60, "H"),
    StoreSpec("越秀区城管应急抢险物资仓库", "special", 80, "M"),
)
STREET_STORE_AREA = 1500 - sum(s.area_m2 for s in DISTRICT_STORES)


@dataclasses.dataclass(frozen=True)
class TeamSpec:
    key: str  # how incidents ask for it
    name: str
    headcount: int
    specialities: str
    unit: str


PROFESSIONAL_TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("fire", "越秀区专职消防救援队", 86, "火灾扑救、抢险救援、高空救援、电梯救援",
             "越秀区消防救援大队"),
    TeamSpec("medical", "越秀区医疗卫生应急救援队", 64, "现场急救、伤员转运、卫生防疫、心理援助",
             "越秀区卫生健康局"),
    TeamSpec("gas", "越秀区燃气抢险队", 48, "燃气泄漏处置、管网抢修、可燃气体检测", "广州燃气集团越秀抢修所"),
    TeamSpec("power", "越秀区电力抢修队", 52, "配网抢修、应急供电、发电车保障", "广州供电局越秀供电局"),
    TeamSpec("water", "越秀区供排水抢险队", 72, "排涝抽水、供水管道抢修、下水道疏通", "越秀区水务局"),
    TeamSpec("municipal", "越秀区市政抢险队", 60, "道路抢修、倒伏树木清理、危房排险、边坡支护",
             "越秀区城市管理和综合执法局"),
    TeamSpec("telecom", "越秀区通信保障应急队", 32, "应急通信、卫星便携站架设、无人机侦察",
             "中国电信广州越秀分公司"),
    TeamSpec("hazmat", "越秀区危化品应急处置队", 38, "危化品侦检、堵漏、洗消、有限空间救援",
             "越秀区应急管理局"),
)
STREET_TEAM_SIZE = 15
STREET_TEAM_SPECIALITIES = "先期处置、人员转移、防汛排涝、巡查值守"


@dataclasses.dataclass(frozen=True)
class EquipmentSpec:
    name: str
    type: str
    holder: str  # a professional team key, or "store" for the district store
    quantity: int


EQUIPMENT: tuple[EquipmentSpec, ...] = (
    EquipmentSpec("抢险救援消防车", "消防车辆", "fire", 2),
    EquipmentSpec("水罐消防车", "消防车辆", "fire", 2),
    EquipmentSpec("举高喷射消防车", "消防车辆", "fire", 1),
    EquipmentSpec("生命探测仪", "搜救装备", "fire", 2),
    EquipmentSpec("液压破拆工具组", "搜救装备", "fire", 4),
    EquipmentSpec("负压救护车", "医疗车辆", "medical", 3),
    EquipmentSpec("移动医疗帐篷", "医疗装备", "medical", 2),
    EquipmentSpec("自动体外除颤仪（AED）", "医疗装备", "medical", 12),
    EquipmentSpec("燃气抢险工程车", "抢险车辆", "gas", 3),
    EquipmentSpec("可燃气体检测仪", "检测装备", "gas", 10),
    EquipmentSpec("应急发电车", "电力保障", "power", 2),
    EquipmentSpec("移动照明车", "电力保障", "power", 2),
    EquipmentSpec("低压应急电源车", "电力保障", "power", 1),
    EquipmentSpec("大型排水抢险车（排涝车）", "排涝装备", "water", 3),
    EquipmentSpec("龙吸水排涝车", "排涝装备", "water", 1),
    EquipmentSpec("移动泵站", "排涝装备", "water", 2),
    EquipmentSpec("供水管道抢修车", "抢险车辆", "water", 2),
    EquipmentSpec("市政抢险工程车", "抢险车辆", "municipal", 3),
    EquipmentSpec("小型挖掘机", "工程机械", "municipal", 2),
    EquipmentSpec("高空作业车", "工程机械", "municipal", 1),
    EquipmentSpec("随车吊", "工程机械", "municipal", 1),
    EquipmentSpec("应急通信指挥车", "通信装备", "telecom", 1),
    EquipmentSpec("卫星便携站", "通信装备", "telecom", 2),
    EquipmentSpec("多旋翼无人机", "航空器材", "telecom", 4),
    EquipmentSpec("系留照明无人机", "航空器材", "telecom", 1),
    EquipmentSpec("危化品侦检车", "危化品处置", "hazmat", 1),
    EquipmentSpec("防化洗消装备", "危化品处置", "hazmat", 2),
    EquipmentSpec("重型防化服", "危化品处置", "hazmat", 8),
    EquipmentSpec("有毒气体检测仪", "检测装备", "hazmat", 6),
    EquipmentSpec("应急指挥车", "指挥车辆", "store", 1),
    EquipmentSpec("多旋翼无人机", "航空器材", "store", 2),
    EquipmentSpec("卫星便携站", "通信装备", "store", 1),
    EquipmentSpec("天通卫星电话", "通信装备", "store", 12),
    EquipmentSpec("800兆数字集群手台", "通信装备", "store", 40),
    EquipmentSpec("柴油发电机组（50kW）", "电力保障", "store", 4),
    EquipmentSpec("大功率抽水泵", "排涝装备", "store", 6),
    EquipmentSpec("升降式移动照明灯塔", "照明装备", "store", 4),
    EquipmentSpec("冲锋舟（含舷外机）", "水上救援", "store", 2),
    EquipmentSpec("便携式气象站", "监测装备", "store", 2),
    EquipmentSpec("全地形应急运输车", "运输车辆", "store", 1),
)

# name, indoor?, usable area (m²). 35 sites: 12 outdoor, 23 indoor.
SHELTERS: tuple[tuple[str, bool, int], ...] = (
    ("越秀公园应急避护场所", False, 48000), ("流花湖公园应急避护场所", False, 22000),
    ("东山湖公园应急避护场所", False, 18000), ("二沙岛体育公园应急避护场所", False, 25000),
    ("麓湖公园应急避护场所", False, 20000), ("广州起义烈士陵园应急避护场所", False, 15000),
    ("人民公园应急避护场所", False, 9000), ("黄花岗公园应急避护场所", False, 7000),
    ("海珠广场应急避护场所", False, 6000), ("东风公园应急避护场所", False, 5000),
    ("越秀区青少年体育运动学校运动场", False, 4500), ("中山纪念堂广场应急避护场所", False, 4000),
    ("越秀区体育馆", True, 2600), ("广州市第十六中学体育馆", True, 1800), ("执信中学体育馆", True, 2200),
    ("广州市第二中学体育馆", True, 1900), ("越秀区文化馆", True, 1200), ("广州市第三中学礼堂", True, 900),
    ("广州市第七中学体育馆", True, 1500), ("越秀区少年宫", True, 1100), ("育才实验学校体育馆", True, 1400),
    ("东风东路小学礼堂", True, 600), ("登峰街文化站", True, 480), ("矿泉街社区服务中心", True, 520),
    ("流花街文化站", True, 450), ("洪桥街党群服务中心", True, 400), ("黄花岗街文化站", True, 460),
    ("梅花村街社区服务中心", True, 380), ("白云街党群服务中心", True, 420), ("珠光街文化站", True, 360),
    ("大塘街社区服务中心", True, 340), ("人民街文化站", True, 390), ("光塔街党群服务中心", True, 350),
    ("北京街文化站", True, 410), ("建设街社区服务中心", True, 430),
)

# sector, count, of which yellow, of which orange (the rest are blue): 146 = 1 + 21 + 124.
RISK_SECTORS: tuple[tuple[str, int, int, int], ...] = (
    ("老旧房屋", 34, 3, 0), ("人员密集场所", 22, 4, 1), ("消防", 20, 2, 0), ("燃气", 16, 3, 0),
    ("建筑施工", 14, 3, 0), ("高层建筑", 10, 1, 0), ("道路交通", 10, 0, 0), ("危化品", 8, 3, 0),
    ("内涝", 3, 0, 0), ("地下空间", 4, 0, 0), ("地质灾害", 1, 1, 0), ("电梯", 4, 1, 0),
)

RISK_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    # name pattern ({stem}, {road}, {house}, {home}), responsible unit ({street}), description
    "老旧房屋": (
        ("{house}危房", "{street}办事处",
         "砖木结构，建于上世纪五十年代，墙体开裂、木梁腐朽，已列入C级危房监测。"),
        ("{stem}{home}老旧住宅楼", "越秀区住房和建设局", "楼龄超过40年，外墙瓷砖空鼓，雨季存在脱落风险。"),
    ),
    "人员密集场所": (
        ("{stem}商业街", "越秀区商务局", "节假日人流高峰超过2万人次，疏散通道狭窄。"),
        ("{road}{stem}批发市场", "越秀区市场监督管理局", "档口密集，货物占用通道，夜间存在仓储住人现象。"),
    ),
    "消防": (
        ("{road}“三小”场所集中区", "越秀区消防救援大队",
         "小商铺、小作坊、小娱乐场所集中，电动自行车违规充电现象多。"),
        ("{stem}城中村出租屋片区", "{street}办事处", "握手楼间距不足1米，消防车无法进入。"),
    ),
    "燃气": (
        ("{stem}美食街燃气用户集中区", "越秀区城市管理和综合执法局",
         "餐饮店使用瓶装液化气，部分未安装燃气泄漏报警装置。"),
        ("{road}燃气调压站", "广州燃气集团", "中压燃气调压设施，周边50米内有住宅。"),
    ),
    "建筑施工": (
        ("{stem}项目深基坑", "越秀区住房和建设局", "基坑深度超过12米，临近既有建筑，需实施监测预警。"),
        ("{road}地铁施工围蔽区", "越秀区住房和建设局", "地下施工占道，雨季存在路面沉降风险。"),
    ),
    "高层建筑": (("{stem}大厦", "{street}办事处", "超高层综合楼，消防设施老化，需加强维保。"),),
    "道路交通": (
        ("{road}事故多发路段", "越秀区交警大队",
         "路口视线受阻，近三年发生多起交通事故，实行“一点一案”整改。"),
    ),
    "危化品": (
        ("{stem}医院危险化学品仓库", "越秀区卫生健康局", "存放乙醇、甲醛等危险化学品，储量超过临界量的10%。"),
        ("{road}加油站", "越秀区应急管理局", "位于人员密集区域，储罐区距居民楼不足30米。"),
    ),
    "内涝": (
        ("{road}低洼积水点", "越秀区水务局", "暴雨时积水深度可达40厘米，排水管网标准偏低，已列入整改计划。"),
    ),
    "地下空间": (
        ("{stem}{home}地下车库", "{street}办事处", "地下车库出入口低于周边路面，暴雨时存在倒灌风险。"),
    ),
    "地质灾害": (
        ("越秀山北麓边坡地质灾害隐患点", "越秀区城市管理和综合执法局",
         "土质边坡高约15米，坡脚有居民住房，雨季需专人巡查。"),
    ),
    "电梯": (("{stem}{home}老旧电梯", "越秀区市场监督管理局", "电梯使用超过15年，近一年多次发生困人故障。"),),
}

# category code → (count, specialities, employers). 63 in five categories (seed 003:117).
EXPERTS: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    "natural_disaster": (12, ("气象灾害", "城市内涝", "地质灾害", "防汛抗旱", "台风防御", "岩土工程"),
                         ("广州市气象台", "广东省地质局", "中山大学", "华南理工大学",
                          "广州市水务科学研究所")),
    "work_safety": (22, ("建筑施工安全", "消防安全", "危险化学品", "燃气安全", "电气安全", "特种设备",
                         "有限空间作业", "安全评价"),
                    ("华南理工大学", "广东工业大学", "广州市建筑科学研究院", "广东省安全生产科学技术研究院",
                     "广州市特种设备检测研究院", "广州燃气集团")),
    "public_health": (10, ("传染病防控", "急诊医学", "食品安全", "职业卫生", "心理危机干预"),
                      ("广州市疾病预防控制中心", "中山大学附属第一医院", "广东省人民医院", "广州医科大学",
                       "越秀区疾病预防控制中心")),
    "social_security": (7, ("大型活动安保", "人群疏散", "群体性事件处置", "网络舆情"),
                        ("广东警官学院", "暨南大学", "广州市社会科学院")),
    "general": (12, ("应急管理", "应急通信", "城市生命线", "风险评估", "应急救援指挥", "保险理赔"),
                ("中山大学", "华南理工大学", "广州大学", "中国电信广东公司", "中国人保财险广州分公司")),
}

# The district's duty counterparts: 29 member units of the emergency committee (seed 003:105).
MEMBER_UNITS: tuple[str, ...] = (
    "区委宣传部", "区委网信办", "区发展和改革局", "区教育局", "区科技工业和信息化局", "区公安分局",
    "区民政局", "区司法局", "区财政局", "区人力资源和社会保障局", "区住房和建设局", "区交通运输局",
    "区水务局", "区商务局", "区文化广电旅游体育局", "区卫生健康局", "区退役军人事务局",
    "区应急管理局", "区市场监督管理局", "区城市管理和综合执法局", "区政务服务数据管理局",
    "区人民武装部", "区消防救援大队", "市规划和自然资源局越秀区分局", "越秀区交警大队",
    "广州供电局越秀供电局", "广州燃气集团越秀分公司", "广州市自来水公司越秀营业所", "中国电信广州越秀分公司",
)

# Street-level and community plan subtypes; district special plans are listed by subtype below.
DISTRICT_SPECIAL_PLANS: tuple[tuple[str, str, str], ...] = (
    ("防汛防旱防风防冻", "natural", "三防"), ("地质灾害", "natural", "地质灾害"), ("地震", "natural", "地震"),
    ("自然灾害救助", "natural", "自然灾害救助"), ("森林火灾", "natural", "森林火灾"),
    ("气象灾害", "natural", "气象灾害"), ("生产安全事故", "accident", "生产安全"),
    ("火灾事故", "accident", "火灾"), ("危险化学品事故", "accident", "危险化学品"),
    ("燃气事故", "accident", "燃气"), ("道路交通事故", "accident", "道路交通"),
    ("建设工程施工安全事故", "accident", "建筑施工"), ("大面积停电事件", "accident", "停电"),
    ("供水突发事件", "accident", "供水"), ("人员密集场所安全事故", "accident", "人员密集场所"),
    ("特种设备事故", "accident", "电梯"), ("房屋安全事故", "accident", "房屋险情"),
    ("地下空间安全事故", "accident", "地下空间"), ("突发公共卫生事件", "public_health", "公共卫生"),
    ("食品安全事故", "public_health", "食物中毒"), ("突发急性传染病", "public_health", "传染病"),
    ("群体性事件", "social_security", "群体性事件"),
    ("大型群众性活动安全事件", "social_security", "人员聚集"),
    ("网络与信息安全事件", "social_security", "网络安全"), ("涉外突发事件", "social_security", "涉外"),
)
STREET_PLANS: tuple[tuple[str, str, str], ...] = (
    ("突发事件总体应急预案", "", ""), ("防汛防旱防风防冻应急预案", "natural", "三防"),
    ("火灾事故应急预案", "accident", "火灾"), ("燃气事故应急预案", "accident", "燃气"),
    ("人员密集场所突发事件应急预案", "accident", "人员密集场所"),
    ("危房险情应急预案", "accident", "房屋险情"),
    ("突发公共卫生事件应急预案", "public_health", "公共卫生"),
)
KEY_SITE_PLANS: tuple[str, ...] = (
    "越秀山片区防山体滑坡", "北京路步行街人员密集场所", "一德路批发市场群消防", "广州火车站地区大客流",
    "流花湖周边防内涝", "二沙岛防风防潮", "中山纪念堂大型活动", "东风路隧道防水浸", "海珠广场人员密集场所",
    "沿江路防洪（潮）",
)
