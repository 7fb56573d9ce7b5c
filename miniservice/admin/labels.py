"""Chinese words for the rule schema, so staff never read a key path, an English word or a raw code.

One table says, for each figure name, what a clerk calls it and in which unit the value is written;
the editor, the error messages, the diff and the audit log all take their words from here, so a
figure has one name on every staff page. A test walks the schema and fails on any field without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SECTIONS = {
    "wage": "工资基数", "employee": "职工医保（在职，单位缴费）", "flexible": "职工医保（灵活就业人员）",
    "resident": "城乡居民医保", "retiree": "退休人员补缴年限", "family": "家庭共济", "reminders": "断缴提醒",
    "guidance": "办理指引", "backpay": "补缴", "late_fee": "滞纳金", "waiting": "待遇等待期",
    "short_continuity": "连续参保不足时的报销比例",
}

RATE = "比例，小数填写：0.08 即 8%"


@dataclass(frozen=True, slots=True)
class Words:
    label: str
    unit: str = ""


FIELDS: dict[str, Words] = {
    "name": Words("地区名称"),
    "version": Words("版本号", "如 2026.1"),
    "notes": Words("版本说明", "每行一条"),
    "effective_from": Words("计划生效日期", "发布时可再调整"),
    "code": Words("地区代码"),
    "parent": Words("上级地区"),
    "average_monthly": Words("上年度职工月平均工资", "元/月，按统计年份"),
    "unemployed_base_ratio": Words("失业人员代缴医保的基数", RATE + "（相对上年月平均工资）"),
    "base_floor_ratio": Words("缴费基数下限", "倍，相对上年月平均工资：0.6 即 60%"),
    "base_ceiling_ratio": Words("缴费基数上限", "倍，相对上年月平均工资：3 即 300%"),
    "unit_rate": Words("单位缴费费率", RATE),
    "personal_rate": Words("个人缴费费率", RATE),
    "due_day_next_month": Words("每月费用的缴费截止日", "次月几号；0 表示当月月底"),
    "continuity_reset_after_months": Words("断缴超过几个月，连续缴费年限清零", "个月"),
    "line_months": Words("“三个月线”：断缴几个月内补缴不设等待期", "个月"),
    "unit_window_months": Words("单位最多可补缴", "个月"),
    "self_window_months": Words("个人最多可补缴", "个月；0 表示不限"),
    "self_online": Words("个人可以线上补缴"),
    "unit_arrears_deadline_months": Words("单位欠费须在几个月内补足", "个月"),
    "daily_rate": Words("滞纳金日费率", "每日，小数填写：0.0005 即万分之五"),
    "causes": Words("哪些原因的断缴收取滞纳金"),
    "measure": Words("断缴长度的计算单位"),
    "unit_bands": Words("单位原因断缴：补缴后多久恢复待遇"),
    "self_bands": Words("个人原因断缴：补缴后多久恢复待遇"),
    "below_months": Words("连续参保不满几个月时降低报销比例", "个月；0 表示不降低"),
    "ratio": Words("连续参保不足时的报销比例", RATE + "；1 表示不降低"),
    "pay_channel": Words("线上缴费渠道", "微信支付或未开通"),
    "period_start": Words("集中缴费期开始", "月-日，如 09-10"),
    "period_end": Words("集中缴费期结束", "月-日，如 12-25"),
    "period_years": Words("缴费期日期是哪个参保年度公布的", "年份，如 2025；其他年度按此估算，标为示例数据"),
    "premium": Words("居民医保个人缴费标准", "元/年，按参保年度"),
    "fixed_wait_months": Words("固定待遇等待期", "个月"),
    "extra_wait_per_gap_year": Words("每多断保 1 年增加的等待期", "个月"),
    "free_gap_years": Words("不增加等待期的断保年数", "年"),
    "repair_months_per_year": Words("每补缴 1 年可减少的等待期", "个月"),
    "long_gap_years": Words("长期断保：连续断保几年及以上", "年"),
    "long_gap_min_wait_months": Words("长期断保修复后至少等待", "个月"),
    "count_gap_years_from": Words("从哪一年起计算断保年数", "年份，如 2025"),
    "off_period_enrolment": Words("集中缴费期外可以参保"),
    "from_next_month_after_new_year": Words("1月1日之后在集中缴费期内缴费的，从缴费次月起享受待遇"),
    "online": Words("可以线上办理"),
    "required_years_male": Words("男性退休需缴满", "年"),
    "required_years_female": Words("女性退休需缴满", "年"),
    "required_actual_years": Words("其中实际缴费至少", "年"),
    "earliest_age_male": Words("男性最早可以退休的年龄", "周岁"),
    "earliest_age_female": Words("女性最早可以退休的年龄", "周岁"),
    "top_up_allowed": Words("退休时年限不足可以一次性补缴"),
    "top_up_rate": Words("一次性补缴的费率", RATE),
    "assumed_wage_growth": Words("预计月平均工资每年增长", RATE + "（测算假设）"),
    "relationships": Words("可以共济的亲属"),
    "max_links": Words("最多可绑定的共济亲属", "人"),
    "uses": Words("共济资金可以用于", "每行一项"),
    "channels": Words("办理家庭共济的渠道", "每行一项"),
    "gap_months": Words("断缴满几个月时提醒", "个月，每行一个"),
    "days_before_line": Words("超过三个月线前几天提醒", "天"),
    "resident_days_before_period_end": Words("居民医保缴费期结束前几天提醒", "天，每行一个"),
    "hotline": Words("咨询电话"),
    "hotline_hours": Words("咨询电话接听时间"),
    "offline": Words("线下办理地点", "每行一项"),
    "materials_self": Words("个人补缴需带材料", "每行一项"),
    "materials_unit": Words("单位补缴需带材料", "每行一项"),
    "materials_retiree": Words("退休补缴需带材料", "每行一项"),
    "materials_resident": Words("居民医保参保需带材料", "每行一项"),
}

FIGURE_PARTS = {"value": "数值", "source": "来源", "quote": "原文句子", "note": "备注", "illustrative": "示例数据",
                "also": "其他来源", "differs": "说法不同的来源", "says": "该来源的说法"}

BAND_COLUMNS: dict[str, Words] = {
    "over": Words("断缴超过", "个月（或天）"),
    "wait": Words("恢复待遇的方式"),
    "months": Words("月数", "等待或第几个月"),
    "ratio_during_wait": Words("等待期内报销比例", "0–1"),
    "gap_bills_reimbursable": Words("断缴期间费用可追溯报销"),
    "continuity": Words("连续参保年限"),
    "label": Words("说明（给参保人看）"),
    "source": Words("来源"),
    "note": Words("备注"),
    "illustrative": Words("示例数据"),
}

CHOICES: dict[str, str] = {
    # PayChannel
    "wechatpay": "微信支付", "none": "未开通",
    # Cause
    "unit": "单位原因", "self": "个人原因",
    # Relation
    "spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹", "grandparent": "祖父母",
    "maternal_grandparent": "外祖父母", "grandchild": "孙子女", "maternal_grandchild": "外孙子女",
    # WaitKind
    "next_month": "补缴后次月恢复", "day_after_arrival": "补缴到账次日恢复", "months": "等待若干个月",
    "from_nth_month": "重新缴费第几个月起恢复",
    # ContinuityEffect
    "kept": "连续计算", "recounted": "重新计算（累计年限不受影响）", "reset": "清零",
    # measure
    "days": "按天",
    # bool
    "true": "是", "false": "否",
    # audit details: how a citizen proved identity, staff roles
    "card": "医保卡号", "phone": "手机号码", "viewer": "查看", "editor": "编辑", "publisher": "发布",
}
MEASURE_MONTHS = "按月"


def choice(field: str, value: str) -> str:
    """A choice's Chinese words (``months`` means 按月 as a measure but 等待若干个月 as a way to wait)."""
    if field == "measure" and value == "months":
        return MEASURE_MONTHS
    return CHOICES.get(value, value)


