"""Chinese names for every figure of a rule file, and its value as a citizen reads it.

A citation is keyed by the figure's path in the resolved rules (``flexible.backpay.self_online``):
that path is for code. What people see is :func:`figure_label` ("灵活就业人员可线上补缴") and
:func:`figure_value_text` ("是"). Both are pure and total: a path with no label is a bug the tests
catch (``test_every_figure_has_a_chinese_label``), never an English fallback on a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from miniservice.rules.schema import Sourced

SCHEMES = {"employee": "职工", "flexible": "灵活就业人员"}

# Labels of the fields of ``ContributionRules`` (shared by 职工 and 灵活就业); "{who}" is the scheme.
_CONTRIBUTION = {
    "base_floor_ratio": "{who}缴费基数下限（占当地职工月平均工资）",
    "base_ceiling_ratio": "{who}缴费基数上限（占当地职工月平均工资）",
    "unit_rate": "{who}医保单位缴费比例",
    "personal_rate": "{who}医保个人缴费比例",
    "due_day_next_month": "{who}医保费缴费截止日（次月几日）",
    "continuity_reset_after_months": "{who}断缴超过多少个月连续缴费年限清零",
    "line_months": "{who}补缴后不设等待期的断缴月数上限",
    "backpay.unit_window_months": "{who}单位最多可补缴的月数",
    "backpay.self_window_months": "{who}本人最多可补缴的月数",
    "backpay.self_online": "{who}可线上补缴",
    "backpay.unit_arrears_deadline_months": "单位欠缴须补缴到账的期限",
    "late_fee.daily_rate": "{who}补缴滞纳金（每日）",
    "late_fee.causes": "{who}需缴滞纳金的断缴原因",
    "waiting.measure": "{who}断缴时长的计算方式",
    "waiting.unit_bands": "{who}单位原因断缴后的待遇恢复规则",
    "waiting.self_bands": "{who}个人原因断缴后的待遇恢复规则",
    "short_continuity.below_months": "{who}连续参保不足多少个月时降低报销比例",
    "short_continuity.ratio": "{who}连续参保不足时的报销比例",
}

_OTHER = {
    "wage.average_monthly": "{year}年当地职工月平均工资",
    "wage.unemployed_base_ratio": "失业人员医保缴费基数（占当地职工月平均工资）",
    "resident.period_start": "居民医保集中缴费期开始日",
    "resident.period_end": "居民医保集中缴费期结束日",
    "resident.period_years": "居民医保集中缴费期日期公布于哪个参保年度",
    "resident.premium": "{year}年度居民医保个人缴费标准",
    "resident.fixed_wait_months": "居民医保固定待遇等待期",
    "resident.extra_wait_per_gap_year": "居民医保每多断保一年增加的等待期",
    "resident.free_gap_years": "居民医保不增加等待期的断保年数",
    "resident.repair_months_per_year": "居民医保每补缴一年减少的等待期",
    "resident.long_gap_years": "居民医保长期断保的年数",
    "resident.long_gap_min_wait_months": "居民医保长期断保修复后最短等待期",
    "resident.count_gap_years_from": "居民医保断保年数从哪一年起计算",
    "resident.off_period_enrolment": "居民医保可在集中缴费期外参保",
    "resident.from_next_month_after_new_year": "居民医保在1月1日之后缴费的，从缴费次月起享受待遇",
    "resident.online": "居民医保可线上缴费",
    "retiree.required_years_male": "男性退休时职工医保须累计缴费年限",
    "retiree.required_years_female": "女性退休时职工医保须累计缴费年限",
    "retiree.required_actual_years": "退休时职工医保须实际缴费年限",
    "retiree.earliest_age_male": "男性最早可以退休的年龄",
    "retiree.earliest_age_female": "女性最早可以退休的年龄",
    "retiree.top_up_allowed": "缴费年限不足的退休人员可补缴",
    "retiree.top_up_rate": "退休补缴费率",
    "retiree.assumed_wage_growth": "逐年补缴测算假设的平均工资年增长率",
    "family.relationships": "家庭共济可绑定的近亲属",
    "family.max_links": "家庭共济最多可绑定人数",
    "family.uses": "家庭共济资金可用于",
    "family.channels": "家庭共济办理渠道",
    "reminders.gap_months": "断缴满几个月时提醒",
    "reminders.days_before_line": "断缴满三个月前几天提醒",
    "reminders.resident_days_before_period_end": "居民医保集中缴费期结束前几天提醒",
    "guidance.online": "线上办理渠道",
    "guidance.hotline": "医保服务热线",
    "guidance.hotline_hours": "医保服务热线服务时间",
    "guidance.pay_channel": "线上缴费渠道",
    "guidance.offline": "线下办理地点",
    "guidance.materials_self": "个人补缴所需材料",
    "guidance.materials_unit": "单位补缴所需材料",
    "guidance.materials_retiree": "退休补缴所需材料",
    "guidance.materials_resident": "居民医保缴费所需材料",
}

_PERCENT = re.compile(r"(rate|ratio|growth)$")
_MONTHS = re.compile(r"(months|months_per_year|wait_per_gap_year)$")
_YEARS = re.compile(r"(_years|years_male|years_female)$")
_CHINESE_VALUES = {
    "self": "个人原因", "unit": "单位原因", "months": "按月计算", "days": "按天计算",
    "spouse": "配偶", "parent": "父母", "child": "子女", "sibling": "兄弟姐妹", "grandparent": "祖父母",
    "maternal_grandparent": "外祖父母", "grandchild": "孙子女", "maternal_grandchild": "外孙子女",
    "none": "暂未开通，请到线下或其他渠道缴费", "wechatpay": "微信支付（本公众号网上缴费）",
}
_BAND = re.compile(r"^(?P<path>.+_bands)\[(?P<index>\d+)\]$")
_YEAR = re.compile(r"^(?P<path>.+)\.(?P<year>\d{4})$")


def figure_label(key: str) -> str:
    """The Chinese name of the figure at ``key``; raises ``KeyError`` for a path no rule file has."""
    if band := _BAND.match(key):
        return figure_label(band["path"])
    if year := _YEAR.match(key):
        return _OTHER[year["path"]].format(year=year["year"])
    section, _, field = key.partition(".")
    if section in SCHEMES:
        return _CONTRIBUTION[field].format(who=SCHEMES[section])
    label = _OTHER[key]
    if "{year}" in label:
        raise KeyError(key)
    return label


def figure_value_text(key: str, value: Any) -> str:
    """The value as a citizen reads it: 是/否, percentages, months, Chinese names instead of codes."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple | list):
        return "、".join(figure_value_text(key, item) for item in value)
    name = _BAND.sub(r"\g<path>", key).rsplit(".", 1)[-1]
    if isinstance(value, Decimal) and _PERCENT.search(name):
        return f"{(value * 100).normalize():f}%"
    if isinstance(value, Decimal) and name.isdigit():
        return f"{value:,.2f} 元"
    if isinstance(value, int) and name == "self_window_months" and value == 0:
        return "不限"
    if isinstance(value, int) and name == "unit_window_months" and value == 0:
        return "不适用"
    if isinstance(value, int) and name == "due_day_next_month":
        return "当月最后一天" if value == 0 else f"次月 {value} 日"
    if isinstance(value, int) and name == "count_gap_years_from":
        return f"{value} 年"
    if isinstance(value, int) and name == "below_months":
        return "不降低" if value == 0 else f"{value} 个月"
    if isinstance(value, int) and _MONTHS.search(name):
        return f"{value} 个月"
    if isinstance(value, int) and name == "period_years":
        return f"{value} 年度"
    if isinstance(value, int) and _YEARS.search(name):
        return f"{value} 年"
    if isinstance(value, int) and name.startswith("earliest_age_"):
        return f"{value} 周岁"
    if isinstance(value, int) and name == "max_links":
        return f"{value} 人"
    if isinstance(value, int) and (name.startswith("days_") or "_days_" in name):
        return f"{value} 天"
    if isinstance(value, str) and value in _CHINESE_VALUES:
        return _CHINESE_VALUES[value]
    if hasattr(value, "value") and value.value in _CHINESE_VALUES:
        return _CHINESE_VALUES[value.value]
    if isinstance(value, str) and re.fullmatch(r"\d\d-\d\d", value):
        month, day = value.split("-")
        return f"{int(month)} 月 {int(day)} 日"
    return str(value)


def figure_paths(node: BaseModel, path: str = "") -> Iterator[str]:
    """Every figure path of a resolved region, as citations key them (bands as ``…_bands[i]``)."""
    for name in type(node).model_fields:
        if name in {"chain", "sources", "origin"}:
            continue
        value = getattr(node, name)
        sub = f"{path}.{name}" if path else name
        if isinstance(value, Sourced):
            yield sub
        elif isinstance(value, BaseModel):
            yield from figure_paths(value, sub)
        elif isinstance(value, dict):
            yield from (f"{sub}.{key}" for key, item in value.items() if isinstance(item, Sourced))
        elif isinstance(value, tuple) and value and isinstance(value[0], Sourced):
            yield from (f"{sub}[{index}]" for index in range(len(value)))
