"""What a draft would change: sample quotes side by side, and the bound citizens whose quote moves.

Both sides run the real quote engine on the same facts and the same day; only the rules differ
(the versions in force vs. the same chain with the draft substituted). Citizens are read set-wise
(one query for people, one for their months) and only those whose region inherits from the draft's
region are quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from miniservice.citizens.models import Binding, Person
from miniservice.quotes.citizen import records_of_people, situation_from
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import NoRulesInForce, preview_rules, rules_in_force
from miniservice.rules.citing import QuoteError
from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.loading import RuleFileError
from miniservice.rules.money import to_fen
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Quote
from miniservice.rules.schema import RegionRules

CITIZEN_LIMIT = 5000  # a preview is a page: beyond this many bound citizens it says it sampled


@dataclass(frozen=True, slots=True)
class Outcome:
    """One side of a comparison: the amount the citizen owes and when benefits resume, or why not."""

    owes: Decimal | None = None
    total: Decimal | None = None
    waiting_months: int | None = None
    resume_on: date | None = None
    error: str | None = None

    @classmethod
    def of(cls, rules: RegionRules, facts: CitizenFacts, on_date: date) -> Outcome:
        try:
            result: Quote = quote(rules, facts, on_date)
        except QuoteError as exc:
            return cls(error=str(exc))
        benefits = result.benefits
        # A retiree short of the required years owes the one-off top-up, not a gap's back-payment.
        owes = result.retirement.one_off if result.retirement else result.totals.citizen_owes
        return cls(owes=to_fen(owes), total=to_fen(result.totals.total),
                   waiting_months=benefits.waiting_months if benefits else None,
                   resume_on=benefits.resume_on if benefits else None)


@dataclass(frozen=True, slots=True)
class SampleRow:
    label: str
    old: Outcome
    new: Outcome

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True, slots=True)
class Impact:
    """Bound citizens of the affected regions whose current quote would differ."""

    considered: int
    changed: int
    total_change: Decimal  # sum over citizens of (new − old) amount owed
    largest_rise: Decimal
    largest_fall: Decimal
    sampled: bool


def _samples(region: str, on: date) -> list[tuple[str, CitizenFacts]]:
    """Typical cases relative to ``on``: short and long gaps, unit-caused, resident, retiree."""
    last = Month.of(on) - 1
    born = date(on.year - 61, 3, 1)
    flexible, employee = Scheme.FLEXIBLE, Scheme.EMPLOYEE
    return [
        ("灵活就业，个人原因断缴 2 个月", CitizenFacts(region, flexible, last - 1, last, continuous_months_before=36)),
        ("灵活就业，个人原因断缴 4 个月", CitizenFacts(region, flexible, last - 3, last, continuous_months_before=36)),
        ("职工，单位原因断缴 5 个月", CitizenFacts(region, employee, last - 4, last, cause=Cause.UNIT,
                                         continuous_months_before=60)),
        ("职工，个人原因断缴 8 个月", CitizenFacts(region, employee, last - 7, last, continuous_months_before=60)),
        ("居民医保，断保 1 年", CitizenFacts(region, Scheme.RESIDENT, resident_gap_years=1)),
        ("退休，累计缴费 20 年（男）", CitizenFacts(region, Scheme.RETIREE, sex=Sex.MALE, birth_date=born,
                                         paid_months=240)),
    ]


def sample_comparison(session: Session, draft: RuleVersion, on_date: date) -> list[SampleRow]:
    """The quote engine on sample cases under the rules in force and under the draft."""
    old = rules_in_force(session, draft.region_code, on_date)
    new = preview_rules(session, draft.region_code, on_date, {draft.region_code: draft})
    return [SampleRow(label, Outcome.of(old, facts, on_date), Outcome.of(new, facts, on_date))
            for label, facts in _samples(draft.region_code, on_date)]


def citizen_impact(session: Session, draft: RuleVersion, on_date: date) -> Impact:
    """How many bound citizens' quotes today would change under the draft, and by how much."""
    people = list(session.execute(
        select(Person).join(Binding, Binding.person_id == Person.id).order_by(Person.id).limit(CITIZEN_LIMIT + 1)
    ).scalars())
    sampled = len(people) > CITIZEN_LIMIT
    people = people[:CITIZEN_LIMIT]
    rules_pairs = _rules_pairs(session, draft, on_date, {p.region_code for p in people})
    affected = [p for p in people if p.region_code in rules_pairs]
    records = records_of_people(session, affected)
    deltas: list[Decimal] = []
    for person in affected:
        old_rules, new_rules = rules_pairs[person.region_code]
        # The same facts the citizen's own quote page uses (miniservice.quotes.citizen).
        facts = situation_from(person, records.get(person.id or 0, []), old_rules, on_date).facts
        old, new = Outcome.of(old_rules, facts, on_date), Outcome.of(new_rules, facts, on_date)
        if old != new:
            deltas.append((new.owes or Decimal(0)) - (old.owes or Decimal(0)))
    zero = Decimal(0)
    return Impact(len(affected), len(deltas), sum(deltas, zero), max([d for d in deltas if d > 0], default=zero),
                  min([d for d in deltas if d < 0], default=zero), sampled)


def _rules_pairs(session: Session, draft: RuleVersion, on_date: date,
                 regions: set[str]) -> dict[str, tuple[RegionRules, RegionRules]]:
    """(in force, with draft) for each region whose chain passes through the draft's region."""
    pairs: dict[str, tuple[RegionRules, RegionRules]] = {}
    for region in sorted(regions):
        try:
            new = preview_rules(session, region, on_date, {draft.region_code: draft})
            if draft.region_code in new.chain:
                pairs[region] = (rules_in_force(session, region, on_date), new)
        except (NoRulesInForce, RuleFileError):
            continue
    return pairs
