"""Waiting periods, reimbursement while waiting, continuity, and the three-month line.

A region's waiting table is a list of bands by gap length (see ``WaitingBand``); the band with the
largest ``over`` still below the gap applies. Everything here is computed from that band and the
paying date, so a region changes behaviour by editing its rule file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from miniservice.rules.citing import Citer
from miniservice.rules.gaps import three_month_line
from miniservice.rules.kinds import Cause
from miniservice.rules.months import Month
from miniservice.rules.quote_model import Benefits, Continuity, LineAdvice, ReducedRatio
from miniservice.rules.schema import ContinuityEffect, WaitingBand, WaitKind

_EFFECT_ORDER = [ContinuityEffect.KEPT, ContinuityEffect.RECOUNTED, ContinuityEffect.RESET]


@dataclass(frozen=True, slots=True)
class BandChoice:
    key: str  # citation key of the band, e.g. "flexible.waiting.self_bands[1]"
    band: WaitingBand


def choose_band(citer: Citer, section: str, cause: Cause, gap_first: Month, gap_months: int,
                pay_date: date) -> BandChoice:
    """The band that applies to a gap of ``gap_months`` paid on ``pay_date``.

    Day-measured regions (宜昌) count the lapse from the first day of the first missed month, when
    benefits stopped (seed 004: 从断缴次月起 … 无法享受), to the paying day.
    """
    measure = citer.value(f"{section}.waiting.measure")
    length = (pay_date - gap_first.first_day).days if measure == "days" else gap_months
    name = "unit_bands" if cause is Cause.UNIT else "self_bands"
    bands = getattr(getattr(citer.rules, section).waiting, name)
    index = max(i for i, band in enumerate(bands) if band.over < length or band.over == 0)
    key = f"{section}.waiting.{name}[{index}]"
    citer.sourced(key)
    return BandChoice(key, bands[index])


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
        WaitKind.DAY_AFTER_ARRIVAL: "benefits from the day after the arrears arrive",
        WaitKind.NEXT_MONTH: "benefits from the month after paying",
        WaitKind.MONTHS: f"benefits after {band.months} months of continuous payment",
        WaitKind.FROM_NTH_MONTH: f"benefits from month {band.months} of renewed payment",
    }[band.wait]


def benefits(choice: BandChoice, pay_date: date) -> Benefits:
    resume_on, waiting = resume(choice.band, pay_date)
    return Benefits(
        resume_on=resume_on,
        waiting_months=waiting,
        waiting_ends=resume_on - timedelta(days=1) if waiting else None,
        ratio_during_wait=choice.band.ratio_during_wait,
        gap_bills_reimbursable=choice.band.gap_bills_reimbursable,
        rule=describe(choice.band),
        cites=(choice.key,),
    )


def continuity(choice: BandChoice, months_before: int, gap_months: int, back_paid: bool) -> Continuity:
    """Effect on continuous enrolment; a gap that cannot be back-paid is at least recounted."""
    effect = choice.band.continuity
    if not back_paid:
        effect = max(effect, ContinuityEffect.RECOUNTED, key=_EFFECT_ORDER.index)
    after = months_before + gap_months if effect is ContinuityEffect.KEPT else 0
    return Continuity(effect, months_before, after, (choice.key,))


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


def line_advice(citer: Citer, section: str, cause: Cause, gap_first: Month, on_date: date) -> LineAdvice:
    """The last day to pay within the line, and what crossing it would add."""
    with citer.track() as keys:
        due_day = citer.value(f"{section}.due_day_next_month") or None
        months = citer.value(f"{section}.line_months")
        line = three_month_line(gap_first, due_day, months)
        within = choose_band(citer, section, cause, gap_first, months, line.last_day_within)
        beyond = choose_band(citer, section, cause, gap_first, months + 1, line.first_day_beyond)
    within_wait = resume(within.band, line.last_day_within)[1]
    beyond_wait = resume(beyond.band, line.first_day_beyond)[1]
    changes = beyond.band != within.band and (
        beyond_wait > within_wait or beyond.band.continuity != within.band.continuity
        or beyond.band.gap_bills_reimbursable != within.band.gap_bills_reimbursable)
    return LineAdvice(
        last_day_within=line.last_day_within,
        first_day_beyond=line.first_day_beyond,
        passed=line.passed(on_date),
        avoided_waiting_months=beyond_wait if changes else None,
        avoided_rule=describe(beyond.band) if changes else None,
        cites=tuple(keys),
    )
