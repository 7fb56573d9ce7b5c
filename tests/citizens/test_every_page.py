"""Every citizen page, for the demo citizens, in both display modes, in real Chromium at phone size.

For each page: axe-core (axe-playwright-python, its bundled axe.js injected into the page: no network)
finds no serious or critical violation; in 长辈模式 no text is under 16 px and the body is 20 px; and a
screenshot is kept under tests/artifacts/ (``every-page-<mode>-<name>.png``) to be looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Page, expect

from miniservice.citizens.demo_data import DemoPerson
from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from tests.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"],
                                                                              indirect=True)]

AXE = Axe()
# The smallest font of any element that shows text of its own, and its tag, id and class.
SMALLEST_TEXT = """() => {
  let smallest = null;
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (!smallest || size < smallest.size) smallest = {size, what: el.tagName + '#' + el.id + '.' + el.className};
  }
  return smallest;
}"""
# Things to tap smaller than 44 px in height: links, buttons, fields and the labels that tick a choice.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a, button, summary, select, input:not([type=hidden]):not(.weui-check), .weui-check__label')]
  .filter(el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0 && b.height < 44; })
  .map(el => el.tagName + '#' + el.id + ' ' + (el.textContent || '').trim().slice(0, 20))"""

Step = Callable[[Page], None]


def _go(path: str) -> Step:
    def step(page: Page) -> None:
        page.goto(page.url.split("/h5")[0] + path)
    return step


def _click(selector: str) -> Step:
    return lambda page: page.click(selector)


def _then(*steps: Step) -> Step:
    def step(page: Page) -> None:
        for each in steps:
            each(page)
    return step


def _add_mother(mother: DemoPerson) -> Step:
    def step(page: Page) -> None:
        page.fill("input[name=name]", mother.name)
        page.fill("input[name=id_number]", mother.id_number)
        page.fill("input[name=card_number]", mother.card_number)
        page.click("label:has-text('父母')")
        page.click("label:has-text('本人承诺已取得亲属同意')")
        page.click("input[type=submit]")
        expect(page.locator("text=绑定成功")).to_be_visible()
    return step


def _journeys(demo: dict[str, DemoPerson]) -> dict[str, list[tuple[str, Step]]]:
    """Per WeChat user: (screenshot name, how to reach the page from the previous one)."""
    return {
        "demo_visitor": [
            ("bind-form", _go("/h5/bind")),
            ("bind-refused", _click("#bind")),
            ("records-bind-first", _go("/h5/records")),
            ("quote-visitor", _go("/h5/quote")),
            ("resident-visitor", _go("/h5/resident")),
            ("family-bind-first", _go("/h5/family")),
            ("not-found", _go("/h5/nowhere")),
        ],
        "demo_citizen_4": [
            ("records-gap4", _go("/h5/records")),
            ("records-month", _click("a.month >> nth=0")),
            ("quote-gap4", _go("/h5/quote")),
            ("quote-gap4-detail", _click("#mine-more > summary")),
            ("quote-whatif", _go("/h5/quote?region=440300&scheme=flexible&first=2026-07&last=2026-10&cause=self")),
            ("quote-whatif-error", _go("/h5/quote?region=440300&scheme=flexible&first=2026-10&last=2026-07")),
            ("bind-bound", _go("/h5/bind")),
            ("unbind-confirm", _click("#unbind")),
        ],
        "demo_citizen_5": [("records-unit-gap", _go("/h5/records")), ("quote-unit-gap", _go("/h5/quote"))],
        "demo_citizen_6": [("records-retiree", _go("/h5/records")), ("quote-retiree", _go("/h5/quote")),
                           ("quote-whatif-retiree", _go("/h5/quote?region=360100&scheme=retiree&sex=female"
                                                        "&paid_months=120&birth_year=1965&birth_month=03&birth_day=01")),
                           ("quote-whatif-retiree-young", _go("/h5/quote?region=360100&scheme=retiree&sex=female"
                                                              "&paid_months=120&birth_year=1990&birth_month=06"
                                                              "&birth_day=15"))],
        "demo_citizen_7": [("resident-unpaid", _go("/h5/resident")), ("resident-unpaid-detail",
                                                                       _click("#resident-detail > summary")),
                           ("records-resident", _go("/h5/records"))],
        "demo_citizen_8": [
            ("family-holder", _go("/h5/family")),
            ("family-add", _go("/h5/family/add")),
            ("family-added", _add_mother(demo["family_parent"])),
            ("family-with-dues", _go("/h5/family")),
            ("family-pay-confirm", _click("button:has-text('使用个人账户支付')")),
            ("family-paid", _click("#confirm-pay")),
            ("family-revoke-confirm", _then(_go("/h5/family"), _click("text=解除绑定"))),
        ],
    }


