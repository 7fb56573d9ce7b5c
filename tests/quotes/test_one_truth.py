"""One citizen, one answer: every surface states the figures of the citizen's own quote.

Citizens are generated across every shipped region and every scheme (hypothesis); for each, the
amount, the waiting months, the resume date and the line date of :func:`person_quote` must be what
the WeChat reply, the H5 quote and records pages, ``/api/quote/me``, the reminder, the 家庭共济 dues
and the admin preview state. The demo citizens of issue 15 are checked by name as well.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from miniservice.admin.preview import Outcome
from miniservice.citizens.demo_data import generate_demo_data
from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.models import Person
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.devtools.simulator import Simulator
from miniservice.family.dues import relative_status
from miniservice.quotes.citizen import records_of_people, situation_from
from miniservice.quotes.service import PersonQuote, quote_for_person
from miniservice.reminders.content import compose
from miniservice.reminders.models import Reminder
from miniservice.reminders.planning import plan_reminders
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rules.divisions import DISTRICTS
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.money import format_yuan, to_fen
from miniservice.rules.months import Month
from tests.conftest import TEST_DATA_KEY
from tests.quotes.conftest import TODAY, Registry, page_text, sign_in

SHIPPED = sorted(path.stem for path in (PROJECT_ROOT / "policies").glob("*.toml") if path.stem.isdigit())
# A citizen lives in a district (or a city without a rule file of its own, for a province's file).
HOMES = sorted({next((d for d in DISTRICTS if d[:4] == code[:4]), code) for code in SHIPPED})
TEMPLATES = {"gap_reminder": "t-gap", "resident_period": "t-resident"}
_openids = itertools.count(1)


def _reminder_fields(app: Flask, db: Database, found: PersonQuote) -> dict[str, str]:
    """The reminder this citizen would get today, composed exactly as the sender composes it."""
    person, facts = found.person, found.quote.facts
    resident = found.scheme is Scheme.RESIDENT
    reminder = Reminder(id=0, person_id=person.id, recipient_id=person.id, stage="gap_1m", region_code="x",
                        kind="resident_period" if resident else "gap_reminder",
                        gap_start=(Month(TODAY.year + 1, 1) if resident else facts.gap_first or Month.of(TODAY)).index,
                        due_on=TODAY, deadline=TODAY + timedelta(days=30), gap_months=facts.gap_months)
    settings_ = replace(app.extensions["miniservice.settings"], template_ids=TEMPLATES)
    with app.app_context(), db.reading() as session:
        message = compose(session, settings_, reminder, person, TODAY)
    return {key: value["value"] for key, value in message.data.items()}


def _planned_deadlines(app: Flask, db: Database, person_id: int) -> set[date]:
    """The deadlines of the gap reminders the daily plan holds for the citizen after planning today."""
    with app.app_context():
        plan_reminders(db, TODAY)
    with db.reading() as session:
        return set(session.execute(select(Reminder.deadline).where(
            Reminder.person_id == person_id, Reminder.kind == "gap_reminder")).scalars())


def _check_every_surface(app: Flask, db: Database, client: Any, simulator: Simulator, openid: str,
                         person_id: int) -> None:
    found = quote_for_person(db, person_id, TODAY)
    quote, scheme = found.quote, found.scheme
    owes, benefits, line = quote.totals.citizen_owes, quote.benefits, quote.line
    gap_open = found.situation.gap is not None and found.situation.gap.open
    states_line = (scheme in (Scheme.EMPLOYEE, Scheme.FLEXIBLE) and found.due and gap_open and line is not None
                   and quote.facts.cause is Cause.SELF and quote.route.possible)

    # /api/quote/me answers the quote itself.
    sign_in(client, openid)
    assert client.get("/api/quote/me").get_json() == quote.to_json()

    h5 = page_text(client.get("/h5/quote"))
    wechat = re.sub(r"\s+", " ", simulator.click(openid, "QUOTE").content or "")
    for surface in (h5, wechat):
        if scheme is Scheme.RETIREE and quote.retirement and quote.retirement.short_months and quote.retirement.allowed:
            assert f"一次性补足约 {format_yuan(quote.retirement.one_off)} 元" in surface
        if scheme is Scheme.RESIDENT and found.due:
            assert quote.resident is not None and f"{format_yuan(quote.resident.premium)} 元" in surface
        if scheme in (Scheme.EMPLOYEE, Scheme.FLEXIBLE) and found.due and quote.route.possible:
            if owes:
                assert f"本人需缴 {format_yuan(owes)} 元" in surface
            assert benefits is not None and f"{benefits.resume_on} 起" in surface
            if benefits.waiting_months:
                assert f"待遇等待期 {benefits.waiting_months} 个月" in surface
        if states_line and not line.passed:
            assert f"请在 {line.last_day_within} 前补缴" in surface
        if len(quote.parts) > 1:  # a mixed gap: each payer's part, amount and deadline
            for part in quote.parts:
                words = "本人" if part.payer.value == "citizen" else "单位"
                assert f"{words}需缴 {format_yuan(part.amount)} 元" in surface
                assert part.deadline is None or str(part.deadline) in surface

    records = page_text(client.get("/h5/records"))
    for part in quote.parts if len(quote.parts) > 1 else ():
        if part.payer.value == "unit":
            assert f"由单位补缴 {format_yuan(part.amount)} 元" in records and str(part.deadline) in records
        else:
            assert f"您本人需缴其余 {format_yuan(part.amount)} 元" in records
    if states_line:
        if not line.passed:
            assert f"在 {line.last_day_within} 前补缴" in records
        assert benefits is not None
        if benefits.waiting_months and line.passed:
            assert f"需等待 {benefits.waiting_months} 个月" in records
        if not benefits.waiting_months:
            assert "不设待遇等待期" in records and "可能需要等待期" not in records

    if scheme in (Scheme.EMPLOYEE, Scheme.FLEXIBLE) and found.due:
        fields = _reminder_fields(app, db, found)
        if owes > 0:
            assert fields["amount4"].replace(" ", "") in (f"{format_yuan(owes)}元", f"约{format_yuan(owes)}元(示例)")
        else:
            assert "元" not in fields["amount4"]
        if line is not None:  # whoever owes the gap: a unit's arrears have the quote's deadline too
            assert fields["time3"] == line.last_day_within.isoformat()
    if scheme in (Scheme.EMPLOYEE, Scheme.FLEXIBLE) and gap_open and line is not None:
        # The plan times the reminder by the same line, whoever owes the gap: one stage in effect
        # until the line, none after it.
        expected = set() if line.passed else {line.last_day_within}
        assert _planned_deadlines(app, db, person_id) == expected

    with db.reading() as session:
        person = session.get(Person, person_id)
        assert person is not None
        payers = found.situation.family.payers if found.situation.family else ()
        if scheme is Scheme.FLEXIBLE and gap_open and payers:
            dues = relative_status(session, person, TODAY, payers[0].person_id).dues
            if dues:
                [due] = dues
                assert benefits is not None
                assert (due.amount, due.waiting_months, due.resume_on) == (
                    to_fen(owes), benefits.waiting_months, benefits.resume_on)
        rules = rules_in_force(session, person.region_code, TODAY)
        facts = situation_from(person, records_of_people(session, [person])[person_id], rules, TODAY).facts
    preview = Outcome.of(rules, facts, TODAY)
    expected_owes = quote.retirement.one_off if quote.retirement else owes
    assert preview.owes == to_fen(expected_owes)
    assert preview.waiting_months == (benefits.waiting_months if benefits else None)
    assert preview.resume_on == (benefits.resume_on if benefits else None)


citizens = st.fixed_dictionaries({
    "home": st.sampled_from(HOMES),
    "scheme": st.sampled_from(["flexible", "employee", "resident", "retiree"]),
    "gap": st.integers(0, 9),
    "unit": st.booleans(),
    "unit_owed": st.integers(1, 9),
    "base": st.sampled_from(["0", "3000", "6500", "9000", "60000"]),
    "years": st.integers(5, 30),
    "female": st.booleans(),
})


@pytest.mark.slow
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(citizen=citizens)
# Always among them: 宁波 employees whose unit owes a 2- and a 5-month gap (the unit's arrears have a
# later line than a gap the citizen owes, and the reminders must be timed by it).
@example(citizen={"home": "330203", "scheme": "employee", "gap": 2, "unit": True, "unit_owed": 9, "base": "6500",
                  "years": 10, "female": False})
@example(citizen={"home": "330203", "scheme": "employee", "gap": 5, "unit": True, "unit_owed": 9, "base": "6500",
                  "years": 10, "female": True})
def test_every_surface_states_the_citizens_own_quote(app: Flask, db: Database, client: Any, simulator: Simulator,
                                                       registry: Registry, citizen: dict[str, Any]) -> None:
    serial = next(_openids)
    openid = f"o-truth-{serial}"
    born = date(1970, 1, 1) + timedelta(days=serial)  # with the region, keeps generated ID numbers unique
    home, scheme = citizen["home"], citizen["scheme"]
    if scheme == "resident":
        person = registry.person(region=home, scheme=scheme, openid=openid, born=born, enrolled=date(2020, 1, 1))
        registry.years(person, *range(2020, 2027 - min(citizen["gap"], 3)))
    elif scheme == "retiree":
        person = registry.person(region=home, scheme=scheme, openid=openid, male=not citizen["female"],
                                 born=born - timedelta(days=3650), enrolled=date(1995, 1, 1))
        last = Month(1995, 1) + citizen["years"] * 12 - 1
        registry.months(person, "1995-01", str(last), scheme="employee", payer="unit", base=citizen["base"])
    else:
        employer = "某公司" if scheme == "employee" else None
        person = registry.person(region=home, scheme=scheme, openid=openid, born=born, enrolled=date(2023, 1, 1),
                                 employer=employer)
        last_paid = Month(2026, 10) - citizen["gap"]
        registry.months(person, "2023-01", str(last_paid), scheme=scheme, base=citizen["base"],
                        payer="unit" if scheme == "employee" else "self")
        if scheme == "flexible":  # a 家庭共济 holder who may pay the back-payment (the dues surface)
            holder = registry.person(region=home, scheme="employee", born=born - timedelta(days=9000),
                                     employer="某公司")
            registry.family_link(holder, person)
        unit_owed = min(citizen["unit_owed"], citizen["gap"]) if citizen["unit"] and scheme == "employee" else 0
        if unit_owed:  # the unit owes the first months of the gap (all of them, or part: a mixed gap)
            registry.months(person, str(last_paid + 1), str(last_paid + unit_owed), status="unpaid", scheme=scheme,
                            base=citizen["base"], payer="unit")
        if citizen["gap"] > unit_owed:
            registry.months(person, str(last_paid + 1 + unit_owed), "2026-10", status="unpaid", scheme=scheme,
                            base=citizen["base"], payer="self")
    _check_every_surface(app, db, client, simulator, openid, person)


def _demo_person(db: Database, key: str, people: list[Any]) -> tuple[int, str]:
    [demo] = [p for p in people if p.key == key]
    with db.reading() as session:
        person_id = session.execute(select(Person.id).where(
            Person.id_number_hash == IdentityVault(TEST_DATA_KEY).lookup_hash(demo.id_number))).scalar_one()
    assert demo.openid is not None
    return person_id, demo.openid


def test_the_ningbo_unit_gap_reminder_asks_for_nothing_the_quote_does_not(app: Flask, db: Database,
                                                                         rules: None) -> None:
    """demo_citizen_5 (宁波, the employer's arrears): the quote says the citizen owes 0, so must the reminder."""
    with app.app_context():
        people = generate_demo_data(db, TODAY)
    person_id, _ = _demo_person(db, "unit_gap", people)
    found = quote_for_person(db, person_id, TODAY)
    assert found.quote.facts.cause is Cause.UNIT and found.quote.totals.citizen_owes == 0

    fields = _reminder_fields(app, db, found)

    assert fields["amount4"] == "点击查看补缴测算" and "元" not in fields["amount4"]


def test_a_unit_gap_reminder_states_the_quotes_deadline_for_the_arrears(app: Flask, db: Database,
                                                                       rules: None) -> None:
    """demo_citizen_5 again: the deadline is the day the unit's arrears must arrive, as the quote states it,
    not the line of a gap the citizen would pay (nor the planner's day)."""
    with app.app_context():
        people = generate_demo_data(db, TODAY)
    person_id, _ = _demo_person(db, "unit_gap", people)
    found = quote_for_person(db, person_id, TODAY)
    assert found.quote.line is not None and found.quote.line.reason == "unit_deadline"

    fields = _reminder_fields(app, db, found)

    assert fields["time3"] == found.quote.line.last_day_within.isoformat()
    assert "单位" in fields["thing5"]


def test_a_mixed_gap_states_each_part_on_every_surface(app: Flask, db: Database, client: Any, simulator: Simulator,
                                                       registry: Registry) -> None:
    """宁波, in a unit: July and August the employer's arrears, September and October the citizen's own."""
    person = registry.person(region="330203", scheme="employee", openid="o-mixed", employer="某公司",
                             enrolled=date(2023, 1, 1))
    registry.months(person, "2023-01", "2026-06", scheme="employee", payer="unit")
    registry.months(person, "2026-07", "2026-08", status="unpaid", scheme="employee", payer="unit")
    registry.months(person, "2026-09", "2026-10", status="unpaid", scheme="employee", payer="self")

    found = quote_for_person(db, person, TODAY)

    assert found.quote.facts.unit_months == (Month(2026, 7), Month(2026, 8))
    citizen, unit = found.quote.parts
    assert citizen.months == (Month(2026, 9), Month(2026, 10)) and unit.months == (Month(2026, 7), Month(2026, 8))
    assert found.quote.totals.citizen_owes == citizen.amount and found.quote.totals.unit_owes == unit.amount
    _check_every_surface(app, db, client, simulator, "o-mixed", person)
    fields = _reminder_fields(app, db, found)
    assert fields["amount4"].replace(" ", "") in (f"{format_yuan(citizen.amount)}元",
                                                 f"约{format_yuan(citizen.amount)}元(示例)")
    assert fields["time3"] == str(citizen.deadline)


def test_every_surface_agrees_for_the_demo_citizens(app: Flask, db: Database, client: Any, simulator: Simulator,
                                                    rules: None) -> None:
    with app.app_context():
        people = generate_demo_data(db, TODAY)
    for key in ("gap1", "gap2", "gap4", "unit_gap", "retiree_short", "resident_unpaid"):
        person_id, openid = _demo_person(db, key, people)
        _check_every_surface(app, db, client, simulator, openid, person_id)


def test_a_citizens_own_base_is_what_every_surface_bills(db: Database, registry: Registry) -> None:
    person = registry.person(openid="o-own-base")
    registry.months(person, "2024-01", "2026-09", base="6500")

    quote = quote_for_person(db, person, TODAY).quote

    assert [line.base for line in quote.lines] == [Decimal("6500")]
