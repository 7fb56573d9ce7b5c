"""Finding 13: every response carries the browser's security headers, personal pages are never
cached, and the pages still work under the Content Security Policy (no inline script or style)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice import create_app
from miniservice.devtools.fake_wechat import OPENID_COOKIE, FakeWeChat
from tests.admin.conftest import PASSWORD, cheap_hashing, staff  # noqa: F401 (fixtures)
from tests.admin.conftest import signed_in as staff_client
from tests.conftest import test_settings
from tests.family.conftest import Family, add_relative, family, frozen_time, policies, registry, rules  # noqa: F401
from tests.family.conftest import signed_in as citizen_client

PERSONAL_PAGES = ("/h5/records", "/h5/quote", "/h5/family", "/h5/family/add", "/h5/bind")
STAFF_PAGES = ("/admin/", "/admin/rules", "/admin/audit", "/admin/records/upload")
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+(=|[\s>])", re.I)


def csp_directives(response: Any) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split(" ", 1)[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


def assert_hardened(response: Any) -> None:
    csp = csp_directives(response)
    assert csp.get("frame-ancestors") == "'none'", response.headers
    assert csp.get("script-src") == "'self'" and csp.get("style-src") == "'self'", csp
    assert csp.get("object-src") == "'none'" and csp.get("default-src") == "'self'", csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "same-origin"


def assert_private_pages(client: Any, paths: tuple[str, ...]) -> None:
    """Each page: the headers, never cached, no inline script or style, no HSTS outside production."""
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_hardened(response)
        assert response.headers.get("Cache-Control") == "no-store", path
        assert not INLINE.search(response.get_data(as_text=True)), path
        assert "Strict-Transport-Security" not in response.headers


def test_personal_pages_carry_the_headers_and_are_never_cached(app: Flask, family: Family) -> None:  # noqa: F811
    assert_private_pages(citizen_client(app, "o-holder"), PERSONAL_PAGES)


def test_staff_pages_carry_the_headers_and_are_never_cached(app: Flask, staff: dict[str, str]) -> None:  # noqa: F811
    assert_private_pages(staff_client(app, "publisher"), STAFF_PAGES)


def test_errors_redirects_and_the_api_carry_them_too(app: Flask) -> None:
    client = app.test_client()
    for response in (client.get("/admin/login"), client.get("/h5/records"), client.get("/no/such/page"),
                     client.get("/api/quote?region=x"), client.get("/wechat/callback")):
        assert_hardened(response)


def test_stylesheets_may_be_cached(app: Flask) -> None:
    response = app.test_client().get("/static/weui.min.css")
    assert_hardened(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_hsts_is_sent_in_production_only(tmp_path: Path, database_url: str, fake_wechat: FakeWeChat) -> None:
    production = create_app(test_settings(tmp_path, database_url, fake_wechat.base_url, env="production"))
    try:
        response = production.test_client().get("/admin/login", base_url="https://mp.example.gov.cn")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert_hardened(response)
    finally:
        production.extensions["miniservice.db"].dispose()


@pytest.fixture
def violations(chromium: Any) -> Any:
    """A phone page that records what Chromium refuses under the CSP."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield context, page, refused
    context.close()


@pytest.mark.browser
def test_the_citizen_pages_break_no_rule_of_the_policy_in_chromium(
    app: Flask, family: Family, live_server: Any, fake_wechat: FakeWeChat, violations: Any,  # noqa: F811
) -> None:
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=3650)  # the app's clock is frozen, Chromium's not
    add_relative(citizen_client(app, "o-holder"), family.mother, "parent", attested=True)
    context, page, refused = violations
    context.add_cookies([{"name": OPENID_COOKIE, "value": "o-holder", "url": fake_wechat.base_url}])
    page.goto(live_server.url + "/h5/family")
    expect(page.locator("#balance")).to_have_text("5,000.00 元")
    for path in PERSONAL_PAGES:
        page.goto(live_server.url + path)
        expect(page.locator(".page__title")).to_be_visible()
    page.goto(live_server.url + "/h5/quote?region=140105&scheme=flexible&first=2025-01&last=2025-03&cause=self")
    expect(page.locator(".page__title")).to_have_text("补缴计算器")
    assert refused == []


@pytest.mark.browser
def test_the_staff_dashboard_breaks_no_rule_of_the_policy_in_chromium(
    live_server: Any, staff: dict[str, str], violations: Any,  # noqa: F811
) -> None:
    _, page, refused = violations
    page.goto(live_server.url + "/admin/login")
    page.fill("input[name=username]", "publisher")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.locator("h2:has-text('每日提醒')")).to_be_visible()
    for path in STAFF_PAGES:
        page.goto(live_server.url + path)
    assert refused == []
