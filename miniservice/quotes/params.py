"""What-if input from a query string, a form or the command line, checked field by field.

The three surfaces accept the same things and refuse them with the same words, so the rules live
here once; each surface only says which of its own names a field goes by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from miniservice.quotes.errors import BadParameter
from miniservice.rules.divisions import UnknownRegion, check_region
from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.months import FIRST_DAY, LAST_DAY, Month

# A retiree's top-up is quoted from sex, birth date and the months paid (the what-if's inputs).
WHAT_IF_SCHEMES = (Scheme.EMPLOYEE, Scheme.FLEXIBLE, Scheme.RESIDENT, Scheme.RETIREE)
MAX_GAP_MONTHS = 120  # ten years: longer than any back-pay window a region allows
MAX_MONTHS = 1200  # a hundred years of enrolment: anything above is a typing error
MAX_BASE = Decimal("1000000")  # 元 a month: far above any region's ceiling (it is clamped anyway)
# ASCII digits only: ``\d`` would also take full-width and other scripts' digits, which int() reads.
_REGION_RE = re.compile(r"[0-9]{6}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT_RE = re.compile(r"[0-9]{1,5}")
_MONEY_RE = re.compile(r"[0-9]{1,7}(\.[0-9]{1,2})?")
GAP_FORMAT = "请按 2025-01..2025-04 这样的格式填写断缴区间（起始月份..结束月份）"
RESIDENT_GAP_YEARS = ("居民医保按年度参保，断保请按整年填写：从某年 1 月到某年 12 月，"
                      "如 2023-01..2024-12 表示 2023、2024 两年没有参保")


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A checked what-if: a gap of ``first``..``last`` (None for a 居民医保 premium only)."""

    region: str
    scheme: Scheme
    first: Month | None
    last: Month | None
    cause: Cause
    on_date: date
    continuous_months: int = 0  # months of continuous enrolment before the gap
    base: Decimal | None = None  # the declared monthly base; None: the region's figure
    sex: Sex | None = None  # retiree
    birth_date: date | None = None  # retiree (optional: the age is shown when given)
    paid_months: int = 0  # retiree: 累计缴费 months, deemed included
    actual_months: int | None = None  # retiree: 实际缴费 months; None: same as paid_months

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
                  cause: str | None, on: str | None, today: date, continuous: str | None = None,
                  base: str | None = None, sex: str | None = None, birth: str | None = None,
                  paid_months: str | None = None, actual_months: str | None = None) -> WhatIf:
    """Check every field; raises :class:`BadParameter` naming the first wrong one."""
    code = _region(region)
    chosen = _scheme(scheme)
    who = _cause(cause)
    if who is Cause.UNIT and chosen is not Scheme.EMPLOYEE:
        raise BadParameter("cause", "只有职工医保（在职）的断缴才可能是单位原因")
    on_date = _date(on, today, "on", "测算日期")
    if chosen is Scheme.RETIREE:
        return _retiree(code, on_date, first, last, sex, birth, paid_months, actual_months, continuous, base)
    for value, name in ((sex, "sex"), (birth, "birth"), (paid_months, "paid_months"),
                        (actual_months, "actual_months")):
        if (value or "").strip():
            raise BadParameter(name, "性别、出生日期和累计缴费月数只用于退休人员的补足年限测算；"
                                     "其他险种请把性别选为“不适用”，缴费月数留空")
    gap_first, gap_last = _gap(first, last, chosen, on_date)
    months = _count(continuous, "continuous", "断缴前连续参保月数")
    declared = _base(base)
    if chosen is Scheme.RESIDENT and (months or declared is not None):
        raise BadParameter("continuous" if months else "base", "居民医保按年缴费，不使用连续参保月数和缴费基数")
    return WhatIf(code, chosen, gap_first, gap_last, who, on_date, months, declared)


def _region(text: str | None) -> str:
    code = (text or "").strip()
    if not code:
        raise BadParameter("region", "请选择地区（6 位行政区划代码，如 440300）")
    if not _REGION_RE.fullmatch(code):
        raise BadParameter("region", f"地区代码应为 6 位数字，如 440300，您填写的是「{_shown(code)}」")
    try:
        return check_region(code)
    except UnknownRegion:
        raise BadParameter("region", f"{code} 不是本服务覆盖地区的行政区划代码（GB/T 2260）") from None


