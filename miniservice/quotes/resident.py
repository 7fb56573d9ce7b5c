"""The 居民医疗保险·网上缴费 page: a 居民医保 citizen's next premium, and the scheme for everyone else.

Real payment is out of scope: the page says what is owed, by when, what paying late costs in
waiting time (the engine's answer for the first day after the 集中缴费期), and where to pay.
Relatives who hold a 职工医保 personal account and are linked for 家庭共济 can pay the premium, so
the page points there when the citizen has any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from miniservice.citizens.models import Person
from miniservice.db import Database
from miniservice.payments.orders import own_payable
from miniservice.quotes.service import PersonQuote, bound_person_id, late_day, person_quote, resident_what_if
from miniservice.rules.kinds import Scheme
from miniservice.rules.loading import NATIONAL
from miniservice.rules.quote_model import Quote


@dataclass(frozen=True)
class ResidentPage:
    person: Person | None  # the bound person; None for a visitor who has not bound
    own: PersonQuote | None  # a bound 居民医保 citizen's own premium
    quote: Quote  # what the page shows: the citizen's premium, or the scheme in their region (national if unbound)
    late: Quote | None  # the same year paid after its 集中缴费期 (None when today is already after it)
    family_payers: int = 0  # linked relatives whose personal account may pay this citizen's premium
    pay_amount: Decimal | None = None  # what the 网上缴费 page lists for this premium; None: not collected here


def resident_page(db: Database, openid: str, today: date) -> ResidentPage:
    with db.reading() as session:
        person_id = bound_person_id(session, openid)
        person = session.get(Person, person_id) if person_id else None
        if person is not None and person.scheme is Scheme.RESIDENT:
            own = person_quote(session, person.id, today)
            payers = own.situation.family.payers if own.situation.family else ()
            return ResidentPage(person, own, own.quote, own.late, len(payers), own_payable(session, own, today))
    region = person.region_code if person else NATIONAL
    scheme = resident_what_if(db, region, today)
    assert scheme.resident is not None
    late = None
    if scheme.resident.in_period:
        late = resident_what_if(db, region, late_day(scheme.resident))
    return ResidentPage(person, None, scheme, late)
