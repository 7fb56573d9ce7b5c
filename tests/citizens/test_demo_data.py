"""The demo people: valid identities, every situation present, idempotent, bound to the demo openids."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.demo_data import DemoPerson, demo_table, generate_demo_data
from miniservice.citizens.identity import parse_id_number
from miniservice.citizens.models import (
    AccountEntry,
    Binding,
    BindingEvent,
    Contribution,
    Person,
    PersonalAccount,
    ResidentPremium,
)
from miniservice.db import Database
from tests.citizens.conftest import TODAY

TABLES = (Person, Contribution, ResidentPremium, AccountEntry, PersonalAccount, Binding, BindingEvent, AuditEvent)


def snapshot(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return {m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one() for m in TABLES}


def test_every_demo_id_number_is_valid_and_matches_its_region_and_sex(demo: dict[str, DemoPerson]) -> None:
    for person in demo.values():
        parsed = parse_id_number(person.id_number)
        assert parsed.region_prefix[:2] == person.region_code[:2]
    assert parse_id_number(demo["gap4"].id_number).birth_date.isoformat() == "1992-02-29"  # a leap-day birth
    assert parse_id_number(demo["retiree_short"].id_number).sex == "M"


def test_the_demo_covers_the_regions_and_situations_the_service_explains(demo: dict[str, DemoPerson]) -> None:
    assert {p.region_code for p in demo.values()} == {
        "110000", "310000", "440300", "510100", "350200", "330200", "420500", "360100", "140100"}
    assert {"continuous", "gap1", "gap2", "gap4", "gap8", "unit_gap", "lapse", "retiree_short", "resident_unpaid",
            "family_holder", "family_spouse", "family_parent", "family_child"} <= set(demo)


def test_running_the_generator_twice_creates_nothing_new(ctx: Flask, db: Database,
                                                        demo: dict[str, DemoPerson]) -> None:
    before = snapshot(db)
    generate_demo_data(db, TODAY)
    assert snapshot(db) == before
    with db.reading() as session:
        seeded = session.execute(select(AuditEvent.details).where(AuditEvent.action == "records.demo_seed")).all()
    assert before["Binding"] == 8 and len(seeded) == 1 and seeded[0][0]["persons"]["created"] == 13


def test_the_family_holder_has_a_balance_and_the_relatives_are_residents(
    ctx: Flask, db: Database, demo: dict[str, DemoPerson]
) -> None:
    with db.reading() as session:
        schemes = dict(session.execute(select(Person.name_masked, Person.scheme)
                                       .where(Person.region_code == "140100")).all())
        balances = session.execute(select(PersonalAccount.balance)).scalars().all()
    assert schemes == {"郑*英": "resident", "钱*刚": "employee", "林*": "resident", "钱*兰": "resident",
                       "钱*宇": "resident"}
    assert sorted(str(b) for b in balances) == ["4500.00", "5760.00"]


def test_the_table_of_who_is_who_is_masked(demo: dict[str, DemoPerson]) -> None:
    table = demo_table(list(demo.values()))
    assert "| demo_citizen_1 | 王*国 | 1101*************1 | 北京 110000 |" in table
    for person in demo.values():
        assert person.id_number not in table and person.name not in table


def test_the_seed_demo_command_prints_the_table_and_is_safe_to_repeat(
    monkeypatch: Any, app: Flask, db: Database, tmp_path: Any
) -> None:
    from miniservice.cli import main
    from tests.conftest import TEST_DATA_KEY

    settings = app.extensions["miniservice.settings"]
    for name, value in {"MINISERVICE_ENV": "test", "MINISERVICE_DATABASE_URL": settings.database_url,
                        "MINISERVICE_DATA_KEY": TEST_DATA_KEY, "MINISERVICE_SECRET_KEY": "k",
                        "MINISERVICE_INSTANCE_DIR": str(tmp_path / "cli-instance")}.items():
        monkeypatch.setenv(name, value)
    first = CliRunner().invoke(main, ["seed-demo", "--today", "2026-11-20"])
    assert first.exit_code == 0, first.output
    assert "demo data as of 2026-11-20" in first.output and "| demo_citizen_8 | 钱*刚 |" in first.output
    counted = snapshot(db)
    assert CliRunner().invoke(main, ["seed-demo", "--today", "2026-11-20"]).exit_code == 0
    assert snapshot(db) == counted
