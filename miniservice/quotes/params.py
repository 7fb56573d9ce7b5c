"""What-if input from a query string, a form or the command line, checked field by field.

The three surfaces accept the same things and refuse them with the same words, so the rules live
here once; each surface only says which of its own names a field goes by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from miniservice.quotes.errors import BadParameter
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month

# A retiree's top-up needs a whole record (sex, paid years), so it is quoted for bound citizens only.
WHAT_IF_SCHEMES = (Scheme.EMPLOYEE, Scheme.FLEXIBLE, Scheme.RESIDENT)
MAX_GAP_MONTHS = 120  # ten years: longer than any back-pay window a region allows
_REGION_RE = re.compile(r"^\d{6}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The calculator's calendar: wide enough for any real question, narrow enough that month and year
# arithmetic around the date (a gap ten years back, a deadline a year ahead) stays inside ``date``.
FIRST_ON, LAST_ON = date(2000, 1, 1), date(2099, 12, 31)
GAP_FORMAT = "请按 2025-01..2025-04 这样的格式填写断缴区间（起始月份..结束月份）"


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A checked what-if: a gap of ``first``..``last`` (None for a 居民医保 premium only)."""

    region: str
    scheme: Scheme
    first: Month | None
    last: Month | None
    cause: Cause
    on_date: date

    @property
    def gap_text(self) -> str:
        return f"{self.first}..{self.last}" if self.first else ""


def split_gap(text: str | None) -> tuple[str, str]:
    """``2025-01..2025-04`` → ``("2025-01", "2025-04")``; an empty text is no gap."""
    text = (text or "").strip()
    if not text:
        return "", ""
    first, separator, last = text.partition("..")
    if not separator or not first or not last:
        raise BadParameter("gap", GAP_FORMAT)
    return first, last


def parse_what_if(*, region: str | None, scheme: str | None, first: str | None, last: str | None,
                  cause: str | None, on: str | None, today: date) -> WhatIf:
    """Check every field; raises :class:`BadParameter` naming the first wrong one."""
    code = (region or "").strip()
    if not code:
        raise BadParameter("region", "请选择地区（6 位行政区划代码，如 440300）")
    if not _REGION_RE.match(code):
        raise BadParameter("region", f"地区代码应为 6 位数字，如 440300，您填写的是「{code}」")
    chosen = _scheme(scheme)
    who = _cause(cause)
    if who is Cause.UNIT and chosen is not Scheme.EMPLOYEE:
        raise BadParameter("cause", "只有职工医保（在职）的断缴才可能是单位原因")
    on_date = _date(on, today)
    gap_first, gap_last = _gap(first, last, chosen, on_date)
    return WhatIf(code, chosen, gap_first, gap_last, who, on_date)


def _scheme(text: str | None) -> Scheme:
    value = (text or "").strip().lower()
    if value not in {s.value for s in WHAT_IF_SCHEMES}:
        raise BadParameter("scheme", ("请选择险种：职工医保（在职，employee）、职工医保（灵活就业，flexible）"
                                        "或城乡居民医保（resident）"))
    return Scheme(value)


def _cause(text: str | None) -> Cause:
    value = (text or Cause.SELF.value).strip().lower()
    if value not in {c.value for c in Cause}:
        raise BadParameter("cause", "请选择断缴原因：个人原因（self）或单位原因（unit）")
    return Cause(value)


def _date(text: str | None, today: date) -> date:
    text = (text or "").strip()
    if not text:
        return today
    if not _DATE_RE.match(text):
        raise BadParameter("on", f"请按 2026-11-25 这样的格式填写测算日期，您填写的是「{text}」")
    try:
        on_date = date.fromisoformat(text)
    except ValueError:
        raise BadParameter("on", f"测算日期 {text} 不存在") from None
    if not FIRST_ON <= on_date <= LAST_ON:
        raise BadParameter("on", f"测算日期应在 {FIRST_ON} 至 {LAST_ON} 之间")
    return on_date


def _month(text: str, field: str, label: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise BadParameter(field, f"请按 2025-03 这样的格式填写{label}，您填写的是「{text}」") from None


def _gap(first: str | None, last: str | None, scheme: Scheme, on_date: date) -> tuple[Month | None, Month | None]:
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last and scheme is Scheme.RESIDENT:
        return None, None  # a 居民医保 premium without 断保
    if not first:
        raise BadParameter("first", "请填写断缴起始月份，如 2025-03")
    if not last:
        raise BadParameter("last", "请填写断缴结束月份，如 2025-03")
    gap_first, gap_last = _month(first, "first", "断缴起始月份"), _month(last, "last", "断缴结束月份")
    if gap_last < gap_first:
        raise BadParameter("last", f"断缴结束月份 {gap_last} 早于起始月份 {gap_first}")
    if gap_last > Month.of(on_date):
        raise BadParameter("last", f"断缴结束月份 {gap_last} 晚于测算日期所在月份 {Month.of(on_date)}")
    if gap_first.months_until(gap_last) + 1 > MAX_GAP_MONTHS:
        raise BadParameter("first", f"断缴区间最长 {MAX_GAP_MONTHS} 个月")
    return gap_first, gap_last
