from __future__ import annotations

from datetime import date
from pathlib import Path

from miniservice.db import Database
from miniservice.rulebook import service
from miniservice.rulebook.queries import regions_in_force
from tests.rulebook.conftest import SHIPPED, with_header

TODAY = date(2026, 3, 10)


def _names(db: Database, day: date) -> dict[str, str]:
    with db.reading() as session:
        listed = regions_in_force(session, day)
    assert len(listed) == len(dict(listed)), "a region listed twice"
    return dict(listed)


def test_the_region_list_names_each_region_as_its_version_in_force_that_day_calls_it(
    db: Database, loaded: Path
) -> None:
    before = _names(db, TODAY)
    assert before["440300"] == "深圳市" and before["110000"] == "北京市"
    renamed = with_header((SHIPPED / "440300.toml").read_text(), name="深圳市（新）", version="2026.1")
    draft, _ = service.import_toml(db, renamed, "staff:ed", today=TODAY)
    assert _names(db, TODAY) == before  # a draft is no rule in force
    service.publish(db, draft.id, date(2026, 4, 1), "staff:pub", today=TODAY)
    assert _names(db, date(2026, 3, 31)) == before
    assert _names(db, date(2026, 4, 1)) == {**before, "440300": "深圳市（新）"}
    assert _names(db, date(2020, 1, 1)) == {}  # nothing was in force before the shipped versions
