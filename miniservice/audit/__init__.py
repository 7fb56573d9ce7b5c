"""Audit trail shared by every capability: who did what, when; never edited, never deleted.

Callers pass the session of the transaction that makes the change, so the audit row and the change
commit together. Details must never contain identity data in clear (use masked values or ids).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from miniservice.audit.models import AuditEvent


def record(session: Session, actor: str, action: str, subject: str = "", **details: Any) -> AuditEvent:
    event = AuditEvent(actor=actor, action=action, subject=subject, details=details)
    session.add(event)
    return event
