"""Records uploads as background jobs: the request stores the file and returns at once; a thread
checks and imports it while staff watch the job's page.

An 8 MB export takes longer than a web worker may hold a request, so the upload only writes an
:class:`~miniservice.citizens.models.ImportJob` row (with the file) and starts a thread. The row is
the progress every worker can read: ``queued`` → ``checking`` → ``writing`` (with the row count) →
``done`` or ``failed`` with the report. The import itself is :func:`import_records`, all or nothing.
A job is claimed with a conditional UPDATE, so it runs once even if started twice; the file is
cleared when the job ends.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import update

from miniservice import state
from miniservice.citizens.importing import ImportReport, import_records
from miniservice.citizens.models import ImportJob
from miniservice.clock import now_utc
from miniservice.db import Database

log = logging.getLogger(__name__)

FINISHED = ("done", "failed")
STALLED_AFTER = timedelta(minutes=15)  # longer than any import takes: the worker running it has died


@dataclass(frozen=True)
class JobView:
    """What the job page shows."""

    id: int
    status: str
    rows_total: int
    created_at: datetime
    finished_at: datetime | None
    summary: list[str]
    errors: list[tuple[int, str, str]]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def stalled(self) -> bool:
        return not self.finished and now_utc() - self.created_at > STALLED_AFTER


def queue_import(db: Database, data: bytes, actor: str) -> int:
    with db.transaction() as session:
        job = ImportJob(actor=actor, payload=data)
        session.add(job)
        session.flush()
        assert job.id is not None
        return job.id


def start_import(app: Flask, job_id: int) -> threading.Thread:
    """Run the job on a thread of this process (the request that queued it returns meanwhile)."""
    thread = threading.Thread(target=_run_in_app, args=(app, job_id), name=f"import-job-{job_id}", daemon=True)
    thread.start()
    return thread


def _run_in_app(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run_import(state.get_db(app), job_id)
        except Exception:
            log.exception("import job %s failed unexpectedly", job_id)
            _finish(state.get_db(app), job_id, "failed",
                    {"summary": ["导入中断，未写入任何数据。请稍后重新上传，或联系系统管理员。"], "errors": []})


def run_import(db: Database, job_id: int) -> bool:
    """Claim and run a queued job; False when it was not queued (already run or running)."""
    with db.transaction() as session:
        claimed = session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued")
                                  .values(status="checking").returning(ImportJob.payload, ImportJob.actor)).first()
    if claimed is None:
        return False
    payload, actor = claimed

    def checked(rows: int) -> None:
        with db.transaction() as session:
            session.execute(update(ImportJob).where(ImportJob.id == job_id)
                            .values(status="writing", rows_total=rows))

    report = import_records(db, payload or b"", actor, checked=checked)
    _finish(db, job_id, "done" if report.ok else "failed", _report_json(report))
    return True


def _report_json(report: ImportReport) -> dict[str, Any]:
    return {"summary": report.summary()[:1] if not report.ok else report.summary(),
            "errors": [[e.line, e.column, e.reason] for e in report.errors]}


def _finish(db: Database, job_id: int, status: str, report: dict[str, Any]) -> None:
    with db.transaction() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=status, payload=None, report=json.dumps(report, ensure_ascii=False), finished_at=now_utc()))


def job_view(db: Database, job_id: int) -> JobView | None:
    with db.reading() as session:
        job = session.get(ImportJob, job_id)
    if job is None:
        return None
    assert job.id is not None
    report = json.loads(job.report) if job.report else {"summary": [], "errors": []}
    return JobView(job.id, job.status, job.rows_total, job.created_at, job.finished_at, report["summary"],
                   [tuple(error) for error in report["errors"]])
