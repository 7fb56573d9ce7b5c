"""Rule-version pages: region list, versions, draft editor, diff and preview, publish, rollback, import/export.

Views parse, authorise, call a :mod:`miniservice.rulebook.service` step and render; the steps own
their transactions and audit rows.
"""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import Session

from miniservice import state
from miniservice.admin import labels, rule_form
from miniservice.admin.blueprint import bp
from miniservice.admin.dashboard import region_names
from miniservice.admin.forms import ConfirmForm, ImportForm, NewDraftForm, PublishForm, RollbackForm
from miniservice.admin.messages import reason_in_chinese, where_in_chinese
from miniservice.admin.preview import citizen_impact, sample_comparison
from miniservice.admin.principal import requires
from miniservice.db import get_db
from miniservice.rulebook import queries, service
from miniservice.rulebook.diff import canonical_text, field_diff, plain, text_diff
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import NoRulesInForce, preview_rules, rules_in_force, version_in_force
from miniservice.rules import toml_writer
from miniservice.rules.loading import Problem, RuleFileError
from miniservice.rules.schema import RegionRules
from miniservice.rules.sources import default_registry

PART_LABELS = {"source": "来源（政策文件或文章）", "quote": "原文句子", "note": "备注（可不填）"}
NOT_COMPARED = {"chain", "version", "effective_from", "notes", "code", "parent"}


def _named(version: RuleVersion) -> str:
    """A version as staff name it: 深圳市 2026.1 版."""
    return f"{version.region_name} {version.version} 版"


def _on_date(default: date | None = None) -> date:
    """``?on=YYYY-MM-DD`` lets staff look at another day; ``default`` (today unless given) otherwise."""
    try:
        return date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return default or state.clock().today()


def _version(session: Session, version_id: int) -> RuleVersion:
    try:
        return queries.get_version(session, version_id)
    except queries.VersionNotFound:
        abort(404)


@bp.get("/rules")
def regions() -> Any:
    today = _on_date()
    with get_db().reading() as session:
        overview = queries.regions_overview(session, today)
        names = region_names(session)
    return render_template("admin/regions.html", regions=overview, today=today, import_form=ImportForm(), names=names)


@bp.get("/rules/<code>")
def region(code: str) -> Any:
    today = state.clock().today()
    with get_db().reading() as session:
        versions = queries.versions_of(session, code)
        current = queries.region_status(session, code, today)
        names = region_names(session)
    if current is None:
        abort(404)
    rollback_form = RollbackForm(expected_version_id=current.latest_published.id if current.latest_published else "")
    return render_template("admin/region.html", region=current, versions=versions, today=today, names=names,
                           draft_form=NewDraftForm(), rollback_form=rollback_form)


@bp.post("/rules/<code>/drafts")
@requires("editor")
def new_draft(code: str) -> Any:
    form = NewDraftForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        draft = service.create_draft(get_db(), code, current_user.actor, version=form.version.data,
                                     today=state.clock().today())
    except service.RulebookError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.region", code=code))
    flash(f"已创建草稿：{_named(draft)}。", "success")
    return redirect(url_for("admin.edit_draft", version_id=draft.id))


def _resolved(session: Session, version: RuleVersion, on: date) -> tuple[RegionRules | None, RegionRules | None, str]:
    """(in force, with this version) on ``on``, and a problem text if the version does not resolve."""
    try:
        old: RegionRules | None = rules_in_force(session, version.region_code, on)
    except NoRulesInForce:
        old = None
    try:
        return old, preview_rules(session, version.region_code, on, {version.region_code: version}), ""
    except (RuleFileError, NoRulesInForce) as exc:
        return old, None, str(exc)


def _draft_day(draft: RuleVersion, today: date) -> date:
    """The day a draft is meant to take effect: its planned date, or today once that has passed."""
    return max(today, draft.effective_from)


