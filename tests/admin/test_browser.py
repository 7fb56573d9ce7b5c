"""Staff in a real Chromium: the whole rule-change flow, escaping, roles and the lockout."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from miniservice import state
from miniservice.db import Database
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rulebook.service import import_toml
from tests.admin.conftest import PASSWORD
from tests.conftest import save_screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: these tests are about the pages; the database paths run on both elsewhere."""
    path = tmp_path / "miniservice.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"

HOSTILE = ('code = "440600"\nname = "<script>alert(1)</script>佛山"\nparent = "440000"\n'
           'version = "2026.1"\neffective_from = 2025-01-01\n')


def _sign_in(page: Any, base: str | None, username: str, password: str = PASSWORD) -> Any:
    """Fill the login form (after opening it, unless ``base`` is None: the page shows it already).

    Returns the server's answer to the POST, waited for: a refused sign-in shows the same form with
    the same message, so only the answer itself tells this attempt's outcome from the last one's.
    """
    if base is not None:
        page.goto(base + "/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.click("button:has-text('登录')")
    return answer.value


def _unit_rate(db: Database, on: Any) -> Decimal:
    return rules_in_force(db, "440300", on).flexible.unit_rate.value


def test_a_publisher_edits_previews_publishes_for_a_later_day_and_rolls_back(
    desktop_page: Any, live_server: Any, app: Flask, db: Database, rules: None, staff: dict[str, str]
) -> None:
    page, base = desktop_page, live_server.url
    page.goto(base + "/admin/rules/440300")
    assert "/admin/login" in page.url
    _sign_in(page, base, "publisher")
    page.goto(base + "/admin/rules/440300")
    page.click("button:has-text('从生效版本创建草稿')")
    page.fill("input[name='flexible.unit_rate.value']", "1.5")
    page.click("button:has-text('保存并校验')")
    message = page.locator(".figure.has-error .error").first
    expect(message).to_contain_text("数值：不能大于 1")

    page.fill("input[name='flexible.unit_rate.value']", "0.10")
    page.click("button:has-text('保存并校验')")
    expect(page.locator("text=草稿已保存并通过校验")).to_be_visible()
    expect(page.locator("table.changes >> text=职工医保（灵活就业人员） · 单位缴费费率")).to_be_visible()
    expect(page.locator("text=有变化").first).to_be_visible()
    save_screenshot(page, "admin-draft-preview")

    day = state.clock(app).today() + timedelta(days=10)
    page.fill("input[name=effective_from]", day.isoformat())
    page.click("button:has-text('发布')")
    expect(page.locator(f"text=将于 {day.isoformat()} 自动生效")).to_be_visible()
    expect(page.locator(".tag--scheduled").first).to_be_visible()
    assert _unit_rate(db, day - timedelta(days=1)) == Decimal("0.08")
    assert _unit_rate(db, day) == Decimal("0.10")

    page.click("button:has-text('回滚')")
    expect(page.locator("text=上一版本重新生效")).to_be_visible()
    assert _unit_rate(db, day) == Decimal("0.08")


def test_a_viewer_sees_a_hostile_region_name_as_text_and_cannot_edit(
    desktop_page: Any, live_server: Any, app: Flask, db: Database, rules: None, staff: dict[str, str]
) -> None:
    with app.app_context():
        draft, _ = import_toml(db, HOSTILE, "staff:editor", today=state.clock().today())
    dialogs: list[str] = []
    desktop_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(desktop_page, live_server.url, "viewer")
    desktop_page.goto(live_server.url + "/admin/rules")
    expect(desktop_page.locator("text=<script>alert(1)</script>佛山")).to_be_visible()
    assert dialogs == []
    response = desktop_page.goto(live_server.url + f"/admin/rules/versions/{draft.id}/edit")
    assert response.status == 403
    expect(desktop_page.locator("text=没有执行此操作的权限")).to_be_visible()
    assert desktop_page.locator("text=编辑草稿").count() == 0


def test_five_wrong_passwords_lock_the_account(desktop_page: Any, live_server: Any, staff: dict[str, str]) -> None:
    answers = [_sign_in(desktop_page, live_server.url if attempt == 0 else None, "editor", "wrong-password")
               for attempt in range(5)]  # a refused sign-in shows the form again
    assert [answer.status for answer in answers] == [401, 401, 401, 401, 423]
    assert _sign_in(desktop_page, None, "editor").status == 423  # the right password, too late
    expect(desktop_page.locator("text=账户已锁定")).to_be_visible()
    expect(desktop_page).to_have_url(live_server.url + "/admin/login")
