"""Importing the registry export: encodings, every bad row reported, all or nothing, re-import no-op."""

from __future__ import annotations

import codecs
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.importing import import_records
from miniservice.citizens.models import AccountEntry, Contribution, Person, PersonalAccount, ResidentPremium
from miniservice.db import Database
from tests.citizens.conftest import ALICE_ID, BOB_ID, HEADER, TODAY, registry_csv, valid_id
from tests.conftest import TEST_DATA_KEY

TABLES = (Person, Contribution, ResidentPremium, AccountEntry, PersonalAccount)


def counts(db: Database) -> dict[str, int]:
    with db.reading() as session:
        return {m.__name__: session.execute(select(func.count()).select_from(m)).scalar_one() for m in TABLES}


def run(db: Database, data: bytes) -> Any:
    return import_records(db, data, "staff:tester", today=TODAY)


def csv_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


def test_a_good_file_creates_people_and_months_and_says_so(ctx: Flask, db: Database) -> None:
    report = run(db, registry_csv())
    assert report.ok and report.rows == 6
    assert (report.persons.created, report.contributions.created) == (2, 6)
    assert counts(db) | {} == {"Person": 2, "Contribution": 6, "ResidentPremium": 0, "AccountEntry": 0,
                               "PersonalAccount": 0}


def test_importing_the_same_file_again_changes_nothing(ctx: Flask, db: Database) -> None:
    run(db, registry_csv())
    with db.reading() as session:
        before = [(p.id, p.name_cipher, p.phone_cipher) for p in session.execute(select(Person)).scalars()]
    report = run(db, registry_csv())
    assert report.ok
    assert (report.persons.unchanged, report.contributions.unchanged) == (2, 6)
    assert report.persons.created == report.persons.updated == report.contributions.created == 0
    with db.reading() as session:
        after = [(p.id, p.name_cipher, p.phone_cipher) for p in session.execute(select(Person)).scalars()]
    assert after == before  # not even re-encrypted


def test_a_changed_month_is_updated_in_place(ctx: Flask, db: Database) -> None:
    run(db, registry_csv())
    changed = registry_csv().replace(b"2026-10,6000,480,120,paid,2026-10-20,self",
                                     b"2026-10,6000,480,120,unpaid,,self")
    report = run(db, changed)
    assert (report.contributions.updated, report.contributions.unchanged) == (1, 5)
    with db.reading() as session:
        statuses = session.execute(select(Contribution.status).order_by(Contribution.id)).scalars().all()
    assert statuses.count("unpaid") == 1 and len(statuses) == 6


def test_utf8_with_bom_and_gbk_files_give_the_same_records(ctx: Flask, db: Database) -> None:
    assert run(db, registry_csv()).ok
    with_bom = run(db, codecs.BOM_UTF8 + registry_csv())
    gbk = run(db, registry_csv().decode().encode("gbk"))
    for report in (with_bom, gbk):
        assert report.ok, report.summary()
        assert (report.persons.unchanged, report.contributions.unchanged) == (2, 6)


