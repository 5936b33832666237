"""Enumerations of the domain, with their wire codes (DOMAIN.md) and labels.

The codes are what travels on the wire and sits in the database; the labels are
for people. Labels live here, not in translations, because the same labels are
needed by reports, exports and the server's messages, none of which load Qt.
"""

from __future__ import annotations

import enum
import functools


class Coded(str, enum.Enum):
    """A wire code with a Chinese and an English label."""

    def __new__(cls, code: str, zh: str, en: str):
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.zh = zh
        obj.en = en
        return obj

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    @classmethod
    @functools.cache  # asked once per field per record in validation: hot on a 10,000-change push
    def codes(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Role(Coded):
    ADMIN = ("admin", "管理员", "Administrator")
    LEADER = ("leader", "带班领导", "Leader on duty")
    OFFICER = ("officer", "值班员", "Duty officer")
    VIEWER = ("viewer", "大屏只读", "Briefing display")


class OrgKind(Coded):
    CITY = ("city", "市", "City")
    DISTRICT = ("district", "区", "District")
    STREET = ("street", "街道", "Street")
    COMMUNITY = ("community", "社区", "Community")


class IncidentCategory(Coded):
    NATURAL = ("natural", "自然灾害", "Natural disaster")
    ACCIDENT = ("accident", "事故灾难", "Accident")
    PUBLIC_HEALTH = ("public_health", "公共卫生事件", "Public health")
    SOCIAL_SECURITY = ("social_security", "社会安全事件", "Social security")


class Severity(Coded):
    I = ("I", "特别重大", "Extraordinary (I)")  # noqa: E741 - the national grade is "I"
    II = ("II", "重大", "Major (II)")
    III = ("III", "较大", "Large (III)")
    IV = ("IV", "一般", "General (IV)")


class ResponseLevel(Coded):
    I = ("I", "Ⅰ级响应", "Level I")  # noqa: E741
    II = ("II", "Ⅱ级响应", "Level II")
    III = ("III", "Ⅲ级响应", "Level III")
    IV = ("IV", "Ⅳ级响应", "Level IV")


class IncidentStatus(Coded):
    REPORTED = ("reported", "接报", "Reported")
    VERIFIED = ("verified", "核实", "Verified")
    RESPONDING = ("responding", "响应", "Responding")
    CLOSED = ("closed", "结案", "Closed")
    CANCELLED = ("cancelled", "已撤销", "Cancelled")


# Forward moves any officer may make; anything else (reopening, going back) is a
# leader's decision and arrives at the server as a conflict when an officer tries.
INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "reported": frozenset({"verified", "responding", "closed", "cancelled"}),
    "verified": frozenset({"responding", "closed", "cancelled"}),
    "responding": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}

OPEN_INCIDENT_STATUSES = ("reported", "verified", "responding")


class WarningLevel(Coded):
    BLUE = ("blue", "蓝色", "Blue")
    YELLOW = ("yellow", "黄色", "Yellow")
    ORANGE = ("orange", "橙色", "Orange")
    RED = ("red", "红色", "Red")


class WarningStatus(Coded):
    DRAFT = ("draft", "草稿", "Draft")
    APPROVED = ("approved", "已审批", "Approved")
    ISSUED = ("issued", "已发布", "Issued")
    UPDATED = ("updated", "已更新", "Updated")
    LIFTED = ("lifted", "已解除", "Lifted")


class RiskGrade(Coded):
    RED = ("red", "重大风险", "Major")
    ORANGE = ("orange", "较大风险", "Significant")
    YELLOW = ("yellow", "一般风险", "Moderate")
    BLUE = ("blue", "低风险", "Low")


class RemediationStatus(Coded):
    IDENTIFIED = ("identified", "排查", "Identified")
    RECTIFYING = ("rectifying", "整改", "Rectifying")
    CLOSED = ("closed", "销号", "Closed out")


class TeamType(Coded):
    PROFESSIONAL = ("professional", "专业队伍", "Professional")
    PART_TIME = ("part_time", "兼职队伍", "Part-time")
    FIRE = ("fire", "消防救援", "Fire and rescue")
    MILITIA = ("militia", "民兵", "Militia")
    ENTERPRISE = ("enterprise", "企业队伍", "Enterprise")
    SOCIAL = ("social", "社会力量", "Social")
    VOLUNTEER = ("volunteer", "志愿者", "Volunteer")
    AVIATION = ("aviation", "航空救援", "Aviation")