def _planned_day(text: str, today: date) -> tuple[date | str, list[Problem]]:
    """The planned effective date typed in the editor, and a problem if it cannot be used."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return text.strip(), [Problem("form", "effective_from", "请按 2026-01-01 这样的格式填写日期")]
    if day < today:
        return day, [Problem("form", "effective_from", f"不能早于今天（{today.isoformat()}）：已过去的日期不能生效")]
    return day, []


@bp.route("/rules/versions/<int:version_id>/edit", methods=["GET", "POST"])
@requires("editor")
def edit_draft(version_id: int) -> Any:
    db = get_db()
    today = state.clock().today()
    with db.reading() as session:
        draft = _version(session, version_id)
        in_force, _, _problem = _resolved(session, draft, _draft_day(draft, today))
        names = region_names(session)
    if draft.status != "draft":
        flash("只有草稿可以编辑。", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    errors: dict[str, list[str]] = {}
    listed: list[rule_form.FieldError] = []
    bands = rule_form.bands_in_force(in_force) if in_force else {}
    status, focus = 200, ""
    if request.method == "GET":
        values, years, rows = rule_form.initial_values(tomllib.loads(draft.toml_text))
        values["effective_from"] = _draft_day(draft, today).isoformat()
    elif action := request.form.get("row_action"):
        values, years, rows = rule_form.shown_values(request.form, keep_blank_rows=True)
        try:
            table, row = rule_form.apply_row_action(values, rows, action, bands)
        except rule_form.RowActionError:
            abort(400)
        focus = f"{table}.{row}"
    else:
        day, problems = _planned_day(request.form.get("effective_from", ""), today)
        header = {"code": draft.region_code, "effective_from": day}
        if draft.parent_code:
            header["parent"] = draft.parent_code
        try:
            raw = rule_form.raw_from_form(request.form, header)
        except rule_form.FormTampered:
            abort(400)
        if not problems:
            try:
                service.update_draft(db, version_id, toml_writer.dumps(raw), current_user.actor,
                                     today=day if isinstance(day, date) else today)
            except RuleFileError as exc:
                problems = exc.problems
            except service.RulebookError as exc:
                problems = [Problem("form", "", str(exc))]
            else:
                flash("草稿已保存并通过校验。", "success")
                return redirect(url_for("admin.version_page", version_id=version_id))
        errors, listed = rule_form.errors_by_field(problems)
        values, years, rows = rule_form.shown_values(request.form, keep_blank_rows=False)
        status = 422
    hints = rule_form.effective_hints(in_force, names) if in_force else {}
    return render_template("admin/draft_edit.html", draft=draft, groups=rule_form.schema_groups(), values=values,
                           years=years, rows=rows, columns=rule_form.BAND_COLUMNS, hints=hints, errors=errors,
                           flagged=rule_form.flagged(errors), listed=listed, focus=focus,
                           parent_name=names.get(draft.parent_code or "", ""), text_parts=rule_form.SOURCED_TEXT,
                           part_labels=PART_LABELS, source_groups=rule_form.source_groups(default_registry()),
                           registry=default_registry(), form=ConfirmForm()), status


@bp.get("/rules/versions/<int:version_id>")
def version_page(version_id: int) -> Any:
    """A version, its differences and (for a draft) the preview, on its planned day unless ``?on=`` says."""
    with get_db().reading() as session:
        version = _version(session, version_id)
        on = _on_date(_draft_day(version, state.clock().today()) if version.status == "draft" else None)
        active = version_in_force(session, version.region_code, on)
        old, new, problem = _resolved(session, version, on)
        changes = field_diff(plain(old, NOT_COMPARED), plain(new, NOT_COMPARED)) if old and new else []
        lines = text_diff(canonical_text(active), canonical_text(version), f"{active.region_code}@{active.version}",
                          f"{version.region_code}@{version.version}") if active and active.id != version.id else []
        samples = impact = None
        if version.status == "draft" and old and new:
            samples = sample_comparison(session, version, on)
            impact = citizen_impact(session, version, on)
    return render_template(
        "admin/version.html", version=version, active=active, on=on, today=state.clock().today(), changes=changes,
        diff_lines=lines, problem=problem, samples=samples, impact=impact, label=labels.path_label,
        value_words=labels.value_words, registry=default_registry(),
        publish_form=PublishForm(effective_from=max(state.clock().today(), version.effective_from)),
        confirm_form=ConfirmForm(),
    )


@bp.post("/rules/versions/<int:version_id>/publish")
@requires("publisher")
def publish(version_id: int) -> Any:
    form = PublishForm()
    if not form.validate_on_submit():
        flash("请填写有效的生效日期。", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    try:
        version = service.publish(get_db(), version_id, form.effective_from.data, current_user.actor,
                                  today=state.clock().today())
    except service.RulebookError as exc:
        flash(f"未发布：{exc}", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    except RuleFileError as exc:
        reasons = "；".join(f"{where_in_chinese(p.field)}：{reason_in_chinese(p.reason)}" for p in exc.problems)
        flash(f"未发布：{reasons}", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    starts = version.effective_from
    when = "今天起生效" if starts <= state.clock().today() else f"将于 {starts.isoformat()} 自动生效"
    flash(f"已发布 {_named(version)}，{when}。", "success")
    return redirect(url_for("admin.region", code=version.region_code))


@bp.post("/rules/versions/<int:version_id>/discard")
@requires("editor")
def discard(version_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        draft = service.discard_draft(get_db(), version_id, current_user.actor)
    except service.RulebookError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    flash(f"已放弃草稿：{_named(draft)}。", "info")
    return redirect(url_for("admin.region", code=draft.region_code))


@bp.post("/rules/<code>/rollback")
@requires("publisher")
def rollback(code: str) -> Any:
    form = RollbackForm()
    if not form.validate_on_submit() or not form.expected_version_id.data.isdigit():
        abort(400)
    try:
        retired = service.rollback(get_db(), code, current_user.actor, int(form.expected_version_id.data))
    except service.RulebookError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已回滚：{_named(retired)} 已停用，上一版本重新生效。", "success")
    return redirect(url_for("admin.region", code=code))


@bp.get("/rules/versions/<int:version_id>/export")
def export(version_id: int) -> Any:
    with get_db().reading() as session:
        version = _version(session, version_id)
    return Response(version.toml_text, mimetype="text/plain",
                    headers={"Content-Disposition": f'attachment; filename="{version.filename}"'})


@bp.post("/rules/import")
@requires("editor")
def import_version() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    text = upload.read().decode("utf-8", errors="replace") if upload else (form.text.data or "")
    if not text.strip():
        flash("请选择规则文件或粘贴规则文件的文本。", "error")
        return redirect(url_for("admin.regions"))
    try:
        version, created = service.import_toml(get_db(), text, current_user.actor, today=state.clock().today())
    except RuleFileError as exc:
        return render_template("admin/import_failed.html", problems=exc.problems, where=where_in_chinese,
                               reason=reason_in_chinese), 422
    except service.RulebookError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.regions"))
    if created:
        flash(f"已导入为草稿：{_named(version)}，请检查差异后发布。", "success")
    else:
        flash(f"内容与已有版本 {_named(version)} 相同，未重复导入。", "info")
    return redirect(url_for("admin.version_page", version_id=version.id))
