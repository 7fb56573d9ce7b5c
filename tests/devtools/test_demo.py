"""The demo: its preparation is repeatable, and its phone page drives the real callback and H5 pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from miniservice.citizens.models import Binding, Person
from miniservice.citizens.privacy import PRIVACY_VERSION
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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_phone_chat_shows_what_the_service_pushed_with_tappable_links(app: Any, fake_wechat: Any) -> None:
    from miniservice.citizens.binding import BindRequest, bind
    from miniservice.citizens.demo_data import demo_people
    from miniservice.db import get_db

    with app.app_context():
        prepare(app, date(2026, 11, 20))
        zhao = next(p for p in demo_people(date(2026, 11, 20)) if p.key == "gap8")
        fake_wechat.add_follower("demo_visitor")
        bind(get_db(), "demo_visitor",
             BindRequest(zhao.name, zhao.id_number, "card", zhao.card_number, PRIVACY_VERSION))
        from miniservice.outbox.sending import drain

        drain()  # as the scheduler's outbox job does
    fake_wechat.sent_messages()[0]  # the confirmation went through the fake WeChat API
    page = app.test_client().get("/demo/phone?openid=demo_visitor").get_data(as_text=True)
    assert "身份绑定成功：赵*" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_runs_todays_reminders_on_demand_whatever_the_hour(app: Any, fake_wechat: Any) -> None:
    import time_machine

    with time_machine.travel("2026-11-20 23:30:00 +08:00", tick=False):  # outside the sending hours
        with app.app_context():
            prepare(app, date(2026, 11, 20))
        for openid in ("demo_citizen_2", "demo_citizen_7"):
            fake_wechat.add_follower(openid, subscribe_templates=["*"])
        client = app.test_client()
        client.post("/demo/phone/remind", data={"openid": "demo_citizen_2"})
        page = client.get("/demo/phone?openid=demo_citizen_2").get_data(as_text=True)
    sent = fake_wechat.sent_messages("demo_citizen_2")
    assert sent, "the reminder of a 1-month gap was not sent"
    assert "已运行 2026-11-20 的断缴提醒" in page
    assert "【服务通知】" in page and "已断缴 1 个月" in page


def test_chat_links_open_h5_pages_as_the_simulated_user(app: Any) -> None:
    from miniservice.devtools.views import chat_links

    with app.test_request_context():
        html = str(chat_links("明细：http://127.0.0.1:5000/h5/records\n<b>", "demo_citizen_4"))
    assert '<a href="/demo/phone/open?openid=demo_citizen_4&amp;url=http://127.0.0.1:5000/h5/records">' in html
    assert "&lt;b&gt;" in html


def test_pushed_template_messages_read_as_a_service_notice() -> None:
    from miniservice.devtools.views import pushed_words

    body = {"touser": "x", "template_id": "t", "url": "http://127.0.0.1:5000/h5/quote",
            "data": {"thing1": {"value": "刘*"}, "thing2": {"value": "已断缴 4 个月"}}}
    assert pushed_words(body) == "【服务通知】\n刘*\n已断缴 4 个月\n详情：http://127.0.0.1:5000/h5/quote"
