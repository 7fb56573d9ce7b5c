"""Rule-version pages: region list, versions, draft editor, diff and preview, publish, rollback, import/export.

Views parse, authorise, call a :mod:`miniservice.rulebook.service` step and render; the steps own
their transactions and audit rows.
"""

from __future__ import annotations

import tomllib
from datetime import date
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import Session

from miniservice.admin import rule_form
from miniservice.admin.blueprint import bp
from miniservice.admin.forms import ConfirmForm, ImportForm, NewDraftForm, PublishForm, RollbackForm
from miniservice.admin.preview import citizen_impact, sample_comparison
from miniservice.admin.principal import requires
from miniservice.clock import local_today
from miniservice.db import get_db
from miniservice.rulebook import queries, service
from miniservice.rulebook.diff import canonical_text, field_diff, plain, text_diff
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.resolve import NoRulesInForce, preview_rules, rules_in_force, version_in_force
from miniservice.rules import toml_writer
from miniservice.rules.loading import RuleFileError
from miniservice.rules.schema import RegionRules

NOT_COMPARED = {"chain", "version", "effective_from", "notes", "code", "parent"}


def _today() -> date:
    return local_today(current_app.extensions["miniservice.settings"].timezone)


def _on_date() -> date:
    """``?on=YYYY-MM-DD`` lets staff look at another day; today by default."""
    try:
        return date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return _today()


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
    return render_template("admin/regions.html", regions=overview, today=today, import_form=ImportForm())


@bp.get("/rules/<code>")
def region(code: str) -> Any:
    today = _today()
    with get_db().reading() as session:
        versions = queries.versions_of(session, code)
        current = queries.region_status(session, code, today)
    if current is None:
        abort(404)
    rollback_form = RollbackForm(expected_version_id=current.latest_published.id if current.latest_published else "")
    return render_template("admin/region.html", region=current, versions=versions, today=today,
                           draft_form=NewDraftForm(), rollback_form=rollback_form)


@bp.post("/rules/<code>/drafts")
@requires("editor")
def new_draft(code: str) -> Any:
    form = NewDraftForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        draft = service.create_draft(get_db(), code, current_user.actor, version=form.version.data, today=_today())
    except service.RulebookError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.region", code=code))
    flash(f"已创建草稿 {draft.region_code}@{draft.version}。", "success")
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


@bp.route("/rules/versions/<int:version_id>/edit", methods=["GET", "POST"])
@requires("editor")
def edit_draft(version_id: int) -> Any:
    db = get_db()
    today = _today()
    with db.reading() as session:
        draft = _version(session, version_id)
        _, resolved, _problem = _resolved(session, draft, today)
    if draft.status != "draft":
        flash("只有草稿可以编辑。", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    own = tomllib.loads(draft.toml_text)
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    status = 200
    if request.method == "POST":
        header = {"code": draft.region_code, "effective_from": draft.effective_from}
        if draft.parent_code:
            header["parent"] = draft.parent_code
        raw, problems = rule_form.raw_from_form(request.form, header)
        if not problems:
            try:
                service.update_draft(db, version_id, toml_writer.dumps(raw), current_user.actor, today=today)
            except RuleFileError as exc:
                problems = exc.problems
            except service.RulebookError as exc:
                general.append(str(exc))
            else:
                flash("草稿已保存并通过校验。", "success")
                return redirect(url_for("admin.version_page", version_id=version_id))
        errors, more = rule_form.errors_by_field(problems)
        general += more
        values = request.form.to_dict()
        years = {s.path: rule_form.table_years(request.form, s.path) for s in rule_form.all_fields()
                 if s.kind == "table"}
        status = 422
    else:
        values, years = rule_form.initial_values(own)
    hints = rule_form.effective_hints(resolved) if resolved else {}
    return render_template("admin/draft_edit.html", draft=draft, groups=rule_form.schema_groups(), values=values,
                           years=years, hints=hints, errors=errors, general=general, form=ConfirmForm()), status


@bp.get("/rules/versions/<int:version_id>")
def version_page(version_id: int) -> Any:
    on = _on_date()
    with get_db().reading() as session:
        version = _version(session, version_id)
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
        "admin/version.html", version=version, active=active, on=on, today=_today(), changes=changes,
        diff_lines=lines, problem=problem, samples=samples, impact=impact,
        publish_form=PublishForm(effective_from=max(_today(), version.effective_from)), confirm_form=ConfirmForm(),
    )


@bp.post("/rules/versions/<int:version_id>/publish")
@requires("publisher")
def publish(version_id: int) -> Any:
    form = PublishForm()
    if not form.validate_on_submit():
        flash("请填写有效的生效日期。", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    try:
        version = service.publish(get_db(), version_id, form.effective_from.data, current_user.actor, today=_today())
    except (service.RulebookError, RuleFileError) as exc:
        flash(f"未发布：{exc}", "error")
        return redirect(url_for("admin.version_page", version_id=version_id))
    when = "今天起生效" if version.effective_from <= _today() else f"将于 {version.effective_from.isoformat()} 自动生效"
    flash(f"已发布 {version.region_code}@{version.version}，{when}。", "success")
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
    flash(f"已放弃草稿 {draft.region_code}@{draft.version}。", "info")
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
        flash(f"已回滚：{retired.region_code}@{retired.version} 已停用，上一版本重新生效。", "success")
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
        flash("请选择 TOML 文件或粘贴 TOML 文本。", "error")
        return redirect(url_for("admin.regions"))
    try:
        version, created = service.import_toml(get_db(), text, current_user.actor, today=_today())
    except RuleFileError as exc:
        return render_template("admin/import_failed.html", problems=exc.problems), 422
    except service.RulebookError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.regions"))
    if created:
        flash(f"已导入为草稿 {version.region_code}@{version.version}，请检查差异后发布。", "success")
    else:
        flash(f"内容与已有版本 {version.region_code}@{version.version} 相同，未重复导入。", "info")
    return redirect(url_for("admin.version_page", version_id=version.id))
