"""Where a person reaches a human, for a bound citizen: their own region's hotline, hours and windows.

A visitor who has not bound (or a region without published rules) gets the national ones the app
read at start-up (:func:`miniservice.rules.contact.national_contact`).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from miniservice import state
from miniservice.rulebook.resolve import NoRulesInForce, rules_in_force
from miniservice.rules.contact import Contact
from miniservice.rules.loading import RuleFileError


def contact_for(session: Session, region_code: str | None, today: date) -> Contact:
    """The human routes for a citizen insured in ``region_code`` (None: not bound)."""
    if region_code is not None:
        try:
            return Contact.of(rules_in_force(session, region_code, today))
        except (NoRulesInForce, RuleFileError):
            pass
    return state.contact()