def test_a_gbk_file_keeps_chinese_names_and_employers(ctx: Flask, db: Database) -> None:
    assert run(db, registry_csv().decode().encode("gbk")).ok
    vault = IdentityVault(TEST_DATA_KEY)
    with db.reading() as session:
        bob = session.execute(select(Person).where(Person.id_number_hash == vault.lookup_hash(BOB_ID))).scalar_one()
    assert vault.decrypt(bob.name_cipher) == "张大山" and bob.employer == "北京某公司"


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(ctx: Flask, db: Database) -> None:
    bad_check = ALICE_ID[:17] + ("0" if ALICE_ID[17] != "0" else "1")
    data = csv_of(
        f"{ALICE_ID},林小雨,13912345678,SZ0000123456,440300,flexible,,2026-08,6000,480,120,paid,2026-08-20,self",
        f'{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,"北京某公司\n（总部）",2026-09,9000,720,180,paid,'
        "2026-09-15,unit",
        f"{bad_check},王五,13700000000,C1234567,110000,employee,某厂,2026-09,9000,720,180,paid,2026-09-15,unit",
        f"{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,北京某公司,2026-13,9000,720,18x,paid,,bank",
        "",
        f"{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,,2026-10,9000,720,180,unpaid,2026-10-15,unit",
        f"{ALICE_ID},林小雨,13912345678,SZ0000123456,440300,flexible,,2026-08,6000,480,120,paid,2026-08-21,self",
        f"{ALICE_ID},林小雨,13912345678,SZ0000123456,440300,flexible,,2026-09,6000,480,120,paid,2026-12-01,self",
        f"{ALICE_ID},林小雨,13912345678",
    )
    report = run(db, data)
    assert not report.ok
    found = [(e.line, e.column) for e in report.errors]
    assert found == [
        (5, "id_number"),  # the quoted employer spans lines 3-4, so the next row is on line 5
        (6, "month"), (6, "paid_on"), (6, "payer"), (6, "personal_amount"),
        (8, "employer"), (8, "paid_on"),
        (9, "month"),
        (10, "paid_on"),
        (11, ""),
    ]
    messages = {(e.line, e.column): str(e) for e in report.errors}
    assert messages[(5, "id_number")] == "第 5 行（id_number）：身份证号码校验位不正确，请核对是否输错。"
    assert "第 2 行已有" in messages[(9, "month")] and "晚于今天" in messages[(10, "paid_on")]
    assert all(ALICE_ID not in str(e) and bad_check not in str(e) for e in report.errors)
    assert counts(db)["Person"] == 0 and counts(db)["Contribution"] == 0


def test_header_problems_are_reported_on_line_one(ctx: Flask, db: Database) -> None:
    report = run(db, csv_of("x", header=HEADER.replace("payer", "payer_name") + ",payer_name,colour"))
    assert {(e.line, e.column, e.reason) for e in report.errors} == {
        (1, "payer", "缺少此列"), (1, "payer_name", "未知的列名"), (1, "colour", "未知的列名"),
        (1, "payer_name", "列名重复"),
    }


def test_a_file_in_neither_utf8_nor_gbk_is_refused_with_the_line(ctx: Flask, db: Database) -> None:
    report = run(db, registry_csv() + b"\x80\n")
    assert [(e.line, "UTF-8 或 GBK" in e.reason) for e in report.errors] == [(8, True)]


def test_identity_fields_must_agree_and_a_card_cannot_belong_to_two_people(ctx: Flask, db: Database) -> None:
    other = valid_id("11010519700101005")
    report = run(db, csv_of(
        f"{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,某公司,2026-09,9000,720,180,paid,2026-09-15,unit",
        f"{BOB_ID},张大三,13787654321,BJ0000654321,110000,employee,某公司,2026-10,9000,720,180,paid,2026-10-15,unit",
        f"{other},李四,,BJ0000654321,110000,employee,某公司,2026-10,9000,720,180,paid,2026-10-15,unit",
        f"{other},李四,,,110000,employee,某公司,2026-09,9000,720,180,paid,2026-09-15,unit",
    ))
    assert [str(e) for e in report.errors] == [
        "第 3 行（name）：与第 2 行同一身份证号码的姓名不一致",
        "第 4 行（card_number）：与第 2 行另一人的医保卡号相同",
        "第 5 行（card_number）：手机号码和医保卡号至少填写一项（绑定身份时需要其中之一）",
    ]


def test_a_card_already_registered_to_someone_else_rolls_the_whole_file_back(ctx: Flask, db: Database) -> None:
    assert run(db, registry_csv()).ok
    newcomer = valid_id("31011519880808006")
    report = run(db, csv_of(
        f"{ALICE_ID},林小雨,13912345678,SZ0000123456,440300,flexible,,2026-11,6000,480,120,paid,2026-11-18,self",
        f"{newcomer},赵六,13600000000,BJ0000654321,310000,flexible,,2026-10,6000,480,120,paid,2026-10-20,self",
    ))
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "card_number", "该医保卡号已登记在另一参保人名下")]
    assert counts(db)["Person"] == 2 and counts(db)["Contribution"] == 6  # Alice's November was not kept


