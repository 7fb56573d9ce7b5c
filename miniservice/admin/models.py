"""Bureau staff who may sign in to ``/admin``.

Failed sign-ins are counted on the row itself (an atomic ``UPDATE … SET failed_logins + 1``), so
the lockout holds across every web worker and restart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime

ROLES = ("viewer", "editor", "publisher")


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'editor', 'publisher')", name="ck_staff_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