def _retiree(code: str, on_date: date, first: str | None, last: str | None, sex: str | None, birth: str | None,
             paid: str | None, actual: str | None, continuous: str | None, base: str | None) -> WhatIf:
    """A retiree's top-up: no gap months, the sex (the required years differ), the months paid."""
    if (first or "").strip() or (last or "").strip():
        raise BadParameter("first", "退休人员退休后不再按月缴费，测算的是补足缴费年限，请不要填写断缴区间")
    value = (sex or "").strip().lower()
    if value not in {s.value for s in Sex}:
        raise BadParameter("sex", "退休人员测算请选择性别（男或女）：男女要求的缴费年限不同")
    birth_date = _date(birth, None, "birth", "出生日期") if (birth or "").strip() else None
    if birth_date is not None and birth_date > on_date:
        raise BadParameter("birth", "出生日期晚于测算日期")
    if not (paid or "").strip():
        raise BadParameter("paid_months", "请填写累计缴费月数（含视同缴费）")
    for unused, name in ((continuous, "continuous"), (base, "base")):
        if (unused or "").strip():  # the top-up is costed on the region's average wage: these would be ignored
            raise BadParameter(name, "退休人员补足年限按当地平均工资测算，不使用连续参保月数和缴费基数，请留空")
    paid_months = _count(paid, "paid_months", "累计缴费月数")
    actual_months = _count(actual, "actual_months", "实际缴费月数") if (actual or "").strip() else None
    if actual_months is not None and actual_months > paid_months:
        raise BadParameter("actual_months", "实际缴费月数不能多于累计缴费月数")
    return WhatIf(code, Scheme.RETIREE, None, None, Cause.SELF, on_date, sex=Sex(value), birth_date=birth_date,
                  paid_months=paid_months, actual_months=actual_months)


def out_of_range(on: date) -> BadParameter:
    """The one refusal of a quote date outside the years the rules describe, whether ``on`` itself is
    outside them or a date the quote would state (a resume day, the next 居民医保 year) is."""
    return BadParameter("on", f"测算日期 {on.isoformat()} 无法测算：本服务只能测算 {FIRST_DAY} 至 {LAST_DAY} "
                        "之间的日期，测算得出的恢复待遇日、缴费年度和补缴期限也不能晚于这一天")


def _shown(text: str) -> str:
    """What the citizen typed, for an error message: at most 20 characters, invisible ones dropped."""
    return "".join(c for c in text if c.isprintable())[:20]


def _count(text: str | None, field: str, label: str) -> int:
    text = (text or "").strip()
    if not text:
        return 0
    if not _INT_RE.fullmatch(text) or int(text) > MAX_MONTHS:
        raise BadParameter(field, f"{label}应为 0 到 {MAX_MONTHS} 之间的整数")
    return int(text)


def _base(text: str | None) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text) if _MONEY_RE.fullmatch(text) else None
    except InvalidOperation:
        value = None
    if value is None or not 0 < value <= MAX_BASE:
        raise BadParameter("base", f"缴费基数应为大于 0、不超过 {MAX_BASE} 的金额（元/月，最多两位小数）")
    return value


def _scheme(text: str | None) -> Scheme:
    value = (text or "").strip().lower()
    if value not in {s.value for s in WHAT_IF_SCHEMES}:
        raise BadParameter("scheme", "险种应为 employee（职工医保）、flexible（灵活就业）、resident（居民医保）"
                           "或 retiree（退休人员补足年限）")
    return Scheme(value)


def _cause(text: str | None) -> Cause:
    value = (text or Cause.SELF.value).strip().lower()
    if value not in {c.value for c in Cause}:
        raise BadParameter("cause", "请选择断缴原因：个人原因（self）或单位原因（unit）")
    return Cause(value)


