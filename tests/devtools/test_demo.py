"""The demo: its preparation is repeatable, and its phone page drives the real callback and H5 pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from miniservice.citizens.models import Binding, Person
from miniservice.devtools.demo import prepare
from miniservice.rulebook.models import RuleVersion
from tests.conftest import save_screenshot


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"env": "demo"}


def _counts(db: Any) -> tuple[int, int, int]:
    with db.reading() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Person, Binding, RuleVersion)
        )


def test_demo_preparation_loads_everything_once_and_pushes_the_menu(app: Any, db: Any, fake_wechat: Any) -> None:
    first_login = prepare(app, date(2026, 11, 20))
    counts = _counts(db)
    second_login = prepare(app, date(2026, 11, 20))
    assert _counts(db) == counts
    people, bindings, versions = counts
    assert people >= 10 and bindings >= 8 and versions >= 20
    assert fake_wechat.menu["button"][0]["name"] == "智慧人社"
    assert first_login["staff_user"] == second_login["staff_user"] == "demo-admin"


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_phone_page_taps_the_menu_and_opens_records_as_the_chosen_citizen(
    app: Any, live_server: Any, fake_wechat: Any, phone_page: Any
) -> None:
    with app.app_context():
        prepare(app, date(2026, 11, 20))
    fake_wechat.add_follower("demo_citizen_4")
    page = phone_page
    page.set_viewport_size({"width": 1100, "height": 820})
    page.goto(live_server.url + "/demo/phone?openid=demo_citizen_4")
    page.click("summary:has-text('帮助')")
    page.click("button:has-text('使用说明')")
    expect(page.locator(".chat")).to_contain_text("退订提醒 / 开启提醒")
    page.fill("input[name=value]", "缴费记录")
    page.click("button:has-text('发送')")
    expect(page.locator(".chat")).to_contain_text("您的医保缴费情况")  # the records reply, not the help's
    page.click("summary:has-text('我的医保')")
    page.click("a:has-text('缴费记录明细')")
    page.wait_for_url("**/h5/records*")  # the fragment of WeChat's authorise URL survives the redirects
    expect(page.locator("body")).to_contain_text("5101*************8")
    save_screenshot(page, "demo-phone-records")