class TeamStatus(Coded):
    STANDBY = ("standby", "备勤", "Standby")
    PREPOSITIONED = ("prepositioned", "预置", "Prepositioned")
    DISPATCHED = ("dispatched", "出动", "Dispatched")
    ON_SCENE = ("on_scene", "到场", "On scene")
    RETURNING = ("returning", "返回", "Returning")
    UNAVAILABLE = ("unavailable", "不可用", "Unavailable")


class DispatchState(Coded):
    ORDERED = ("ordered", "已下令", "Ordered")
    EN_ROUTE = ("en_route", "途中", "En route")
    ON_SCENE = ("on_scene", "到场", "On scene")
    RETURNED = ("returned", "已返回", "Returned")
    CANCELLED = ("cancelled", "已取消", "Cancelled")


ACTIVE_DISPATCH_STATES = ("ordered", "en_route", "on_scene")


class StockReason(Coded):
    INBOUND = ("inbound", "入库", "Inbound")
    ALLOCATION = ("allocation", "调拨出库", "Allocation")
    RETURN = ("return", "回收", "Return")
    TRANSFER_IN = ("transfer_in", "调入", "Transfer in")
    TRANSFER_OUT = ("transfer_out", "调出", "Transfer out")
    WRITEOFF = ("writeoff", "报废", "Write-off")
    COUNT_ADJUST = ("count_adjust", "盘点", "Stocktake")


class ReportKind(Coded):
    FLASH = ("flash", "速报", "Flash report")
    FIRST = ("first", "首报", "First report")
    FOLLOWUP = ("followup", "续报", "Follow-up report")
    FINAL = ("final", "终报", "Final report")


class SignoffDecision(Coded):
    APPROVED = ("approved", "已签发", "Approved")
    RETURNED = ("returned", "已退回", "Returned")


class LogKind(Coded):
    WATCH = ("watch", "守", "Watch")
    RECEIVE = ("receive", "接", "Receive")
    REPORT = ("report", "报", "Report")
    DISPATCH = ("dispatch", "调", "Dispatch")
    HANDLE = ("handle", "处", "Handle")
    NOTE = ("note", "记", "Note")
    HANDOVER = ("handover", "交接", "Handover")
    CORRECTION = ("correction", "更正", "Correction")


class ShelterKind(Coded):
    INDOOR = ("indoor", "室内", "Indoor")
    OUTDOOR = ("outdoor", "室外", "Outdoor")


class ShelterStatus(Coded):
    CLOSED = ("closed", "未开放", "Closed")
    OPEN = ("open", "已开放", "Open")
    FULL = ("full", "已满", "Full")


class ExpertCategory(Coded):
    NATURAL = ("natural_disaster", "自然灾害类", "Natural disasters")
    SAFETY = ("work_safety", "安全生产类", "Work safety")
    HEALTH = ("public_health", "公共卫生类", "Public health")
    SOCIAL = ("social_security", "社会安全类", "Social security")
    GENERAL = ("general", "综合类", "General")


class AllocationStatus(Coded):
    DRAFT = ("draft", "草拟", "Draft")
    APPROVED = ("approved", "已批准", "Approved")
    SHIPPED = ("shipped", "已出库", "Shipped")
    DELIVERED = ("delivered", "已送达", "Delivered")
    CANCELLED = ("cancelled", "已取消", "Cancelled")


class InstructionStatus(Coded):
    OPEN = ("open", "待办", "Open")
    DONE = ("done", "已办结", "Done")


class ConflictKind(Coded):
    CONCURRENT_EDIT = ("concurrent_edit", "并发修改", "Concurrent edit")
    ILLEGAL_TRANSITION = ("illegal_transition", "状态冲突", "Illegal transition")
    UNIT_TAKEN = ("unit_taken", "队伍已被调派", "Unit already dispatched")
    STOCK_NEGATIVE = ("stock_negative", "库存为负", "Negative stock")
    EDIT_AFTER_DELETE = ("edit_after_delete", "修改已删除记录", "Edit after delete")


class ConflictStatus(Coded):
    OPEN = ("open", "待处理", "Open")
    ACKNOWLEDGED = ("acknowledged", "已知悉", "Acknowledged")
    RESOLVED = ("resolved", "已解决", "Resolved")
