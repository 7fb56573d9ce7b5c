"""Finding 9: integers and dates beyond what the database or the calendar can hold are refused with
a 404 or 400 in Chinese, never a 500, on every URL and query parameter that carries one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.admin.conftest import cheap_hashing, staff  # noqa: F401 (fixtures)
from tests.admin.conftest import signed_in as staff_client
from tests.family.conftest import Family, csrf, family, frozen_time, policies, registry, rules  # noqa: F401 (fixtures)
from tests.family.conftest import signed_in as citizen_client

HUGE = 2**40  # larger than PostgreSQL's integer, still a plain number in a URL
HUGER = 2**70  # larger than any 64-bit integer
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def refused_in_chinese(response: Any, *statuses: int) -> str:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:400])
    body = response.get_data(as_text=True)
    assert CHINESE.search(body), body[:400]
    return body


@pytest.mark.parametrize("number", [HUGE, HUGER, "9" * 5000])
def test_a_month_detail_beyond_any_row_is_not_found(app: Flask, family: Family,  # noqa: F811
                                                    number: int | str) -> None:
    client = citizen_client(app, "o-holder")
    refused_in_chinese(client.get(f"/h5/records/{number}"), 404)


@pytest.mark.parametrize("number", [HUGE, HUGER])
@pytest.mark.parametrize("action", ["revoke", "reminders"])
def test_a_family_link_beyond_any_row_is_refused(app: Flask, family: Family,  # noqa: F811
                                                 number: int, action: str) -> None:
    client = citizen_client(app, "o-holder")
    token = csrf(client, "/h5/family/add")
    response = client.post(f"/h5/family/links/{number}/{action}", data={"csrf_token": token, "enabled": "on"})
    refused_in_chinese(response, 400, 404)


@pytest.mark.parametrize("number", [HUGE, HUGER, -HUGE])
def test_paying_for_a_link_beyond_any_row_is_refused(app: Flask, family: Family, number: int) -> None:  # noqa: F811
    client = citizen_client(app, "o-holder")
    response = client.post("/h5/family/pay", data={"csrf_token": csrf(client, "/h5/family/add"), "link_id": str(number),
                                                   "item": "resident:2026", "amount": "400.00",
                                                   "request_key": "k" * 32})
    refused_in_chinese(response, 400, 404)


@pytest.mark.parametrize("on", ["0001-01-01", "9999-12-31", "0000-01-01"])
def test_a_quote_date_at_the_ends_of_the_calendar_is_a_400(app: Flask, rules: None, on: str) -> None:  # noqa: F811
    response = app.test_client().get(f"/api/quote?region=140105&scheme=flexible&gap=2024-01..2024-03&on={on}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["field"] == "on" and CHINESE.search(response.json["error"])


@pytest.mark.parametrize("path", [f"/admin/rules/versions/{HUGE}", f"/admin/rules/versions/{HUGE}/edit",
                                  f"/admin/rules/versions/{HUGER}/export", f"/admin/audit?page={HUGER}",
                                  "/admin/rules?on=9999-12-31", "/admin/rules?on=0001-01-01",
                                  "/admin/audit?date_from=9999-12-31&date_to=9999-12-31",
                                  "/admin/audit?date_from=0001-01-01"])
def test_staff_pages_refuse_out_of_range_numbers_and_dates(app: Flask, staff: dict[str, str],  # noqa: F811
                                                           rules: None, path: str) -> None:  # noqa: F811
    response = staff_client(app, "publisher").get(path)
    assert response.status_code in (200, 400, 404), (path, response.status_code)
    if response.status_code != 200:
        refused_in_chinese(response, 400, 404)
