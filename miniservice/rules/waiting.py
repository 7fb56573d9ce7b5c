"""Waiting periods, reimbursement while waiting, continuity, and the region's line.

A region's waiting table is a list of bands by gap length (see ``WaitingBand``); the band with the
largest ``over`` still below the gap applies. Everything here is computed from that band and the
paying date, so a region changes behaviour by editing its rule file only.

The *line* is not the national "three months": it is the last day on which paying an open gap
avoids every consequence under the region's own rules — its bands in months or in days (宜昌 60 /
180 days), its back-pay window, and for a unit's arrears the deadline by which they must arrive
(seed 004: 应在6个月内足额补缴到账). Reminders are timed by exactly this day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from miniservice.rules.citing import Citer
from miniservice.rules.gaps import due_date, last_due_month
from miniservice.rules.kinds import Cause
from miniservice.rules.months import LAST_DAY, BeyondYears, Month, add_months_to_date
from miniservice.rules.quote_model import Benefits, Continuity, LineAdvice, ReducedRatio
from miniservice.rules.schema import ContinuityEffect, WaitingBand, WaitKind

_EFFECT_ORDER = [ContinuityEffect.KEPT, ContinuityEffect.RECOUNTED, ContinuityEffect.RESET]


@dataclass(frozen=True, slots=True)
class BandChoice:
    key: str  # citation key of the band, e.g. "flexible.waiting.self_bands[1]"
    band: WaitingBand
    measure_key: str | None = None  # cited too when the band was chosen by days (how they are counted)

    @property
    def cites(self) -> tuple[str, ...]:
        return (self.key,) if self.measure_key is None else (self.key, self.measure_key)


def unit_deadline(citer: Citer, section: str, gap_first: Month) -> date:
    """The last day a unit's arrears may arrive: ``unit_arrears_deadline_months`` after the first
    missed month fell due (seed 004: 用人单位欠缴 … 应在6个月内足额补缴到账). A month due on its last
    day gives the last day of the month six months on (09-30 → 03-31, not 03-30)."""
    due_day = citer.value(f"{section}.due_day_next_month") or None
    months = citer.value(f"{section}.backpay.unit_arrears_deadline_months")
    due = due_date(gap_first, due_day)
    if due == Month.of(due).last_day:  # due at a month's end: six months later is that month's end too
        return (Month.of(due) + months).last_day
    return add_months_to_date(due, months)


def choose_band(citer: Citer, section: str, cause: Cause, gap_first: Month, gap_months: int,
                pay_date: date, lapse_end: date | None = None) -> BandChoice:
    """The band that applies to a gap of ``gap_months`` paid on ``pay_date``.

    Day-measured regions (宜昌) count the lapse from the first day of the first missed month, when
    benefits stopped (seed 004: 从断缴次月起 … 无法享受), that day being day 0, to the paying day (for a
    closed gap, to ``lapse_end``, the first day of the renewed payment that ended it). No source
    states where the count starts, so the region's ``waiting.measure`` says so, is illustrative and
    is cited with the band. A unit's arrears paid
    after the unit's deadline lose the unit bands' promise (到账次日起享受, 追溯报销): the gap is then
    treated like any other gap of its length (the self bands), though the unit still pays for it.
    """
    measure = citer.value(f"{section}.waiting.measure")
    length = ((lapse_end or pay_date) - gap_first.first_day).days if measure == "days" else gap_months
    late_unit = cause is Cause.UNIT and pay_date > unit_deadline(citer, section, gap_first)
    name = "unit_bands" if cause is Cause.UNIT and not late_unit else "self_bands"
    bands = getattr(getattr(citer.rules, section).waiting, name)
    index = max(i for i, band in enumerate(bands) if band.over < length or band.over == 0)
    key = f"{section}.waiting.{name}[{index}]"
    citer.sourced(key)
    return BandChoice(key, bands[index], f"{section}.waiting.measure" if measure == "days" else None)


def resume(band: WaitingBand, pay_date: date) -> tuple[date, int]:
    """First day of benefits and the waiting months, for arrears paid on ``pay_date``."""
    paying = Month.of(pay_date)
    if band.wait is WaitKind.DAY_AFTER_ARRIVAL:
        return pay_date + timedelta(days=1), 0
    if band.wait is WaitKind.NEXT_MONTH:
        return (paying + 1).first_day, 0
    if band.wait is WaitKind.MONTHS:
        return (paying + band.months).first_day, band.months
    return (paying + (band.months - 1)).first_day, band.months - 1  # FROM_NTH_MONTH


def describe(band: WaitingBand) -> str:
    """The band's label, or a plain sentence when the file gives none."""
    if band.label:
        return band.label
    return {
        WaitKind.DAY_AFTER_ARRIVAL: "补缴到账次日起享受待遇",
        WaitKind.NEXT_MONTH: "补缴后次月起享受待遇",
        WaitKind.MONTHS: f"连续缴费满 {band.months} 个月后享受待遇",
        WaitKind.FROM_NTH_MONTH: f"重新缴费的第 {band.months} 个月起享受待遇",
    }[band.wait]


