"""The rule editor as a clerk uses it: every shipped file survives a save unchanged, band rows are
added, moved and removed with buttons, messages are Chinese and linked, and what is "in force" is
the published version on the draft's planned day."""

from __future__ import annotations

import re
import tomllib
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice.admin import labels, rule_form
from miniservice.admin.messages import UNKNOWN, reason_in_chinese
from miniservice.clock import local_today
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.service import create_draft, publish, update_draft
from miniservice.rules import toml_writer
from miniservice.rules.loading import parse_region
from tests.admin.conftest import form_fields, post_form

BANDS = "flexible.waiting.self_bands"
SHIPPED = sorted(path.stem for path in (PROJECT_ROOT / "policies").glob("*.toml")
                 if path.stem == "national" or path.stem.isdigit())  # region files, not a registry beside them
LATIN = re.compile(r"[A-Za-z]{2,}")


def _today(app: Flask) -> date:
    return local_today(app.extensions["miniservice.settings"].timezone)


def _new_draft(client: Any, code: str = "440300") -> tuple[int, Any]:
    response = post_form(client, f"/admin/rules/{code}/drafts", {"version": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    version_id = int(response.headers["Location"].split("/")[-2])
    return version_id, form_fields(client.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True))


def _stored(db: Database, version_id: int) -> dict[str, Any]:
    with db.reading() as session:
        return tomllib.loads(session.get(RuleVersion, version_id).toml_text)


def _rules_part(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k not in {"version", "effective_from"}}


def _save(client: Any, version_id: int, fields: Any) -> Any:
    return client.post(f"/admin/rules/versions/{version_id}/edit", data=fields)


def _press(client: Any, version_id: int, fields: Any, action: str) -> Any:
    """Press a row button: the form is submitted with that button's name and value."""
    data = fields.copy()
    data["row_action"] = action
    response = client.post(f"/admin/rules/versions/{version_id}/edit", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return form_fields(response.get_data(as_text=True))


def test_every_shipped_file_saved_unchanged_keeps_its_rules(editor: Any, db: Database, rules: None) -> None:
    for code in SHIPPED:
        version_id, fields = _new_draft(editor, code)
        before = _stored(db, version_id)
        response = _save(editor, version_id, fields)
        assert response.status_code == 302, (code, response.get_data(as_text=True)[-3000:])
        assert _rules_part(_stored(db, version_id)) == _rules_part(before), code


def _bands(fields: Any, path: str) -> list[tuple[str, ...]]:
    """(over, wait, months) of each band row the form shows."""
    count = len({key.split(".")[3] for key in fields if key.startswith(path + ".")})
    return [tuple(fields.get(f"{path}.{i}.{column}", "") for column in ("over", "wait", "months"))
            for i in range(count)]


def test_editing_one_band_changes_exactly_that_band(editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    before = _stored(db, version_id)
    last = len(_bands(fields, BANDS)) - 1
    months = int(fields.get(f"{BANDS}.{last}.months") or 0) + 1
    fields[f"{BANDS}.{last}.months"] = str(months)
    fields[f"{BANDS}.{last}.label"] = "改过的说明"
    assert _save(editor, version_id, fields).status_code == 302
    after = _stored(db, version_id)
    expected = before["flexible"]["waiting"]["self_bands"][last] | {"months": months, "label": "改过的说明"}
    assert after["flexible"]["waiting"]["self_bands"][last] == expected
    after["flexible"]["waiting"]["self_bands"][last] = before["flexible"]["waiting"]["self_bands"][last]
    assert _rules_part(after) == _rules_part(before)


def test_band_rows_are_added_moved_and_removed_with_buttons(editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    shipped = _bands(fields, BANDS)
    n, over = len(shipped), str(max(int(row[0]) for row in shipped) + 12)
    fields = _press(editor, version_id, fields, f"{BANDS}|add|")
    assert f"{BANDS}.{n}.source" in fields and fields[f"{BANDS}.{n}.source"] == ""  # a blank new row
    for column, value in (("over", over), ("wait", "months"), ("months", "6"), ("continuity", "reset")):
        fields[f"{BANDS}.{n}.{column}"] = value
    for part in rule_form.SOURCED_TEXT:  # the new band cites what the last one cites
        fields[f"{BANDS}.{n}.{part}"] = fields.get(f"{BANDS}.{n - 1}.{part}", "")
    fields = _press(editor, version_id, fields, f"{BANDS}|up|{n}")
    assert fields[f"{BANDS}.{n - 1}.over"] == over and _bands(fields, BANDS)[n] == shipped[n - 1]
    fields = _press(editor, version_id, fields, f"{BANDS}|down|{n - 1}")
    assert _bands(fields, BANDS) == [*shipped, (over, "months", "6")]
    assert _save(editor, version_id, fields).status_code == 302
    bands = _stored(db, version_id)["flexible"]["waiting"]["self_bands"]
    assert [(str(b["over"]), b["wait"], str(b["months"])) for b in bands] == [*shipped, (over, "months", "6")]
    fields = form_fields(editor.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True))
    fields = _press(editor, version_id, fields, f"{BANDS}|remove|{n - 1}")
    assert _bands(fields, BANDS) == [*shipped[:-1], (over, "months", "6")]
    assert _save(editor, version_id, fields).status_code == 302
    assert [str(b["over"]) for b in _stored(db, version_id)["flexible"]["waiting"]["self_bands"]] == \
        [row[0] for row in shipped[:-1]] + [over]


def test_an_inherited_band_table_is_copied_from_what_is_in_force(editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)  # 深圳 has no unit bands of its own: national's apply
    path = "flexible.waiting.unit_bands"
    assert f"{path}.0.wait" not in fields
    fields = _press(editor, version_id, fields, f"{path}|copy|")
    assert fields[f"{path}.0.wait"] == "day_after_arrival"
    assert _save(editor, version_id, fields).status_code == 302
    assert _stored(db, version_id)["flexible"]["waiting"]["unit_bands"][0]["wait"] == "day_after_arrival"


def test_a_forged_row_button_or_hidden_input_is_refused(editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    before = _stored(db, version_id)
    for action in ("nope.bands|add|", "flexible.waiting.self_bands|remove|9", "flexible.waiting.self_bands|drop|0"):
        data = fields.copy()
        data["row_action"] = action
        assert editor.post(f"/admin/rules/versions/{version_id}/edit", data=data).status_code == 400
    for kept in ("not json", '{"value": "0.5"}', "[1, 2]"):
        for key in ("flexible.unit_rate.kept", "flexible.waiting.self_bands.0.kept"):
            data = fields.copy()
            data[key] = kept
            assert _save(editor, version_id, data).status_code == 400, (key, kept)
    assert _stored(db, version_id) == before


def test_a_band_error_is_in_chinese_in_its_cell_and_the_banner_links_to_it(
    editor: Any, db: Database, rules: None
) -> None:
    version_id, fields = _new_draft(editor)
    before = _stored(db, version_id)
    last = len(_bands(fields, BANDS)) - 1
    fields[f"{BANDS}.{last}.wait"] = "months"
    fields[f"{BANDS}.{last}.months"] = "0"  # waiting some months needs a number of months
    fields["flexible.unit_rate.value"] = "1.5"
    response = _save(editor, version_id, fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    banner = page[page.index('id="problems">') + len('id="problems">'): page.index("</ol>")]
    assert "共 2 处需要修改" in banner
    links = re.findall(r'href="#([^"]+)"', banner)
    assert links == ["f-flexible.unit_rate", f"f-{BANDS}.{last}"]
    for anchor in links:
        assert f'id="{anchor}"' in page
    row = page[page.index(f'id="f-{BANDS}.{last}"'):]
    assert "这种恢复方式需要填写月数（至少 1）" in row[: row.index("</tbody>")]
    assert not LATIN.search(re.sub(r"<[^>]+>", "", banner))
    assert _stored(db, version_id) == before


def test_every_schema_field_and_band_column_has_chinese_words() -> None:
    for spec in rule_form.all_fields():
        assert not LATIN.search(spec.label + spec.unit + spec.hint), spec.path
        assert not LATIN.search(labels.path_label(spec.path)), spec.path
        for choice in spec.choices:
            assert not LATIN.search(spec.choice_label(choice)), (spec.path, choice)
    for column in rule_form.BAND_COLUMNS:
        assert not LATIN.search(column.label), column.name
        for choice in column.choices:
            assert not LATIN.search(column.choice_label(choice)), (column.name, choice)


@pytest.mark.parametrize("reason", [
    "Input should be less than or equal to 1", "Input should be a valid integer, unable to parse string as an integer",
    "Input should be a valid decimal", "Input should be 'months' or 'days'", "Field required", "required",
    "Extra inputs are not permitted", "Value error, every figure needs a source: a seed id and quote, or a policy "
    "document", "Value error, wait = 'months' needs months >= 1", "figure has no source",
    "missing after inheritance (440300 → 440000 → national)",
    "Value error, invalid literal for int() with base 10: 'x'",
    "no published rules for 440000 (parent of 440300) on 2026-01-01", "something nobody foresaw",
])
def test_problem_reasons_come_out_in_chinese(reason: str) -> None:
    assert not LATIN.search(reason_in_chinese(reason))


def test_an_unforeseen_english_reason_is_not_shown() -> None:
    assert reason_in_chinese("something nobody foresaw") == UNKNOWN


def test_in_force_names_the_published_version_not_the_draft(
    app: Flask, editor: Any, db: Database, rules: None
) -> None:
    with db.reading() as session:
        published = session.execute(select(RuleVersion.version).where(RuleVersion.region_code == "440300")).scalar_one()
    version_id, fields = _new_draft(editor)
    shipped = fields["flexible.unit_rate.value"]
    fields["flexible.unit_rate.value"] = "0.10" if shipped != "0.10" else "0.11"
    assert _save(editor, version_id, fields).status_code == 302
    page = editor.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True)
    figure = page[page.index('id="f-flexible.unit_rate"'):]
    line = figure[figure.index("当前生效"): figure.index("</p>")]
    assert f"{shipped}（深圳市 {published} 版）" in line
    with db.reading() as session:
        draft = session.get(RuleVersion, version_id)
    assert draft.version not in line


def test_the_preview_compares_with_what_will_be_in_force_on_the_planned_day(
    app: Flask, editor: Any, db: Database, rules: None
) -> None:
    today = _today(app)
    with app.app_context():
        scheduled = create_draft(db, "440300", "staff:test", version="2026.9", today=today)
        text = parse_region(scheduled.toml_text).model_dump(mode="python", exclude_none=True)
        text["flexible"]["unit_rate"]["value"] = "0.09"
        update_draft(db, scheduled.id, toml_writer.dumps(text), "staff:test", today=today)
        publish(db, scheduled.id, today + timedelta(days=10), "staff:test", today=today)
    version_id, fields = _new_draft(editor)
    planned = today + timedelta(days=20)
    fields["effective_from"] = planned.isoformat()
    assert _save(editor, version_id, fields).status_code == 302
    page = editor.get(f"/admin/rules/versions/{version_id}").get_data(as_text=True)
    assert f"与 {planned.isoformat()} 生效版本（2026.9）的差异" in page
    assert f"预览：示例报价（{planned.isoformat()}）" in page
    editor_page = editor.get(f"/admin/rules/versions/{version_id}/edit").get_data(as_text=True)
    figure = editor_page[editor_page.index('id="f-flexible.unit_rate"'):]
    assert "0.09（深圳市 2026.9 版）" in figure[: figure.index("</p>")]


def test_a_planned_day_in_the_past_is_refused_at_its_field(app: Flask, editor: Any, db: Database, rules: None) -> None:
    version_id, fields = _new_draft(editor)
    fields["effective_from"] = (_today(app) - timedelta(days=1)).isoformat()
    page = _save(editor, version_id, fields).get_data(as_text=True)
    field = page[page.index('id="f-effective_from"'):]
    assert "不能早于今天" in field[: field.index("</label>")]
    with db.reading() as session:
        assert session.execute(select(RuleVersion.effective_from).where(RuleVersion.id == version_id)).scalar_one() \
            == _today(app)
