"""What a reminder says: masked name, months of gap, the deadline, the quoted amount, the quote link.

The field values come from ``templates/messages/remind_gap.txt`` / ``remind_resident.txt`` (one
``key=value`` per line; the keys are those of the template chosen in the WeChat back office), so
the wording is edited where all citizen-facing text lives. WeChat refuses a template field longer
than 20 characters or containing a line break, so every value is checked and shortened here.

The amount and the deadline are those of the quote the citizen would get on the same day
(:func:`miniservice.quotes.service.person_quote`: the same facts, the same rules, the same engine),
so a reminder never states a figure another surface contradicts: nothing to pay when the unit owes
the gap, the region's own line as the deadline. An amount that rests on an illustrative figure is
shown as an approximation, never as official, and when no quote can be made (or the citizen owes
nothing) the field points to the quote page instead.
"""

from __future__ import annotations

import logging
from datetime import date

from sqlmodel import Session

from miniservice.citizens.models import Person
from miniservice.config import Settings
from miniservice.messages import text
from miniservice.quotes.errors import QuoteUnavailable
from miniservice.quotes.service import PersonQuote, person_quote
from miniservice.reminders.channel import Message
from miniservice.reminders.models import Reminder
from miniservice.rules.citing import QuoteError
from miniservice.rules.kinds import Cause
from miniservice.rules.loading import RuleFileError
from miniservice.rules.money import format_yuan
from miniservice.rules.months import Month
from miniservice.rules.quote_model import Quote

log = logging.getLogger(__name__)

FIELD_LIMIT = 20
QUOTE_PATH = "/h5/quote"
TEMPLATES = {"gap_reminder": "remind_gap.txt", "resident_period": "remind_resident.txt"}
# The demo's fake WeChat accepts any template id; a real account must configure its own.
DEMO_TEMPLATE_IDS = {"gap_reminder": "demo-gap-reminder", "resident_period": "demo-resident-period"}


class NotConfigured(LookupError):
    """No WeChat template id is configured for a reminder kind (settings.template_ids)."""


def template_ids(settings: Settings) -> dict[str, str]:
    """``settings.template_ids`` (WECHAT_TEMPLATE_IDS); the demo falls back to placeholder ids."""
    if settings.template_ids or settings.env != "demo":
        return settings.template_ids
    return DEMO_TEMPLATE_IDS


def fit(value: str) -> str:
    """One template field: a single line of at most 20 characters (WeChat's limit since 2023-05)."""
    line = " ".join(value.split())
    return line if len(line) <= FIELD_LIMIT else line[: FIELD_LIMIT - 1] + "…"


def fields_from(rendered: str) -> dict[str, dict[str, str]]:
    """``key=value`` lines → WeChat's ``{"key": {"value": "..."}}`` data."""
    data = {}
    for line in rendered.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            data[key.strip()] = {"value": fit(value)}
    return data


def _day(value: date) -> str:
    """The same date format as every page and message (``2026-12-25``)."""
    return value.isoformat()


def _amount_text(result: Quote) -> str | None:
    owed = result.totals.citizen_owes
    if owed <= 0:
        return None
    approximate = any(result.citations[key].illustrative for key in result.totals.cites if key in result.citations)
    return f"约{format_yuan(owed)} 元(示例)" if approximate else f"{format_yuan(owed)} 元"


def _quote(session: Session, person: Person, reminder: Reminder, today: date) -> PersonQuote | None:
    try:
        return person_quote(session, person.id or 0, today)
    except (QuoteUnavailable, RuleFileError, QuoteError, ValueError) as exc:
        log.warning("reminder %s: no quote (%s)", reminder.id, type(exc).__name__)
        return None


def _deadline(found: PersonQuote | None, reminder: Reminder) -> date:
    """The line of the quote the citizen gets today (the last day paying avoids every consequence),
    whoever owes the gap: for a unit's arrears that is the day they must arrive, as the quote says.
    Only without a quote, or when the quote has no line, the planned deadline stands."""
    if found is not None and found.quote.line is not None:
        return found.quote.line.last_day_within
    return reminder.deadline


def _period_estimated(found: PersonQuote | None, year: int) -> bool:
    """Whether the quote gives year ``year``'s 集中缴费期 from another year's dates (示例数据), so the
    reminder's deadline — that period's end — must say so as the quote does."""
    terms = found.quote.resident if found is not None else None
    return terms is not None and terms.coverage_year == year and terms.period_estimated


def compose(session: Session, settings: Settings, reminder: Reminder, subject: Person, today: date) -> Message:
    """The message for ``reminder`` about ``subject``'s gap (the recipient may be a relative)."""
    template_id = template_ids(settings).get(reminder.kind)
    if not template_id:
        raise NotConfigured(f"no WeChat template id for {reminder.kind!r}: set WECHAT_TEMPLATE_IDS")
    found = _quote(session, subject, reminder, today)
    year = Month.from_index(reminder.gap_start).year
    rendered = text(
        TEMPLATES[reminder.kind],
        name=subject.name_masked,
        months=found.quote.facts.gap_months if found and found.quote.facts.gap_months else reminder.gap_months,
        year=year,
        period_estimated=_period_estimated(found, year),
        deadline=_day(_deadline(found, reminder)),
        amount=_amount_text(found.quote) if found else None,
        for_relative=reminder.recipient_id != reminder.person_id,
        unit=found is not None and found.quote.facts.cause is Cause.UNIT,
    )
    return Message(template_id, fields_from(rendered), settings.public_base_url + QUOTE_PATH)