@pytest.mark.parametrize("mode", ["standard", "elder"])
def test_every_citizen_page_is_accessible_and_readable_in_both_modes(
    app: Flask, chromium: Any, live_server: Any, fake_wechat: FakeWeChat, demo: dict[str, DemoPerson], mode: str
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3650)  # the app's clock is frozen, Chromium's not
    fake_wechat.add_follower("demo_visitor")
    problems: list[str] = []
    for openid, steps in _journeys(demo).items():
        context = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                       is_mobile=True, has_touch=True, locale="zh-CN")
        context.add_cookies([{"name": OPENID_COOKIE, "value": openid, "url": fake_wechat.base_url}]
                            + ([{"name": "elder", "value": "1", "url": live_server.url}] if mode == "elder" else []))
        page = context.new_page()
        page.goto(live_server.url + "/h5/bind")  # through the fake WeChat OAuth once
        try:
            for name, step in steps:
                step(page)
                page.wait_for_load_state()
                assert page.locator("body").get_attribute("class") == mode
                save_screenshot(page, f"every-page-{mode}-{name}")
                serious = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                           for v in AXE.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
                problems += [f"{name}: {v}" for v in serious]
                if page.evaluate("document.documentElement.scrollWidth") > 390:
                    problems.append(f"{name}: scrolls sideways")
                if mode == "elder":
                    smallest = page.evaluate(SMALLEST_TEXT)
                    if smallest and smallest["size"] < 16:
                        problems.append(f"{name}: {smallest['size']} px text ({smallest['what']})")
                    body = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
                    if body < 20:
                        problems.append(f"{name}: body text {body} px")
                    problems += [f"{name}: small target {t}" for t in page.evaluate(SMALL_TARGETS)]
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_the_display_mode_is_switchable_on_every_page_and_remembered(
    app: Flask, phone_page: Page, live_server: Any, fake_wechat: FakeWeChat, demo: dict[str, DemoPerson]
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3650)
    page = phone_page
    page.context.add_cookies([{"name": OPENID_COOKIE, "value": "demo_citizen_4", "url": fake_wechat.base_url}])
    page.goto(live_server.url + "/h5/quote")
    assert page.locator("body").get_attribute("class") == "standard"
    page.click("#mode-switch")
    expect(page).to_have_url(live_server.url + "/h5/quote")  # back on the same page …
    assert page.locator("body").get_attribute("class") == "elder"  # … in large text
    page.goto(live_server.url + "/h5/records")
    assert page.locator("body").get_attribute("class") == "elder"  # remembered on the next page
    page.click("#mode-switch")
    assert page.locator("body").get_attribute("class") == "standard"


def test_the_mode_switch_only_goes_back_to_our_own_pages(client: Any) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\\\evil.example/"):
        response = client.get("/h5/display", query_string={"mode": "elder", "next": target})
        assert response.headers["Location"] == "/h5/records"
    response = client.get("/h5/display", query_string={"mode": "elder", "next": "/h5/quote?x=1"})
    assert response.headers["Location"] == "/h5/quote?x=1" and "elder=1" in response.headers["Set-Cookie"]
