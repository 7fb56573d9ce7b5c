"""The pages a bureau clerk works with, walked in a real Chromium at desktop size: dashboard, person,
audit log, rule list and import, the editor, the preview, the registry upload and held payments.

Each page is checked by axe-core (no serious or critical violation) and kept as a screenshot under
tests/artifacts/ (``clerk-<page>.png``) for a person to look at.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from miniservice.db import Database
from miniservice.rules.months import Month, month_range
from tests.admin.conftest import PASSWORD, bound_person
from tests.conftest import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Axe()


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: these tests are about the pages; the database paths run on both elsewhere."""
    path = tmp_path / "miniservice.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _sign_in(page: Any, base: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("input[name=username]", "publisher")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('登录')")


def test_every_clerk_page_is_accessible_and_kept_as_a_screenshot(
    desktop_page: Any, live_server: Any, db: Database, rules: None, staff: dict[str, str]
) -> None:
    this_month = Month.of(date.today())
    person = bound_person(db, "440300", "flexible", month_range(this_month - 24, this_month - 4), date(2020, 1, 1))
    page, base = desktop_page, live_server.url
    _sign_in(page, base)
    page.goto(base + "/admin/rules/440300")
    page.click("button:has-text('从生效版本创建草稿')")
    expect(page.locator("h1")).to_contain_text("编辑草稿")
    draft = page.url.split("/")[-2]
    pages = {
        "dashboard": "/admin/", "person": f"/admin/people/{person}", "audit": "/admin/audit",
        "rules": "/admin/rules", "region": "/admin/rules/440300", "editor": f"/admin/rules/versions/{draft}/edit",
        "preview": f"/admin/rules/versions/{draft}", "upload": "/admin/records/upload", "payments": "/admin/payments",
    }
    problems: list[str] = []
    for name, path in pages.items():
        response = page.goto(base + path)
        assert response is not None and response.status == 200, f"{name}: {response and response.status}"
        save_screenshot(page, f"clerk-{name}")
        problems += [f"{name}: {v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                     for v in AXE.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        if page.evaluate("document.documentElement.scrollWidth") > 1280:
            problems.append(f"{name}: scrolls sideways")
    assert not problems, "\n".join(problems)


def test_the_file_box_speaks_chinese_and_names_the_chosen_file(
    desktop_page: Any, live_server: Any, staff: dict[str, str], tmp_path: Path
) -> None:
    """Chromium draws its own file input in the browser's language ("Choose File"): the page shows its own."""
    page, base = desktop_page, live_server.url
    _sign_in(page, base)
    page.goto(base + "/admin/records/upload")
    box = page.locator("label.file-pick")
    expect(box).to_contain_text("选择文件")
    expect(box).to_contain_text("未选择文件")
    chosen = tmp_path / "记录.csv"
    chosen.write_text("id\n", encoding="utf-8")
    page.set_input_files("input[type=file]", str(chosen))
    expect(box).to_contain_text("已选择：记录.csv")
    save_screenshot(page, "clerk-upload-chosen")
    assert page.locator("input[type=file]").evaluate("e => getComputedStyle(e).opacity") == "0"