def words(name: str) -> Words:
    """A figure's, a band column's or a figure part's words (the names do not clash)."""
    return (FIELDS.get(name) or BAND_COLUMNS.get(name)
            or Words(FIGURE_PARTS.get(name) or SECTIONS.get(name, name)))


def path_label(path: str) -> str:
    """A dotted schema path in words.

    ``flexible.backpay.self_online`` → 职工医保（灵活就业人员） · 补缴 · 个人可以线上补缴.

    Numbers are years of a table (``wage.average_monthly.2024``) or rows of a band table (counted
    from 1 for people); figure parts (value, source …) are named too.
    """
    parts: list[str] = []
    previous = ""
    for part in path.replace("[", ".").replace("]", "").split("."):
        if not part:
            continue
        if part.isdigit():
            parts.append(f"第 {int(part) + 1} 档" if previous.endswith("_bands") else
                         f"{part} 年" if len(part) == 4 else f"第 {int(part) + 1} 项")
        elif part in SECTIONS:
            parts.append(SECTIONS[part])
        elif part in FIGURE_PARTS:
            parts.append(FIGURE_PARTS[part])
        else:
            parts.append(words(part).label)
        previous = part
    return " · ".join(parts)


def value_words(path: str, value: Any) -> str:
    """A stored value as staff read it: 是/否, choices in Chinese, lists joined, bands one per line."""
    name = path.replace("[", ".").replace("]", "").rstrip(".").split(".")[-1]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "；".join(value_words(path, item) for item in value)
    if isinstance(value, Mapping):
        if "value" in value:
            return value_words(path, value["value"])
        shown = value.get("label") or "，".join(
            f"{words(k).label} {value_words(k, v)}" for k, v in value.items() if k in BAND_COLUMNS and k != "source")
        return str(shown)
    if value is None:
        return "（未设置）"
    return choice(name, str(value)) if name in _CHOICE_FIELDS else str(value)


_CHOICE_FIELDS = {"causes", "relationships", "measure", "wait", "continuity", "role", "factor"}
