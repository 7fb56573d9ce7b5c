"""The audit log page: searchable by actor, action, subject and dates; no way to change a row."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice import audit
from miniservice.admin.audit_words import ACTIONS
from miniservice.audit.models import AuditEvent
from miniservice.citizens.attempts import LIMIT, AttemptLimiter, TooManyAttempts
from miniservice.clock import now_utc
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database


@pytest.fixture
def events(db: Database) -> None:
    with db.transaction() as session:
        audit.record(session, "staff:li", "rules.publish", "440300@2026.1", effective_from="2026-04-01")
        audit.record(session, "staff:wang", "rules.rollback", "440300@2026.1", restored="2025.1")
        audit.record(session, "citizen:#7", "binding.bind", "person:#7")
        old = AuditEvent(actor="system:import", action="records.import", subject="sha256:abc", details={"rows": 3},
                         at=datetime(2025, 6, 30, 17, 0, tzinfo=UTC))  # 2025-07-01 01:00 in Shanghai
        session.add(old)


def _subjects(client: Any, **query: str) -> list[str]:
    page = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    table = page[page.index('class="audit"'):]
    return [re.sub(r"<[^>]+>", "", cell.split("</td>")[0]) for cell in table.split("<td>")[4::5]]


def test_search_by_actor_action_subject_and_local_dates(viewer: Any, events: None) -> None:
    assert "<td>发布规则</td>" in viewer.get("/admin/audit", query_string={"actor": "LI"}).get_data(as_text=True)
    assert _subjects(viewer, action="rules.") == ["440300 2026.1 版规则", "440300 2026.1 版规则"]
    assert _subjects(viewer, subject="person:") == ["参保人 #7"]
    assert _subjects(viewer, date_from="2025-07-01", date_to="2025-07-01") == ["上传文件（校验码 abc）"]
    assert _subjects(viewer, date_to="2025-06-30") == []


def test_dates_are_typed_as_2026_12_25_and_anything_else_is_refused_in_chinese(viewer: Any, events: None) -> None:
    page = viewer.get("/admin/audit").get_data(as_text=True)
    box = re.search(r'<input[^>]*name="date_from"[^>]*>', page)
    assert box is not None
    box = box.group(0)
    assert 'type="text"' in box and 'placeholder="如 2026-12-25"' in box  # not the browser's own date box
    page = viewer.get("/admin/audit", query_string={"date_from": "12/02/2026"}).get_data(as_text=True)
    assert "起始日期：请重新选择或按 2026-01-01 这样的格式填写" in page and "Not a valid" not in page


def test_the_log_reads_in_chinese(viewer: Any, events: None) -> None:
    page = viewer.get("/admin/audit").get_data(as_text=True)
    table = re.sub(r"<[^>]+>", " ", page[page.index('class="audit"'):page.index("</table>")])
    for words in ("工作人员 li", "发布规则", "生效日期：2026-04-01", "回滚规则", "恢复版本： 2025.1", "参保人 #7",
                  "绑定身份", "导入参保记录", "行数：3"):
        assert words in table
    usernames = re.compile(r"\b(li|wang|test|viewer|editor|publisher|abc)\b")
    assert not re.search(r"[A-Za-z]{2,}", usernames.sub("", table[table.index("详情"):]))
    assert '<option value="rules.publish">' in page and "　发布规则</option>" in page


def _written_actions() -> set[str]:
    """Every action code the package passes to an audit ``record`` call (string constants and choices)."""
    found: set[str] = set()
    for path in (PROJECT_ROOT / "miniservice").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "record" \
                    and len(node.args) >= 3:
                found |= {c.value for c in ast.walk(node.args[2]) if isinstance(c, ast.Constant)
                          and isinstance(c.value, str)}
    return found


def test_every_action_the_service_records_has_a_chinese_name() -> None:
    written = _written_actions()
    assert {"binding.bind", "rules.publish", "binding.attempt_failed", "family.payment"} <= written
    assert written - ACTIONS.keys() == set()


def test_failed_and_refused_bind_attempts_are_in_the_log(app: Flask, viewer: Any, db: Database) -> None:
    limiter = AttemptLimiter(db)
    now = now_utc()
    with app.app_context():
        for _ in range(LIMIT):
            limiter.fail(limiter.reserve("o-guesser-0001", "hash-of-an-id", now), "mismatch", now)
        with pytest.raises(TooManyAttempts):
            limiter.reserve("o-guesser-0001", "hash-of-an-id", now)
    with db.reading() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action.like("binding.attempt%"))
                               .order_by(AuditEvent.id)).scalars().all()
    assert [r.action for r in rows] == ["binding.attempt_failed"] * LIMIT + ["binding.attempt_refused"]
    assert [r.details.get("remaining") for r in rows[:LIMIT]] == [4, 3, 2, 1, 0]
    assert all("hash-of-an-id" not in str(r.details) + r.subject for r in rows)
    page = viewer.get("/admin/audit", query_string={"action": "binding."}).get_data(as_text=True)
    assert page.count("<td>绑定失败（信息不符）</td>") == LIMIT and "绑定被拒（尝试次数过多）" in page
    assert "微信用户 o-gues…" in page and "原因：信息与登记不符" in page and "o-guesser-0001" not in page


def test_a_search_pattern_is_text_not_a_wildcard(viewer: Any, events: None) -> None:
    assert _subjects(viewer, subject="%") == []


def test_the_audit_log_has_no_route_that_changes_it(app: Flask, publisher: Any, events: None) -> None:
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule or "audit" in rule.endpoint]
    assert audit_rules
    assert all(rule.methods <= {"GET", "HEAD", "OPTIONS"} for rule in audit_rules)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(publisher, method)("/admin/audit").status_code == 405
    for suffix in ("/1", "/1/edit", "/1/delete"):
        assert publisher.post("/admin/audit" + suffix).status_code in (400, 404, 405)