def benefits(choice: BandChoice, pay_date: date, *, back_paid: bool = True, retroactive: bool = True) -> Benefits:
    """Benefits after paying on ``pay_date``; a gap that cannot be back-paid is never reimbursed.

    Without back-payment the missed months stay unpaid, so nothing can be reimbursed retroactively
    and the citizen resumes by paying again: the band's wait from the day of renewed payment applies
    (for a closed gap, the day it ended). ``retroactive`` False: the gap is paid, but too late for
    its bills to be reimbursed (a unit's arrears after their deadline, seed 004).
    """
    resume_on, waiting = resume(choice.band, pay_date)
    return Benefits(
        resume_on=resume_on,
        waiting_months=waiting,
        waiting_ends=resume_on - timedelta(days=1) if waiting else None,
        ratio_during_wait=choice.band.ratio_during_wait,
        gap_bills_reimbursable=choice.band.gap_bills_reimbursable and back_paid and retroactive,
        rule=describe(choice.band),
        cites=choice.cites,
        back_paid=back_paid,
    )


def continuity(choice: BandChoice, months_before: int, gap_months: int, back_paid: bool) -> Continuity:
    """Effect on continuous enrolment; a gap that cannot be back-paid is at least recounted."""
    effect = choice.band.continuity
    if not back_paid:
        effect = max(effect, ContinuityEffect.RECOUNTED, key=_EFFECT_ORDER.index)
    after = months_before + gap_months if effect is ContinuityEffect.KEPT else 0
    return Continuity(effect, months_before, after, choice.cites)


