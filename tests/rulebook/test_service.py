"""The rule book on real databases: loading files, drafts, publication by date, rollback, import/export."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from miniservice.audit.models import AuditEvent
from miniservice.db import Database
from miniservice.rulebook import service
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import NoRulesInForce, rules_in_force
from miniservice.rules.loading import RuleFileError
from tests.rulebook.conftest import SHIPPED, shenzhen_wage, with_header

TODAY = date(2026, 3, 10)


def _count(db: Database, *conditions: Any) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(RuleVersion).where(*conditions)).scalar_one()


def _audits(db: Database, action: str) -> list[AuditEvent]:
    with db.reading() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _wage(db: Database, region: str, on: date) -> Decimal:
    return rules_in_force(db, region, on).wage.average_monthly[2024].value


def _draft(db: Database, text: str) -> RuleVersion:
    version, created = service.import_toml(db, text, "staff:ed", today=TODAY)
    assert created
    return version


def test_loading_the_shipped_policies_twice_stores_each_file_once(db: Database, policies: Path) -> None:
    first = service.load_directory(db, policies, "test")
    second = service.load_directory(db, policies, "test")
    files = len(list(policies.glob("*.toml"))) - 1  # sources.toml is the registry, not a region
    assert (len(first.stored), first.problems) == (files, [])
    assert (second.stored, len(second.unchanged)) == ([], files)
    assert _count(db) == files
    assert len(_audits(db, "rules.load")) == files


def test_a_file_that_fails_the_checker_is_reported_and_the_good_version_stays_in_force(
    db: Database, loaded: Path
) -> None:
    broken = with_header(shenzhen_wage((loaded / "440300.toml").read_text(), "-1"), version="2026.1")
    (loaded / "440300.toml").write_text(broken, encoding="utf-8")
    report = service.load_directory(db, loaded, "test")
    assert [(p.file, p.field) for p in report.problems] == [("440300.toml", "wage.average_monthly.2024.value")]
    assert report.stored == []
    assert _count(db, RuleVersion.region_code == "440300") == 1
    assert _wage(db, "440300", TODAY) == Decimal("8000")


def test_a_reused_version_label_with_different_content_is_reported_not_stored(db: Database, loaded: Path) -> None:
    (loaded / "440300.toml").write_text(shenzhen_wage((loaded / "440300.toml").read_text(), "9000"))
    report = service.load_directory(db, loaded, "test")
    assert [(p.file, p.field) for p in report.problems] == [("440300.toml", "version")]
    assert _wage(db, "440300", TODAY) == Decimal("8000")


def test_a_district_without_rules_of_its_own_gets_its_citys(db: Database, loaded: Path) -> None:
    rules = rules_in_force(db, "440304", TODAY)
    assert rules.chain == ("440300", "440000", "national")
    assert rules.wage.average_monthly[2024].origin.file == "440300.toml"


def test_nothing_is_in_force_before_the_first_effective_date(db: Database, loaded: Path) -> None:
    with pytest.raises(NoRulesInForce):
        rules_in_force(db, "440300", date(2024, 12, 31))


def test_a_version_published_for_a_future_day_takes_effect_on_that_day(db: Database, loaded: Path) -> None:
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "9000"), version="2026.1")
    draft = _draft(db, text)
    published = service.publish(db, draft.id, date(2026, 4, 1), "staff:pub", today=TODAY)
    assert (published.status, published.effective_from) == ("published", date(2026, 4, 1))
    assert _wage(db, "440300", date(2026, 3, 31)) == Decimal("8000")
    on_the_day = rules_in_force(db, "440300", date(2026, 4, 1))
    assert on_the_day.wage.average_monthly[2024].value == Decimal("9000")
    origin = on_the_day.wage.average_monthly[2024].origin
    assert (origin.version, origin.effective_from) == ("2026.1", date(2026, 4, 1))
    [event] = _audits(db, "rules.publish")
    assert (event.actor, event.subject, event.details["effective_from"]) == ("staff:pub", "440300@2026.1", "2026-04-01")
    assert event.details["changes"][0]["path"] == "wage.average_monthly.2024"


def test_a_new_national_version_reaches_every_region_on_its_date(db: Database, loaded: Path) -> None:
    text = with_header((SHIPPED / "national.toml").read_text(), version="2026.1").replace(
        'daily_rate = { value = "0.0005"', 'daily_rate = { value = "0.0004"')
    service.publish(db, _draft(db, text).id, date(2026, 5, 1), "staff:pub", today=TODAY)
    before, after = rules_in_force(db, "440300", date(2026, 4, 30)), rules_in_force(db, "440300", date(2026, 5, 1))
    assert before.flexible.late_fee.daily_rate.value == Decimal("0.0005")
    assert after.flexible.late_fee.daily_rate.value == Decimal("0.0004")
    assert after.flexible.late_fee.daily_rate.origin.version == "2026.1"


def test_publishing_for_a_past_day_is_refused(db: Database, loaded: Path) -> None:
    draft = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    with pytest.raises(service.RulebookError, match="早于今天"):
        service.publish(db, draft.id, date(2026, 3, 9), "staff:pub", today=TODAY)
    assert _count(db, RuleVersion.status == "draft") == 1


def test_rollback_retires_the_latest_version_and_the_previous_one_is_in_force_again(
    db: Database, loaded: Path
) -> None:
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "9000"), version="2026.1")
    new = service.publish(db, _draft(db, text).id, TODAY, "staff:pub", today=TODAY)
    assert _wage(db, "440300", TODAY) == Decimal("9000")
    retired = service.rollback(db, "440300", "staff:pub", expected_version_id=new.id)
    assert (retired.id, retired.status, retired.retired_by) == (new.id, "retired", "staff:pub")
    assert _wage(db, "440300", TODAY) == Decimal("8000")
    [event] = _audits(db, "rules.rollback")
    assert (event.subject, event.details["restored"]) == ("440300@2026.1", "2025.5")


def test_rollback_refuses_without_an_earlier_version_or_from_a_stale_page(db: Database, loaded: Path) -> None:
    with pytest.raises(service.RulebookError, match="没有更早"):
        service.rollback(db, "440300", "staff:pub")
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "9000"), version="2026.1")
    service.publish(db, _draft(db, text).id, TODAY, "staff:pub", today=TODAY)
    with pytest.raises(service.RulebookError, match="页面已过期"):
        service.rollback(db, "440300", "staff:pub", expected_version_id=1)
    assert _count(db, RuleVersion.status == "retired") == 0


def _race(action: Callable[[], Any], runners: int = 2) -> tuple[list[Any], list[Exception]]:
    """Run ``action`` in ``runners`` threads released together; their results and errors."""
    barrier = threading.Barrier(runners)
    results: list[Any] = []
    errors: list[Exception] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(action())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


def test_concurrent_publish_of_the_same_draft_publishes_it_once(db: Database, loaded: Path) -> None:
    draft = service.create_draft(db, "440300", "staff:ed", version="2026.9", today=TODAY)
    results, errors = _race(lambda: service.publish(db, draft.id, date(2026, 6, 1), "staff:pub", today=TODAY))
    assert len(results) == 1
    assert [type(e) for e in errors] == [service.RulebookError]
    assert _count(db, RuleVersion.region_code == "440300", RuleVersion.version == "2026.9") == 1
    assert _count(db, RuleVersion.status == "published", RuleVersion.region_code == "440300") == 2
    assert len(_audits(db, "rules.publish")) == 1


def test_concurrent_import_of_the_same_text_stores_one_row(db: Database, loaded: Path) -> None:
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "9100"), version="2026.2")
    results, errors = _race(lambda: service.import_toml(db, text, "staff:ed", today=TODAY))
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({version.id for version, _ in results}) == 1
    assert _count(db, RuleVersion.version == "2026.2") == 1


def test_export_gives_the_loaded_file_back_byte_for_byte_and_reimporting_it_changes_nothing(
    db: Database, loaded: Path
) -> None:
    with db.reading() as session:
        version = session.execute(select(RuleVersion).where(RuleVersion.region_code == "330200")).scalar_one()
    text = service.export_toml(db, version.id)
    assert text == (SHIPPED / "330200.toml").read_text(encoding="utf-8")
    again, created = service.import_toml(db, text, "staff:ed", today=TODAY)
    assert (again.id, created) == (version.id, False)


def test_a_published_draft_exports_as_a_file_the_policies_directory_accepts(
    db: Database, loaded: Path, tmp_path: Path
) -> None:
    text = with_header(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "9000"), version="2026.1")
    published = service.publish(db, _draft(db, text).id, date(2026, 7, 1), "staff:pub", today=TODAY)
    (loaded / "440300.toml").write_text(service.export_toml(db, published.id), encoding="utf-8")
    report = service.load_directory(db, loaded, "test")
    assert report.ok and "440300@2026.1" in report.unchanged


def test_an_invalid_import_is_refused_with_the_field_and_stores_nothing(db: Database, loaded: Path) -> None:
    text = with_header((SHIPPED / "440300.toml").read_text(), version="2026.1", parent="449900")
    with pytest.raises(RuleFileError) as caught:
        service.import_toml(db, text, "staff:ed", today=TODAY)
    assert [p.field for p in caught.value.problems] == ["parent"]
    assert _count(db, RuleVersion.version == "2026.1") == 0


def test_an_invalid_draft_edit_is_refused_by_field_and_changes_nothing(db: Database, loaded: Path) -> None:
    draft = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    bad = draft.toml_text.replace('value = "8000"', 'value = "eight thousand"')
    with pytest.raises(RuleFileError) as caught:
        service.update_draft(db, draft.id, bad, "staff:ed", today=TODAY)
    assert [p.field for p in caught.value.problems] == ["wage.average_monthly.2024.value"]
    with db.reading() as session:
        assert session.get(RuleVersion, draft.id).toml_text == draft.toml_text
    assert _audits(db, "rules.draft.update") == []


def test_a_draft_edit_is_audited_with_what_changed(db: Database, loaded: Path) -> None:
    draft = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    service.update_draft(db, draft.id, draft.toml_text.replace('value = "8000"', 'value = "8800"'), "staff:ed",
                         today=TODAY)
    [event] = _audits(db, "rules.draft.update")
    [change] = event.details["changes"]
    assert change["path"] == "wage.average_monthly.2024"
    assert (change["old"].split(" — ")[0], change["new"].split(" — ")[0]) == ("8000", "8800")


def test_draft_labels_are_numbered_per_year_and_unique_per_region(db: Database, loaded: Path) -> None:
    first = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    second = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    assert (first.version, second.version) == ("2026.1", "2026.2")
    with pytest.raises(service.RulebookError, match="已被使用"):
        service.create_draft(db, "440300", "staff:ed", version="2026.1", today=TODAY)


def test_a_published_version_can_no_longer_be_edited(db: Database, loaded: Path) -> None:
    draft = service.create_draft(db, "440300", "staff:ed", today=TODAY)
    service.publish(db, draft.id, TODAY, "staff:pub", today=TODAY)
    with pytest.raises(service.RulebookError, match="不能再修改"):
        service.update_draft(db, draft.id, draft.toml_text, "staff:ed", today=TODAY)
