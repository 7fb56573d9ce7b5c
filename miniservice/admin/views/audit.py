"""The audit log, searchable and read-only: this module has no route that changes a row, by design."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request
from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from miniservice import state
from miniservice.admin.audit_words import describe, party
from miniservice.admin.blueprint import bp
from miniservice.admin.dashboard import region_names
from miniservice.admin.forms import AuditSearchForm
from miniservice.audit.models import AuditEvent
from miniservice.db import get_db

PAGE_SIZE = 50


@bp.app_template_filter("party")
def _party(code: str | None) -> str:
    """``staff:alice`` → 工作人员 alice, for every page that says who did something."""
    return party(code or "")


def _day_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(tz))


def audit_filters(form: AuditSearchForm, tz: str) -> list[ColumnElement[bool]]:
    """Conditions for the search: text fields match anywhere, case-insensitively; dates are local days."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((AuditEvent.actor, form.actor.data), (AuditEvent.action, form.action.data),
                          (AuditEvent.subject, form.subject.data)):
        if value and value.strip():
            conditions.append(column.icontains(value.strip(), autoescape=True))
    if form.date_from.data:
        conditions.append(AuditEvent.at >= _day_start(form.date_from.data, tz))
    if form.date_to.data:
        conditions.append(AuditEvent.at < _day_start(form.date_to.data + timedelta(days=1), tz))
    return conditions


def search(session: Session, conditions: list[ColumnElement[bool]], page: int) -> tuple[list[AuditEvent], int]:
    """One page of matches and the total; a page past the last is the last (an offset stays in range)."""
    total = session.execute(select(func.count()).select_from(AuditEvent).where(*conditions)).scalar_one()
    page = min(page, max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))
    rows = session.execute(
        select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).scalars().all()
    return list(rows), total


@bp.get("/audit")
def audit_log() -> Any:
    form = AuditSearchForm(request.args)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    tz = state.settings().timezone
    events: list[AuditEvent] = []
    total = 0
    names: dict[str, str] = {}
    if form.validate():
        with get_db().reading() as session:
            events, total = search(session, audit_filters(form, tz), page)
            names = region_names(session)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    query = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", form=form, events=[describe(e, tz, names) for e in events], total=total,
                           page=page, pages=pages, query=query)
