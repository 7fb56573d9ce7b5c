"""What a holder may pay for a linked relative today, priced by the rules and the quote engine.

Two things can be paid from a personal account for a relative (国家医保局 2024: 近亲属参加居民医保、
灵活就业人员参加职工医保的个人缴费):

* ``premium`` — a 居民医保 year: the coverage year whose 集中缴费期 is open, or, outside the period
  where the region allows late enrolment, the current year (with the waiting period the quote gives);
* ``backpay`` — the open gap of a 灵活就业 relative, priced month by month by the quote engine.

Gaps of a relative employed in a unit are the unit's to pay, and retirees owe nothing, so neither
has anything payable here. Prices are computed afresh for every page and again inside the payment,
from the rules in force for the *relative's* region on that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from miniservice.citizens.models import Person, ResidentPremium
from miniservice.quotes.service import person_quote
from miniservice.rules.citing import Citation
from miniservice.rules.kinds import PayStatus, Scheme
from miniservice.rules.money import to_fen
from miniservice.rules.months import Month
from miniservice.rules.quote_model import MonthLine, Payer, Quote, Route


@dataclass(frozen=True, slots=True)
class Due:
    """One payable item: what the pay form names (:attr:`item`) and the amount it must show."""

    kind: str  # "premium" | "backpay"
    amount: Decimal  # rounded to 分: what is debited
    year: int | None = None
    first: Month | None = None
    last: Month | None = None
    lines: tuple[MonthLine, ...] = ()
    in_period: bool = True
    waiting_months: int = 0
    resume_on: date | None = None
    citations: tuple[Citation, ...] = ()

    @property
    def item(self) -> str:
        if self.kind == "premium":
            return f"premium:{self.year}"
        return f"backpay:{self.first}:{self.last}"

    @property
    def illustrative(self) -> bool:
        return any(c.illustrative for c in self.citations)


@dataclass(frozen=True, slots=True)
class RelativeStatus:
    """A relative's situation as the holder's page shows it; the template words it."""

    dues: tuple[Due, ...]
    next_period_start: date | None = None  # 居民医保 between periods: when paying opens again
    next_period_estimated: bool = False  # that day comes from another year's dates (示例数据)
    unit_gap: bool = False  # an in-unit gap: the unit pays, not the family

    def due(self, item: str) -> Due | None:
        return next((d for d in self.dues if d.item == item), None)


def _cited(result: Quote) -> tuple[Citation, ...]:
    return tuple(result.citations[key] for key in sorted(result.citations))


def _premium_due(session: Session, person: Person, result: Quote) -> Due | None:
    terms = result.resident
    if terms is None or result.route.how is not Route.ONLINE:
        return None
    status = session.execute(
        select(ResidentPremium.status).where(
            ResidentPremium.person_id == person.id, ResidentPremium.year == terms.coverage_year
        )
    ).scalar_one_or_none()
    if status in (PayStatus.PAID.value, PayStatus.BACK_PAID.value):
        return None
    benefits = result.benefits
    return Due(
        kind="premium",
        amount=to_fen(terms.premium),
        year=terms.coverage_year,
        in_period=terms.in_period,
        waiting_months=benefits.waiting_months if benefits else 0,
        resume_on=benefits.resume_on if benefits else None,
        citations=_cited(result),
    )


def _backpay_due(result: Quote) -> Due | None:
    facts = result.facts
    if not (result.route.possible and result.route.how is Route.ONLINE and result.lines):
        return None
    if any(line.payer is not Payer.CITIZEN for line in result.lines):
        return None
    benefits = result.benefits
    return Due(
        kind="backpay",
        amount=to_fen(result.totals.citizen_owes),
        first=facts.gap_first,
        last=facts.gap_last,
        lines=result.lines,
        waiting_months=benefits.waiting_months if benefits else 0,
        resume_on=benefits.resume_on if benefits else None,
        citations=_cited(result),
    )


def relative_status(session: Session, relative: Person, today: date, holder_id: int) -> RelativeStatus:
    """Everything ``holder_id`` may pay for ``relative`` on ``today`` under the rules of their region.

    Priced by the relative's own quote (:func:`~miniservice.quotes.service.person_quote`, the same
    facts and figures the relative's own pages show), so holder and relative never see two answers;
    and payable only when those facts list the holder among the relative's 家庭共济 payers (an active
    link and a personal account), so a page or a payment never offers what the link does not allow.
    """
    own = person_quote(session, relative.id or 0, today)
    if own.situation.family is None or not own.situation.family.may_pay(holder_id):
        return RelativeStatus(())
    result, scheme, gap = own.quote, own.scheme, own.situation.report.open_gap
    if scheme is Scheme.RESIDENT:
        ahead = result.on_date > today  # the next unpaid year, quoted on its period's first day: not yet payable
        due = None if ahead else _premium_due(session, relative, result)
        next_start, estimated = None, False
        if result.resident is not None and (ahead or result.route.how is Route.NEXT_PERIOD):
            next_start, estimated = result.resident.period_start, result.resident.period_estimated
        return RelativeStatus((due,) if due else (), next_period_start=next_start, next_period_estimated=estimated)
    if scheme is Scheme.FLEXIBLE and gap is not None:
        due = _backpay_due(result)
        return RelativeStatus((due,) if due else ())
    return RelativeStatus((), unit_gap=scheme is Scheme.EMPLOYEE and gap is not None)