def reduced_ratio(citer: Citer, section: str, after: Continuity, pay_date: date,
                  resume_on: date) -> ReducedRatio | None:
    """厦门-style: a lower ratio until continuous enrolment reaches ``below_months``."""
    with citer.track() as keys:
        below = citer.value(f"{section}.short_continuity.below_months")
        ratio = citer.value(f"{section}.short_continuity.ratio")
    if below == 0 or after.months_after >= below:
        return None
    normal_from = (Month.of(pay_date) + (below - after.months_after)).first_day
    if normal_from <= resume_on:
        return None
    return ReducedRatio(ratio, below, normal_from, tuple(keys))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What paying an open gap on one day means, money apart: the things a line can protect."""

    possible: bool
    waiting: int
    continuity: ContinuityEffect
    reimbursable: bool
    ratio: Decimal | None  # the ratio while waiting, when there is a wait
    unit_late: bool


def _outcome(citer: Citer, section: str, cause: Cause, gap_first: Month, pay_date: date,
             window: int) -> tuple[_Outcome, BandChoice, int]:
    due_day = citer.value(f"{section}.due_day_next_month") or None
    months = gap_first.months_until(last_due_month(pay_date, due_day)) + 1
    measure = citer.value(f"{section}.waiting.measure")
    length = (pay_date - gap_first.first_day).days if measure == "days" else months
    choice = choose_band(citer, section, cause, gap_first, months, pay_date)
    possible = not window or gap_first >= Month.of(pay_date) - window
    waiting = resume(choice.band, pay_date)[1]
    unit_late = cause is Cause.UNIT and pay_date > unit_deadline(citer, section, gap_first)
    return (_Outcome(possible, waiting, choice.band.continuity, choice.band.gap_bills_reimbursable and possible,
                     choice.band.ratio_during_wait if waiting else None, unit_late), choice, length)


def _change_days(citer: Citer, section: str, cause: Cause, gap_first: Month, window: int) -> tuple[list[date], bool]:
    """Every day on which the outcome can change: a month falling due, a day band's edge, the
    window moving past the gap's first month, the unit's deadline passing — and whether some were
    left out for falling after ``LAST_DAY`` (the rules describe nothing later)."""
    due_day = citer.value(f"{section}.due_day_next_month") or None
    makers = [lambda k=k: due_date(gap_first + k, due_day) + timedelta(days=1) for k in range(1, 61)]
    if citer.value(f"{section}.waiting.measure") == "days":
        bands = getattr(citer.rules, section).waiting.bands(cause)
        makers += [lambda band=band: gap_first.first_day + timedelta(days=band.over + 1) for band in bands if band.over]
    if window:
        makers.append(lambda: (gap_first + window + 1).first_day)
    if cause is Cause.UNIT:
        makers.append(lambda: unit_deadline(citer, section, gap_first) + timedelta(days=1))
    days, cut = set(), False
    for make in makers:
        try:
            day = make()
        except ValueError:  # a month after the year 2200
            day = None
        if day is None or day > LAST_DAY:
            cut = True
        else:
            days.add(day)
    first_day = due_date(gap_first, due_day) + timedelta(days=1)
    return sorted(day for day in days if day > first_day), cut


def line_advice(citer: Citer, section: str, cause: Cause, gap_first: Month, on_date: date) -> LineAdvice | None:
    """The last day on which paying the open gap starting at ``gap_first`` avoids every consequence.

    The outcome of paying on the first day the gap exists is the best there is; the line is the day
    before the first day whose outcome is worse in any respect (a wait, continuity, reimbursement of
    the gap's bills, back-payment still possible). None when no day changes anything; the search
    stops at ``LAST_DAY``, and a line it cannot find before then raises :class:`BeyondYears`.
    """
    with citer.track() as keys:
        window_key = "unit_window_months" if cause is Cause.UNIT else "self_window_months"
        window = citer.value(f"{section}.backpay.{window_key}")
        due_day = citer.value(f"{section}.due_day_next_month") or None
        measure = citer.value(f"{section}.waiting.measure")
        start = due_date(gap_first, due_day) + timedelta(days=1)
        best, _, _ = _outcome(citer, section, cause, gap_first, start, window)
        days, cut = _change_days(citer, section, cause, gap_first, window)
        for day in days:
            seen, choice, _ = _outcome(citer, section, cause, gap_first, day, window)
            if seen != best:
                within = day - timedelta(days=1)
                _, _, length = _outcome(citer, section, cause, gap_first, within, window)
                reason = ("window" if not seen.possible else "unit_deadline" if seen.unit_late != best.unit_late
                          else "waiting")
                break
        else:
            if cut:  # the outcome may change after the years the rules describe: no line can be stated
                raise BeyondYears(f"the line for a gap from {gap_first} falls after {LAST_DAY}")
            return None
    changed_wait = seen.waiting != best.waiting
    return LineAdvice(
        last_day_within=within,
        first_day_beyond=day,
        passed=on_date > within,
        avoided_waiting_months=seen.waiting if changed_wait else None,
        avoided_rule=describe(choice.band),
        measure=measure,
        length_within=length,
        reason=reason,
        cites=tuple(keys),
    )
