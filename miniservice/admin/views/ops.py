"""Is the service doing its job? The dashboard, and the records upload (the CLI's validated import, run
as a background job whose progress staff watch)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from miniservice import state
from miniservice.admin import audit_words, dashboard
from miniservice.admin.blueprint import bp
from miniservice.admin.charts import Series, bar_chart
from miniservice.admin.forms import UploadForm
from miniservice.admin.principal import requires
from miniservice.audit.models import AuditEvent
from miniservice.citizens import import_jobs
from miniservice.clock import local_today
from miniservice.db import get_db
from miniservice.payments.reconcile import payment_summary

SCHEMES = {"employee": "职工医保（在职）", "flexible": "职工医保（灵活就业）", "resident": "城乡居民医保",
           "retiree": "退休人员"}
REMINDER_COLORS = {"planned": ("计划", "#8c959f"), "sent": ("已发送", "#1a7f37"), "failed": ("失败", "#cf222e"),
                   "opted_out": ("已退订", "#9a6700")}


@bp.get("/", endpoint="dashboard")
def dashboard_page() -> Any:
    tz = state.settings().timezone
    today = local_today(tz)
    with get_db().reading() as session:
        bound = dashboard.bound_citizens(session)
        stages = dashboard.gaps_by_stage(session, today)
        passing = dashboard.passing_line_this_week(session, today)
        names = dashboard.region_names(session)
        reminders = dashboard.reminders_per_day(session, today)
        callbacks = dashboard.callbacks_per_hour(session, tz)
        errors = dashboard.recent_errors(session)
        checks = dashboard.messages_to_check(session)
        payments = payment_summary(session)
    reminder_chart = bar_chart(
        [day.strftime("%m-%d") for day in reminders.days],
        [Series(REMINDER_COLORS[name][0], REMINDER_COLORS[name][1], reminders.values[name])
         for name in dashboard.REMINDER_SERIES],
        "每日提醒：计划、已发送、失败、已退订", label_every=2)
    callback_chart = bar_chart(
        [hour.strftime("%H时") for hour in callbacks.hours],
        [Series("收到", "#0b6bcb", callbacks.received), Series("处理失败", "#cf222e", callbacks.failed)],
        "最近 24 小时每小时回调数", label_every=3)
    return render_template(
        "admin/dashboard.html", today=today, bound=bound, stages=stages, passing=passing, reminders=reminders,
        reminder_chart=reminder_chart, reminder_legend=REMINDER_COLORS, callbacks=callbacks,
        callback_chart=callback_chart, errors=errors, names=names, schemes=SCHEMES, checks=checks, payments=payments,
    )


@bp.get("/people/<int:person_id>")
def person_page(person_id: int) -> Any:
    """One citizen as staff may see them: masked identity, the open gap and what was done for them."""
    tz = state.settings().timezone
    today = local_today(tz)
    with get_db().reading() as session:
        person = dashboard.person_summary(session, person_id, today)
        if person is None:
            abort(404)
        names = dashboard.region_names(session)
        events = session.execute(
            select(AuditEvent).where(AuditEvent.subject == f"person:{person_id}").order_by(AuditEvent.id.desc())
            .limit(50)
        ).scalars().all()
    return render_template("admin/person.html", person=person, names=names, schemes=SCHEMES, today=today,
                           events=[audit_words.describe(event, tz, names) for event in events])


@bp.route("/records/upload", methods=["GET", "POST"])
@requires("editor")
def upload_records() -> Any:
    form = UploadForm()
    if form.validate_on_submit():
        job_id = import_jobs.queue_import(get_db(), form.file.data.read(), current_user.actor)
        import_jobs.start_import(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]
        return redirect(url_for("admin.import_job", job_id=job_id))
    return render_template("admin/upload.html", form=form), 400 if form.errors else 200


@bp.get("/records/imports/<int:job_id>")
@requires("editor")
def import_job(job_id: int) -> Any:
    """The job's progress; the page reloads itself (no script) until the job has ended."""
    job = import_jobs.job_view(get_db(), job_id)
    if job is None:
        abort(404)
    return render_template("admin/import_job.html", job=job), 422 if job.status == "failed" else 200
