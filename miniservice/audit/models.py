"""The audit trail: append-only rows written in the same transaction as the change they describe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=128, index=True)  # "staff:alice", "citizen:#42", "system:reminders"
    action: str = Field(max_length=64, index=True)  # "binding.bind", "rules.publish", ...
    subject: str = Field(default="", max_length=200, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
