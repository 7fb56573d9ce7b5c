"""Records upload from the browser: the CLI's validated import, with its row errors on the page."""

from __future__ import annotations

import io
import time
from typing import Any

from sqlalchemy import func, select

from miniservice.citizens.identity import id_check_char
from miniservice.citizens.models import Contribution
from miniservice.db import Database
from tests.admin.conftest import post_form

HEADER = ("id_number,name,phone,card_number,region_code,scheme,employer,month,base,unit_amount,personal_amount,"
          "status,paid_on,payer")
FIRST17 = "44030519850101123"
ID_NUMBER = FIRST17 + id_check_char(FIRST17)


def _csv(*months: str) -> bytes:
    rows = [f"{ID_NUMBER},测试,13800000000,,440300,flexible,,{m},8000,640,160,paid,2025-01-20,self" for m in months]
    return "\n".join([HEADER, *rows]).encode("utf-8")


def _upload(client: Any, data: bytes) -> Any:
    """Upload, then watch the import job's page (as the browser does, reloading) until it has ended."""
    posted = post_form(client, "/admin/records/upload", {"file": (io.BytesIO(data), "records.csv")},
                       page="/admin/records/upload", content_type="multipart/form-data")
    if posted.status_code != 302:
        return posted
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(posted.headers["Location"])
        if 'http-equiv="refresh"' not in page.get_data(as_text=True):
            return page
        time.sleep(0.05)
    raise AssertionError("the import job did not end within a minute")


def _months(db: Database) -> int:
    with db.reading() as session:
        return session.execute(select(func.count()).select_from(Contribution)).scalar_one()


def test_a_clean_file_is_imported_and_counted(editor: Any, db: Database) -> None:
    response = _upload(editor, _csv("2024-11", "2024-12"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "已导入 2 行" in page
    assert _months(db) == 2


def test_a_file_with_a_bad_row_shows_the_row_and_writes_nothing(editor: Any, db: Database) -> None:
    response = _upload(editor, _csv("2024-11", "2024-13"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "导入失败，未写入任何数据" in page
    assert '<td class="num">3</td><td>month</td>' in page
    assert ID_NUMBER not in page  # errors never repeat identity data
    assert _months(db) == 0


def test_an_upload_without_a_file_says_so(editor: Any) -> None:
    response = post_form(editor, "/admin/records/upload", {}, page="/admin/records/upload")
    assert response.status_code == 400
    assert "请选择要上传的 CSV 文件" in response.get_data(as_text=True)
