"""Finding 10: hostile cells in a records upload get a clear Chinese row error, never a 500 and
never an echo of a cell (an ID number typed in the wrong column must not be shown back); CSV the
service writes cannot run as a spreadsheet formula."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from miniservice.citizens.import_format import parse_file, spreadsheet_cell
from miniservice.citizens.models import Contribution, Person
from miniservice.db import Database
from tests.admin.conftest import cheap_hashing, editor, post_form, staff  # noqa: F401 (fixtures)
from tests.admin.test_upload import HEADER, ID_NUMBER
from tests.admin.test_upload import _upload as upload
from tests.citizens.conftest import TODAY

GOOD = f"{ID_NUMBER},测试,13800000000,,440300,flexible,,2025-01,8000,640,160,paid,2025-01-20,self"
OPTIONAL_HEADER = HEADER + ",deemed_months"


def stored(db: Database) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(Person)).scalar_one() + session.execute(
            select(func.count()).select_from(Contribution)).scalar_one()


HOSTILE = {
    "nul": (HEADER, GOOD.replace("测试", "测\x00试")),
    "escape": (HEADER, GOOD.replace("测试", "测\x1b[31m试")),
    "superscript_months": (OPTIONAL_HEADER, GOOD + ",²"),
    "huge_months": (OPTIONAL_HEADER, GOOD + ",999999999999"),
    "huge_amount": (HEADER, GOOD.replace(",8000,", ",999999999999,")),
    "wide_cell": (HEADER, GOOD.replace("测试", "测" * 131_072)),
    "wider_than_csv": (HEADER, GOOD.replace(",,440300", "," + '"' + "X" * 200_000 + '"' + ",440300")),
    "id_in_paid_on": (HEADER, GOOD.replace("2025-01-20", ID_NUMBER)),
    "id_in_base": (HEADER, GOOD.replace(",8000,", f",{ID_NUMBER}x,")),
    "id_in_month": (HEADER, GOOD.replace(",2025-01,", f",{ID_NUMBER},")),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_cell_is_a_row_error_that_repeats_nothing(editor: Any, db: Database, case: str) -> None:  # noqa: F811
    header, row = HOSTILE[case]
    response = upload(editor, f"{header}\n{row}\n".encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:500]
    assert "导入失败，未写入任何数据" in page
    assert ID_NUMBER not in page and ID_NUMBER[:14] not in page
    assert stored(db) == 0


def test_a_value_that_a_spreadsheet_would_run_is_written_inert_and_read_back_whole() -> None:
    employer = "=HYPERLINK(\"http://evil.example\",\"点此\")"
    assert spreadsheet_cell(employer) == "'" + employer
    assert spreadsheet_cell("-1") == "'-1" and spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("6000") == "6000"
    line = GOOD.replace("flexible,,", "employee," + spreadsheet_cell(employer).replace('"', '""').join('""') + ",")
    rows = parse_file(f"{HEADER}\n{line}\n".encode(), TODAY)
    assert rows[0].person.employer == employer


def test_the_demo_file_the_service_writes_has_no_formula_cell() -> None:
    import csv

    from miniservice.citizens.demo_data import demo_csv, demo_people

    text = demo_csv(demo_people(TODAY)).decode()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert cells and not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]


def test_an_upload_answers_at_once_and_its_job_runs_once(editor: Any, db: Database, app: Any,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from miniservice.citizens import import_jobs

    started: list[int] = []
    monkeypatch.setattr(import_jobs, "start_import", lambda _app, job_id: started.append(job_id))
    posted = post_form(editor, "/admin/records/upload",
                       {"file": (io.BytesIO(f"{HEADER}\n{GOOD}\n".encode()), "records.csv")},
                       page="/admin/records/upload", content_type="multipart/form-data")
    assert posted.status_code == 302 and started
    waiting = editor.get(posted.headers["Location"]).get_data(as_text=True)
    assert "等待开始" in waiting and 'http-equiv="refresh"' in waiting and stored(db) == 0
    with app.app_context():
        assert import_jobs.run_import(db, started[0]) is True
        assert import_jobs.run_import(db, started[0]) is False  # claimed once: a second start does nothing
    done = editor.get(posted.headers["Location"]).get_data(as_text=True)
    assert "已导入 1 行" in done and 'http-equiv="refresh"' not in done