def test_account_credits_are_booked_once_and_a_different_amount_is_refused(ctx: Flask, db: Database) -> None:
    header = HEADER + ",account_credit"
    rows = [f"{BOB_ID},张大山,13787654321,BJ0000654321,110000,employee,某公司,2026-{m:02d},9000,720,180,paid,"
            f"2026-{m:02d}-15,unit,180.00" for m in (8, 9, 10)]
    first = run(db, csv_of(*rows, header=header))
    assert first.credits.created == 3
    again = run(db, csv_of(*rows, header=header))
    assert (again.credits.created, again.credits.unchanged) == (0, 3)
    changed = run(db, csv_of(*rows[:2], rows[2].replace("180.00", "200.00"), header=header))
    assert [(e.line, e.column) for e in changed.errors] == [(4, "account_credit")]
    with db.reading() as session:
        account = session.get(PersonalAccount, 1) or session.execute(select(PersonalAccount)).scalar_one()
        entries = session.execute(select(AccountEntry).order_by(AccountEntry.id)).scalars().all()
    assert str(account.balance) == "540.00"
    assert [str(e.balance_after) for e in entries] == ["180.00", "360.00", "540.00"]


def test_resident_years_are_rows_in_january_and_other_months_are_refused(ctx: Flask, db: Database) -> None:
    child = valid_id("14010620160815004")
    report = run(db, csv_of(
        f"{child},钱小宇,,D14010600001,140100,resident,,2025-01,,,400,paid,2024-11-15,family",
        f"{child},钱小宇,,D14010600001,140100,resident,,2026-01,,,400,paid,2025-11-15,self",
    ))
    assert report.ok and report.premiums.created == 2
    with db.reading() as session:
        person = session.execute(select(Person)).scalar_one()
        years = session.execute(select(ResidentPremium.year, ResidentPremium.payer)).all()
    assert person.scheme == "resident" and sorted(years) == [(2025, "family"), (2026, "self")]
    wrong = run(db, csv_of(f"{child},钱小宇,,D14010600001,140100,resident,,2026-03,100,,400,paid,2025-11-15,self"))
    assert {(e.line, e.column) for e in wrong.errors} == {(2, "month"), (2, "base")}


def test_every_import_is_audited_with_counts_and_no_identity_data(ctx: Flask, db: Database) -> None:
    run(db, registry_csv())
    run(db, csv_of("nonsense"))
    with db.reading() as session:
        events = session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.actor) for e in events] == [("records.import", "staff:tester"),
                                                     ("records.import_rejected", "staff:tester")]
    assert events[0].details["persons"]["created"] == 2 and events[1].details["errors"] >= 1
    dumped = repr([(e.subject, e.details) for e in events])
    assert ALICE_ID not in dumped and "林小雨" not in dumped and "13912345678" not in dumped


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, app: Flask, tmp_path: Any) -> None:
    settings = app.extensions["miniservice.settings"]
    for name, value in {"MINISERVICE_ENV": "test", "MINISERVICE_DATABASE_URL": settings.database_url,
                        "MINISERVICE_DATA_KEY": TEST_DATA_KEY, "MINISERVICE_SECRET_KEY": "k",
                        "MINISERVICE_INSTANCE_DIR": str(tmp_path / "cli-instance")}.items():
        monkeypatch.setenv(name, value)


def test_the_cli_imports_a_file_and_reports_counts(cli_env: None, db: Database, tmp_path: Any) -> None:
    from miniservice.cli import main

    path = tmp_path / "records.csv"
    path.write_bytes(registry_csv())
    result = CliRunner().invoke(main, ["import-records", str(path)])
    assert result.exit_code == 0, result.output
    assert "参保人：新增 2" in result.output
    assert counts(db)["Contribution"] == 6


def test_the_cli_exits_non_zero_with_line_numbers_for_a_malformed_file(
    cli_env: None, db: Database, tmp_path: Any
) -> None:
    from miniservice.cli import main

    path = tmp_path / "bad.csv"
    path.write_bytes(registry_csv().replace(b"2026-09,9000", b"2026-9x,9000"))
    result = CliRunner().invoke(main, ["import-records", str(path)])
    assert result.exit_code == 1
    assert "第 5 行（month）：月份应写成 YYYY-MM，如 2025-01" in result.stderr
    assert counts(db)["Person"] == 0
