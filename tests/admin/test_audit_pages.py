"""The audit log page: searchable by actor, action, subject and dates; no way to change a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from miniservice import audit
from miniservice.audit.models import AuditEvent
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
    return [cell.split("</td>")[0] for cell in table.split("<td>")[4::5]]


def test_search_by_actor_action_subject_and_local_dates(viewer: Any, events: None) -> None:
    assert "rules.publish" in viewer.get("/admin/audit", query_string={"actor": "LI"}).get_data(as_text=True)
    assert _subjects(viewer, action="rules.") == ["440300@2026.1", "440300@2026.1"]
    assert _subjects(viewer, subject="person:") == ["person:#7"]
    assert _subjects(viewer, date_from="2025-07-01", date_to="2025-07-01") == ["sha256:abc"]
    assert _subjects(viewer, date_to="2025-06-30") == []


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
