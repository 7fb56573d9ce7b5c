"""The rule editor and the dashboard in a real Chromium at desktop size: band rows edited as a
table (buttons, no TOML), the error banner's links, and screenshots kept for a human to look at."""

from __future__ import annotations

import shutil
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import expect

from miniservice.db import Database
from miniservice.rulebook.models import RuleVersion
from miniservice.rules.months import Month, month_range
from tests.admin.conftest import PASSWORD, bound_person
from tests.conftest import ARTIFACTS, save_screenshot

pytestmark = pytest.mark.browser
BANDS = "flexible.waiting.self_bands"


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: these tests are about the pages; the database paths run on both elsewhere."""
    path = tmp_path / "miniservice.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('登录')")


def _viewport_shot(page: Any, name: str) -> None:
    """What staff see without scrolling (the full-page shot of a long form is hard to read)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _draft_bands(db: Database, version_id: int) -> list[dict[str, Any]]:
    with db.reading() as session:
        text = session.get(RuleVersion, version_id).toml_text
    return tomllib.loads(text)["flexible"]["waiting"]["self_bands"]


def _row(page: Any, i: int) -> tuple[str, str, str]:
    """(over, wait, months) of band row ``i`` as the page shows it."""
    return (page.input_value(f"input[name='{BANDS}.{i}.over']"), page.input_value(f"select[name='{BANDS}.{i}.wait']"),
            page.input_value(f"input[name='{BANDS}.{i}.months']"))


def _stored(band: dict[str, Any]) -> tuple[str, str, str]:
    return str(band["over"]), band["wait"], str(band["months"])


def _button(page: Any, label: str) -> Any:
    return page.locator(f"table[data-bands='{BANDS}'] button[aria-label='{label}']")


def test_a_clerk_adds_moves_and_removes_band_rows_and_follows_the_banner_to_an_error(
    desktop_page: Any, live_server: Any, db: Database, rules: None, staff: dict[str, str]
) -> None:
    page, base = desktop_page, live_server.url
    _sign_in(page, base, "editor")
    page.goto(base + "/admin/rules/440300")
    page.click("button:has-text('从生效版本创建草稿')")
    expect(page.locator("h1")).to_contain_text("编辑草稿：深圳市")
    version_id = int(page.url.split("/")[-2])
    _viewport_shot(page, "admin-editor-top")

    table = page.locator(f"table[data-bands='{BANDS}']")
    n = table.locator("tbody.band").count()
    shipped = [_row(page, i) for i in range(n)]
    page.click(f"button[value='{BANDS}|add|']")
    new_over = page.locator(f"input[name='{BANDS}.{n}.over']")
    expect(new_over).to_be_visible()
    expect(new_over).to_be_focused()  # the small script brings the new row back into view
    over = str(max(int(row[0]) for row in shipped) + 12)
    new_over.fill(over)
    page.select_option(f"select[name='{BANDS}.{n}.wait']", label="等待若干个月")
    page.fill(f"input[name='{BANDS}.{n}.months']", "6")
    page.select_option(f"select[name='{BANDS}.{n}.continuity']", label="清零")
    page.fill(f"input[name='{BANDS}.{n}.label']", f">{over}个月:等待6个月")
    # The new band cites what the last one cites: the source picked by its title, the sentence typed.
    cited = page.locator(f"select[name='{BANDS}.{n - 1}.source'] option:checked").inner_text()
    assert cited.startswith("《") and "-" not in cited.split("（")[0]  # a title, never a registry id
    page.select_option(f"select[name='{BANDS}.{n}.source']", label=cited)
    cited_id = page.input_value(f"select[name='{BANDS}.{n - 1}.source']")
    page.fill(f"[name='{BANDS}.{n}.quote']", page.input_value(f"[name='{BANDS}.{n - 1}.quote']"))
    _button(page, f"第 {n + 1} 档上移").click()
    expect(page.locator(f"input[name='{BANDS}.{n - 1}.over']")).to_have_value(over)
    page.locator(f"tbody[id='f-{BANDS}.{n - 1}']").scroll_into_view_if_needed()
    _viewport_shot(page, "admin-editor-bands")
    _button(page, f"第 {n} 档下移").click()
    expect(page.locator(f"input[name='{BANDS}.{n}.over']")).to_have_value(over)

    last = n - 1  # waiting some months needs a number of months: refused, in Chinese
    page.select_option(f"select[name='{BANDS}.{last}.wait']", "months")
    page.fill(f"input[name='{BANDS}.{last}.months']", "0")
    page.click(".save-bar button:has-text('保存并校验')")
    banner = page.locator("#problems")
    expect(banner).to_contain_text("草稿未保存：共 1 处需要修改")
    expect(banner).to_contain_text("这种恢复方式需要填写月数（至少 1）")
    _viewport_shot(page, "admin-editor-error")
    banner.locator("a").first.click()
    assert page.url.endswith(f"#f-{BANDS}.{last}")
    expect(page.locator(f"tbody[id='f-{BANDS}.{last}'] .error")).to_be_in_viewport()
    assert [_stored(b) for b in _draft_bands(db, version_id)] == shipped  # nothing was saved

    page.select_option(f"select[name='{BANDS}.{last}.wait']", shipped[last][1])
    page.fill(f"input[name='{BANDS}.{last}.months']", shipped[last][2])
    _button(page, f"删除第 {n} 档").click()  # the last shipped band goes; the new one takes its place
    expect(page.locator(f"input[name='{BANDS}.{n - 1}.over']")).to_have_value(over)
    page.click(".save-bar button:has-text('保存并校验')")
    expect(page.locator("text=草稿已保存并通过校验")).to_be_visible()
    bands = _draft_bands(db, version_id)
    assert [_stored(b) for b in bands] == [*shipped[:-1], (over, "months", "6")]
    assert bands[-1]["continuity"] == "reset"
    assert bands[-1]["source"] == cited_id  # the registry id behind the title the clerk picked
    save_screenshot(page, "admin-draft-version")


def test_the_dashboard_lists_who_passes_the_line_this_week(
    desktop_page: Any, live_server: Any, app: Flask, db: Database, rules: None, staff: dict[str, str]
) -> None:
    for region in ("440300", "110000", "510100"):
        bound_person(db, region, "flexible", month_range(Month(2024, 1), Month(2025, 11)), date(2024, 1, 1))
    bound_person(db, "440300", "flexible", month_range(Month(2024, 1), Month(2026, 1)), date(2024, 1, 1))
    with time_machine.travel("2026-03-28 10:00:00 +08:00"):
        page, base = desktop_page, live_server.url
        _sign_in(page, base, "viewer")
        page.goto(base + "/admin/")
        expect(page.locator(".stat:has-text('本周将超过本地期限') b")).to_have_text("3")
        _viewport_shot(page, "admin-dashboard")
        page.click("a:has-text('查看名单')")
        rows = page.locator("#passing tbody tr")
        expect(rows).to_have_count(3)
        _viewport_shot(page, "admin-dashboard-passing")
        rows.first.locator("a:has-text('详情')").click()
        expect(page.locator("text=已断缴 3 个月")).to_be_visible()
        save_screenshot(page, "admin-person")
        page.goto(base + "/admin/audit")
        save_screenshot(page, "admin-audit")
