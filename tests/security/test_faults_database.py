"""Finding 6: a database failure while a WeChat delivery is handled records nothing, so WeChat's retry
runs the action; only a handler's own bug is recorded as failed (and its polite reply repeated)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from miniservice.audit.models import AuditEvent
from miniservice.db import Database
from miniservice.devtools.simulator import Simulator, text_xml
from miniservice.wechat.deliveries import FAILURE_REPLY
from miniservice.wechat.models import Follower, InboundDelivery

OPENID = "o-faults-db"


@contextmanager
def failing_once(db: Database, statement_start: str, error: type[BaseException] | None = None) -> Iterator[None]:
    """The next statement starting with ``statement_start`` fails: by default as the database driver
    fails when the server drops the connection (SQLAlchemy wraps it as ``OperationalError``)."""
    armed = [True]

    def fail(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if armed[0] and statement.lstrip().upper().startswith(statement_start):
            armed[0] = False
            raise (error or db.engine.dialect.loaded_dbapi.OperationalError)("server closed the connection")

    event.listen(db.engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", fail)


def _state(db: Database) -> tuple[list[tuple[str, bool]], bool | None, int]:
    with db.reading() as session:
        deliveries = [(d.msg_type, d.failed) for d in session.execute(
            select(InboundDelivery).where(InboundDelivery.openid == OPENID)).scalars()]
        enabled = session.execute(
            select(Follower.reminders_enabled).where(Follower.openid == OPENID)).scalar_one_or_none()
        audits = len(session.execute(select(AuditEvent).where(AuditEvent.action == "reminders.off")).all())
    return deliveries, enabled, audits


def test_a_database_failure_records_nothing_and_the_retry_runs_the_action(
    aes_simulator: Simulator, db: Database
) -> None:
    aes_simulator.subscribe(OPENID)
    before = _state(db)
    message = text_xml(aes_simulator.account, OPENID, "退订提醒", msg_id=880001)
    with failing_once(db, "INSERT INTO AUDIT"):
        first = aes_simulator.send_xml(message)
    assert first.status == 503 and not first.acknowledged  # WeChat will deliver it again
    assert _state(db) == before  # no delivery, no change, no audit row
    retry = aes_simulator.send_xml(message)
    assert retry.status == 200 and "已为您关闭断缴提醒" in (retry.content or "")
    deliveries, enabled, audits = _state(db)
    assert (deliveries[-1], enabled, audits) == (("text", False), False, 1)
    assert len(deliveries) == len(before[0]) + 1


def test_a_handler_bug_is_recorded_as_failed_and_its_reply_repeated(aes_simulator: Simulator, db: Database) -> None:
    aes_simulator.subscribe(OPENID)
    message = text_xml(aes_simulator.account, OPENID, "退订提醒", msg_id=880002)
    with failing_once(db, "INSERT INTO AUDIT", error=ValueError):
        first = aes_simulator.send_xml(message)
    assert first.status == 200 and first.content == FAILURE_REPLY
    retry = aes_simulator.send_xml(message)
    assert retry.content == FAILURE_REPLY
    deliveries, enabled, audits = _state(db)
    assert (deliveries[-1], enabled, audits) == (("text", True), True, 0)
