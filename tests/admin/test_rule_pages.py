"""Rule-version pages through the test client: editing with per-field messages, diff, preview,
publication by date, rollback, import/export, escaping."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from miniservice.clock import local_today
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import rules_in_force
from miniservice.rules.months import Month, month_range
from miniservice.rules.sources import default_registry
from tests.admin.conftest import bound_person, form_fields, post_form

SHENZHEN = (PROJECT_ROOT / "policies" / "440300.toml").read_text(encoding="utf-8")


def _today(app: Flask) -> date:
    return local_today(app.extensions["miniservice.settings"].timezone)


def _new_draft(client: Any, code: str = "440300") -> tuple[int, dict[str, str]]:
    response = post_form(client, f"/admin/rules/{code}/drafts", {"version": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    version_id = int(response.headers["Location"].split("/")[-2])
    return version_id, form_fields(client.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True))


def _draft_text(db: Database, version_id: int) -> str:
    with db.reading() as session:
        return session.get(RuleVersion, version_id).toml_text


def test_an_invalid_value_is_refused_with_a_message_at_its_field(editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    before = _draft_text(db, version_id)
    fields["flexible.unit_rate.value"] = "1.5"
    response = editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    field_html = page[page.index('name="flexible.unit_rate.value"'):]
    assert "数值：不能大于 1" in field_html[: field_html.index('name="flexible.personal_rate.value"')]
    assert 'value="1.5"' in page  # what was typed stays in the form
    assert _draft_text(db, version_id) == before


def test_a_figure_without_a_source_is_refused_at_that_figure(editor: Any, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    fields["employee.unit_rate.value"] = "0.09"
    response = editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    section = page[page.index('name="employee.unit_rate.value"'): page.index('name="employee.personal_rate.value"')]
    assert "来源：请选择来源（政策文件或文章）" in section


def test_sources_are_picked_from_the_registry_by_title_and_an_unknown_id_is_refused_at_its_field(
    editor: Any, db: Database, rules: None
) -> None:
    version_id, fields = _new_draft(editor)
    page = editor.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True)
    picker = page[page.index('<select name="flexible.unit_rate.source"'):]
    picker = picker[: picker.index("</select>")]
    law = default_registry()["law-social-insurance"]
    assert f'<option value="{law.id}">《{law.title}》（{law.issuer}，{law.number}' in picker  # title, issuer, 文号
    assert '<optgroup label="法律">' in picker and '<optgroup label="网络文章（仅供参考）">' in picker
    before = _draft_text(db, version_id)
    fields["flexible.unit_rate.source"] = "no-such-document"  # a forged or stale id: the check is the server's
    response = editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    section = page[page.index('name="flexible.unit_rate.value"'): page.index('name="flexible.personal_rate.value"')]
    assert "来源：来源不在来源登记表中，请从列表中选择" in section
    assert "未登记的来源，请重新选择" in section  # the bad id stays selected, named in words, not shown
    assert "no-such-document" not in page.replace('value="no-such-document"', "")
    assert _draft_text(db, version_id) == before


def test_a_valid_edit_is_saved_and_the_version_page_shows_the_change_and_the_quotes(
    app: Flask, editor: Any, db: Database, rules: None
) -> None:
    version_id, fields = _new_draft(editor)
    fields["flexible.unit_rate.value"] = "0.10"
    response = editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    changes = page[page.index('class="changes"'):]
    assert "职工医保（灵活就业人员） · 单位缴费费率" in changes and "0.08" in changes and "0.10" in changes
    assert "灵活就业，个人原因断缴 4 个月" in page and "有变化" in page
    assert 'value = "0.10"' in _draft_text(db, version_id)


def test_the_preview_counts_bound_citizens_whose_quote_would_change(
    app: Flask, editor: Any, db: Database, rules: None
) -> None:
    this_month = Month.of(_today(app))
    bound_person(db, "440300", "flexible", month_range(this_month - 24, this_month - 4), date(2020, 1, 1))
    bound_person(db, "440300", "flexible", month_range(this_month - 24, this_month), date(2020, 1, 1))  # no gap
    bound_person(db, "110000", "flexible", month_range(this_month - 24, this_month - 4), date(2020, 1, 1))
    version_id, fields = _new_draft(editor)
    fields["flexible.unit_rate.value"] = "0.10"
    editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    page = editor.get(f"/admin/rules/versions/{version_id}").get_data(as_text=True)
    impact = page[page.index('class="card impact"'):]
    assert "已绑定参保人 2 人" in impact  # 北京 does not inherit from 深圳
    assert "会变化的 <b>1</b> 人" in impact


def test_a_publisher_publishes_for_a_future_day_and_rolls_back(
    app: Flask, editor: Any, publisher: Any, db: Database, rules: None
) -> None:
    today = _today(app)
    version_id, fields = _new_draft(editor)
    fields["wage.average_monthly.2024.value"] = "9000"
    editor.post(f"/admin/rules/versions/{version_id}/edit", data=fields)
    day = today + timedelta(days=10)
    response = post_form(publisher, f"/admin/rules/versions/{version_id}/publish",
                         {"effective_from": day.isoformat()}, page=f"/admin/rules/versions/{version_id}")
    assert response.status_code == 302
    page = publisher.get("/admin/rules").get_data(as_text=True)
    row = page[page.index(">440300<"):]
    assert f"· {day.isoformat()}" in row[: row.index("</tr>")]
    assert rules_in_force(db, "440300", day - timedelta(days=1)).wage.average_monthly[2024].value == 8000
    assert rules_in_force(db, "440300", day).wage.average_monthly[2024].value == 9000
    region_page = publisher.get("/admin/rules/440300").get_data(as_text=True)
    assert "回滚" in region_page
    rolled = post_form(publisher, "/admin/rules/440300/rollback", {"expected_version_id": str(version_id)},
                       page="/admin/rules/440300")
    assert rolled.status_code == 302
    assert "已停用" in publisher.get("/admin/rules/440300").get_data(as_text=True)
    assert rules_in_force(db, "440300", day).wage.average_monthly[2024].value == 8000


def test_publishing_in_the_past_is_refused_with_a_message(app: Flask, publisher: Any, rules: None) -> None:
    version_id, _ = _new_draft(publisher)
    yesterday = _today(app) - timedelta(days=1)
    response = post_form(publisher, f"/admin/rules/versions/{version_id}/publish",
                         {"effective_from": yesterday.isoformat()}, follow_redirects=True)
    assert "早于今天" in response.get_data(as_text=True)


def test_export_and_import_through_the_pages_round_trip(editor: Any, db: Database, rules: None) -> None:
    with db.reading() as session:
        loaded = session.execute(select(RuleVersion).where(RuleVersion.region_code == "440300")).scalar_one()
    exported = editor.get(f"/admin/rules/versions/{loaded.id}/export")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="440300.toml"'
    assert exported.get_data(as_text=True) == SHENZHEN
    same = post_form(editor, "/admin/rules/import", {"text": SHENZHEN}, follow_redirects=True)
    assert "未重复导入" in same.get_data(as_text=True)
    changed = SHENZHEN.replace('version = "2025.5"', 'version = "2026.5"')
    created = post_form(editor, "/admin/rules/import", {"text": changed}, follow_redirects=True)
    assert "已导入为草稿：深圳市 2026.5 版" in created.get_data(as_text=True)


def test_an_invalid_import_lists_its_problems_and_stores_nothing(editor: Any, db: Database, rules: None) -> None:
    broken = SHENZHEN.replace('version = "2025.5"', 'version = "2026.5"').replace('"0.08"', '"eight"')
    response = post_form(editor, "/admin/rules/import", {"text": broken})
    assert response.status_code == 422
    assert "职工医保（灵活就业人员） · 单位缴费费率 · 数值" in response.get_data(as_text=True)
    assert "请填写数字" in response.get_data(as_text=True)
    with db.reading() as session:
        assert session.execute(select(RuleVersion).where(RuleVersion.version == "2026.5")).first() is None


def test_a_region_name_with_a_script_tag_is_shown_escaped(editor: Any, rules: None) -> None:
    hostile = ('code = "440600"\nname = "<script>alert(1)</script>佛山"\nparent = "440000"\n'
               'version = "2026.1"\neffective_from = 2025-01-01\n')
    response = post_form(editor, "/admin/rules/import", {"text": hostile}, follow_redirects=True)
    assert response.status_code == 200
    for url in ("/admin/rules", "/admin/rules/440600"):
        page = editor.get(url).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;佛山" in page
        assert "<script>" not in page


def test_only_drafts_can_be_edited(editor: Any, db: Database, rules: None) -> None:
    with db.reading() as session:
        loaded = session.execute(select(RuleVersion.id).where(RuleVersion.region_code == "440300")).scalar_one()
    response = editor.get(f"/admin/rules/versions/{loaded}/edit")
    assert response.status_code == 302