def _date(text: str | None, today: date | None, field: str, label: str) -> date:
    text = (text or "").strip()
    if not text and today is not None:
        return today
    if not _DATE_RE.fullmatch(text):
        raise BadParameter(field, f"请按 2026-11-25 这样的格式填写{label}，您填写的是「{_shown(text)}」")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadParameter(field, f"{label} {text} 不存在") from None
    if field == "on" and not FIRST_DAY <= day <= LAST_DAY:
        raise out_of_range(day)
    if day < date(1900, 1, 1):
        raise BadParameter(field, f"{label} {text} 太早")
    return day


def join_month(year: str | None, month: str | None, field: str, label: str) -> str:
    """A month picked as two lists (年, 月) → ``2025-03`` for the checks below; neither picked → "".

    Pages offer lists instead of a month input because a browser draws that in its own language
    (English month names in many); a half-picked month is refused in the words of the lists.
    """
    parts = _picked((year, month), field, f"请把{label}的年份和月份都选上")
    return f"{parts[0]}-{parts[1].zfill(2)}" if parts else ""


def join_day(year: str | None, month: str | None, day: str | None, field: str, label: str) -> str:
    """A date picked as three lists (年, 月, 日) → ``1965-03-01``; nothing picked → "".

    The day list offers 1–31 whatever the month, so a day the month lacks (2 月 30 日) is refused
    here in the lists' own words rather than as a date the citizen never typed.
    """
    parts = _picked((year, month, day), field, f"请把{label}的年、月、日都选上")
    if not parts:
        return ""
    text = f"{parts[0]}-{parts[1].zfill(2)}-{parts[2].zfill(2)}"
    if _DATE_RE.fullmatch(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise BadParameter(field, f"{int(parts[0])} 年 {int(parts[1])} 月没有 {int(parts[2])} 日，"
                                      f"请重新选择{label}") from None
    return text


def _picked(values: tuple[str | None, ...], field: str, incomplete: str) -> tuple[str, ...]:
    """The lists' values stripped; () when none was picked, refused when only some were."""
    parts = tuple((value or "").strip() for value in values)
    if not any(parts):
        return ()
    if not all(parts):
        raise BadParameter(field, incomplete)
    return parts


def _month(text: str, field: str, label: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError:
        raise BadParameter(field, f"请按 2025-03 这样的格式填写{label}，您填写的是「{_shown(text)}」") from None


def _gap(first: str | None, last: str | None, scheme: Scheme, on_date: date) -> tuple[Month | None, Month | None]:
    first, last = (first or "").strip(), (last or "").strip()
    if not first and not last and scheme is Scheme.RESIDENT:
        return None, None  # a 居民医保 premium without 断保
    if not first:
        raise BadParameter("first", "请填写断缴起始月份，如 2025-03")
    if not last:
        raise BadParameter("last", "请填写断缴结束月份，如 2025-03")
    gap_first, gap_last = _month(first, "first", "断缴起始月份"), _month(last, "last", "断缴结束月份")
    if gap_first.first_day < FIRST_DAY:
        raise BadParameter("first", f"断缴起始月份不能早于 {FIRST_DAY:%Y-%m}")
    if gap_last < gap_first:
        raise BadParameter("last", f"断缴结束月份 {gap_last} 早于起始月份 {gap_first}")
    # 居民医保: a year is 断保 once its 集中缴费期 has ended, before the year is out; the region's period
    # decides (quotes.service.what_if), here only a year no period can have ended for is refused.
    latest = Month(on_date.year + 1, 12) if scheme is Scheme.RESIDENT else Month.of(on_date)
    if gap_last > latest:
        raise BadParameter("last", f"断缴结束月份 {gap_last} 晚于测算日期所在月份 {Month.of(on_date)}")
    if gap_first.months_until(gap_last) + 1 > MAX_GAP_MONTHS:
        raise BadParameter("first", f"断缴区间最长 {MAX_GAP_MONTHS} 个月")
    if scheme is Scheme.RESIDENT and (gap_first.month, gap_last.month) != (1, 12):
        # 断保 is counted in whole years (国办发〔2024〕38号: 每多断保1年); a part of a year means nothing here.
        raise BadParameter("first" if gap_first.month != 1 else "last", RESIDENT_GAP_YEARS)
    return gap_first, gap_last
