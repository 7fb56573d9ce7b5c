"""Small builders shared by the quote tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.loading import RuleBook
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, Quote

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NATIONAL_TEXT = (POLICIES / "national.toml").read_text(encoding="utf-8")
_HEADER = 'code = "{code}"\nname = "x"\nparent = "{parent}"\nversion = "1"\neffective_from = 2025-01-01\n'


def region_text(code: str, body: str = "", parent: str = "national") -> str:
    """A minimal region file: the header plus ``body``."""
    return _HEADER.format(code=code, parent=parent) + body


def gap_quote(book: RuleBook, region: str, first: str, last: str, on: date, *,
              scheme: Scheme = Scheme.FLEXIBLE, cause: Cause = Cause.SELF, **facts) -> Quote:
    rules = book.region_for(region)
    citizen = CitizenFacts(region, scheme, Month.parse(first), Month.parse(last), cause=cause, **facts)
    return quote(rules, citizen, on)
