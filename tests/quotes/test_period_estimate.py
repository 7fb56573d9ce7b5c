"""A 集中缴费期 its source gives for one year, used for another: 示例数据 on every surface that shows it.

On TODAY (2026-11-25) a 太原 resident pays for 2027 within the national period, whose dates the source
gives for 2025 only (issue 15): the H5 居民医保, quote and records pages, the WeChat reply, the reminder,
``/api/quote`` and ``miniservice quote --json`` all say the dates are an estimate.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import Flask

from miniservice.cli import main
from miniservice.db import Database
from miniservice.devtools.simulator import Simulator
from miniservice.quotes.service import quote_for_person
from tests.quotes.conftest import Registry, page_text, sign_in
from tests.quotes.test_one_truth import _reminder_fields

NOTE = "缴费期的日期为示例数据，以当地当年通知为准"
PERIOD_KEYS = ["resident.period_start", "resident.period_end"]


def _taiyuan_resident(registry: Registry, openid: str) -> int:
    """Paid 2024 to 2026; 2027's premium is due in the period open on TODAY."""
    person = registry.person(region="140105", scheme="resident", openid=openid, enrolled=date(2024, 1, 1))
    registry.years(person, 2024, 2025, 2026)
    return person


def test_the_resident_page_says_the_period_dates_are_example_data(client: Any, registry: Registry) -> None:
    _taiyuan_resident(registry, "o-period")
    sign_in(client, "o-period")

    text = page_text(client.get("/h5/resident"))

    answer = text.split("本页暂不能直接付款")[0]
    assert "请在 2026-12-25 前缴费（集中缴费期 2026-09-10 至 2026-12-25）。" + NOTE in answer
    detail = text.split("缴费标准、等待期和计算依据")[1]
    assert "集中缴费期 2026-09-10 至 2026-12-25（示例数据）" in detail
    assert "来源公布的是2025年度的集中缴费期，2027年度按同样的日期估算" in detail


def test_the_wechat_reply_and_the_records_page_say_so_too(client: Any, simulator: Simulator,
                                                          registry: Registry) -> None:
    _taiyuan_resident(registry, "o-period")
    sign_in(client, "o-period")

    reply = simulator.click("o-period", "QUOTE").content or ""
    records = page_text(client.get("/h5/records"))

    assert "集中缴费期 2026-09-10 至 2026-12-25。" + NOTE in reply
    assert "集中缴费期为 2026-09-10 至 2026-12-25" in records and NOTE in records


def test_the_reminder_says_its_deadline_is_example_data(app: Flask, db: Database, registry: Registry) -> None:
    found = quote_for_person(db, _taiyuan_resident(registry, "o-period"), date(2026, 11, 25))

    fields = _reminder_fields(app, db, found)

    assert fields["thing2"] == "2027 年度居民医保未缴费"
    assert fields["thing5"] == "截止日期为示例数据:以当地当年通知为准"


def test_the_api_and_the_cli_list_the_dates_among_the_illustrative_figures(app: Flask, client: Any,
                                                                           registry: Registry) -> None:
    _taiyuan_resident(registry, "o-period")
    sign_in(client, "o-period")
    args = ["--region", "140100", "--scheme", "resident", "--on", "2026-11-25", "--json"]

    own = client.get("/api/quote/me").get_json()
    what_if = client.get("/api/quote?region=140100&scheme=resident&on=2026-11-25").get_json()
    printed = json.loads(app.test_cli_runner().invoke(main, ["quote", *args]).output)

    for data in (own, what_if, printed):
        assert data["resident"]["coverage_year"] == 2027 and data["resident"]["period_estimated"] is True
        assert set(PERIOD_KEYS) <= set(data["illustrative_keys"]) and data["illustrative"]
        assert "以当地当年通知为准" in data["citations"]["resident.period_end"]["note"]


def test_a_quote_for_the_year_the_source_states_shows_no_such_note(client: Any, registry: Registry) -> None:
    data = client.get("/api/quote?region=360100&scheme=resident&on=2025-01-10").get_json()  # 江西's 2025 period

    assert data["resident"]["coverage_year"] == 2025 and data["resident"]["period_estimated"] is False
    assert not set(PERIOD_KEYS) & set(data["illustrative_keys"])
