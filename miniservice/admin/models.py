"""Bureau staff who may sign in to ``/admin``, and the counters that limit password guessing.

``session_generation`` is part of every staff session's id: signing out raises it, so a copy of the
session cookie stops working everywhere at once. Failed sign-ins are counted in
:class:`SignInThrottle`, one row per account name and per client address, raised by one atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` so parallel guesses on every worker are all counted.
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
    session_generation: int = 0
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins of one scope (``account:<name>`` or ``client:<address>``) in a window."""

    __tablename__ = "sign_in_throttle"

    scope: str = Field(primary_key=True, max_length=160)
    failures: int = 0
    window_ends_at: datetime = Field(sa_type=UTCDateTime)
