"""Staff accounts: creation, password sign-in with a lockout counted in the database.

Five wrong passwords lock an account for fifteen minutes. The count is kept on the account row and
raised with an atomic UPDATE, so parallel guesses on several web workers are all counted. An
unknown username costs the same password-hash time as a known one, so timing does not reveal
which usernames exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from miniservice import audit
from miniservice.admin.models import ROLES, StaffUser
from miniservice.clock import now_utc
from miniservice.db import Database, IntegrityError

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
PASSWORD_METHOD = "scrypt:32768:8:1"  # werkzeug's default cost, written out so it is a visible choice
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

ANONYMOUS = "web:anonymous"  # who tried a password is not known until it is right
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


class AccountError(ValueError):
    """A username, role or password that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class SignIn:
    """The outcome of a sign-in attempt: ``user`` when it succeeded, ``locked_until`` when locked."""

    user: StaffUser | None = None
    locked_until: datetime | None = None


def _hash(password: str) -> str:
    return generate_password_hash(password, PASSWORD_METHOD)


def has_role(role: str, needed: str) -> bool:
    """Roles are ordered: a publisher may edit, an editor may view."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def _check(username: str, role: str, password: str) -> None:
    if not (2 <= len(username) <= 64 and set(username) <= _USERNAME_CHARS):
        raise AccountError("username: 2–64 characters of a–z, 0–9, '.', '_' or '-'")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")


def create_user(db: Database, username: str, role: str, password: str, actor: str) -> StaffUser:
    """A new account; a taken username is an ``AccountError``."""
    _check(username, role, password)
    try:
        with db.transaction() as session:
            user = StaffUser(username=username, role=role, password_hash=_hash(password))
            session.add(user)
            session.flush()
            audit.record(session, actor, "staff.create", f"staff:{username}", role=role)
            return user
    except IntegrityError as exc:
        raise AccountError(f"username {username!r} is taken") from exc


def ensure_demo_user(db: Database, username: str) -> str:
    """The demo's publisher account with a fresh password (returned, printed once by ``demo``)."""
    password = secrets.token_urlsafe(12)
    with db.transaction() as session:
        user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        if user is None:
            session.add(StaffUser(username=username, role="publisher", password_hash=_hash(password)))
            audit.record(session, "system:demo", "staff.create", f"staff:{username}", role="publisher")
        else:
            user.password_hash, user.failed_logins, user.locked_until = _hash(password), 0, None
            audit.record(session, "system:demo", "staff.password_reset", f"staff:{username}")
    return password


def authenticate(db: Database, username: str, password: str) -> SignIn:
    """Check a password; count a failure, lock after ``MAX_FAILURES``, audit either way."""
    now = now_utc()
    with db.transaction() as session:
        user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
        if user is None or not user.active:
            check_password_hash(_DUMMY_HASH, password)
            audit.record(session, ANONYMOUS, "staff.login_failed", f"staff:{username[:64]}",
                         reason="unknown or inactive")
            return SignIn()
        if user.locked_until is not None and user.locked_until > now:
            audit.record(session, ANONYMOUS, "staff.login_refused", f"staff:{username}", reason="locked")
            return SignIn(locked_until=user.locked_until)
        if check_password_hash(user.password_hash, password):
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            audit.record(session, f"staff:{username}", "staff.login", f"staff:{username}")
            return SignIn(user=user)
        session.execute(update(StaffUser).where(StaffUser.id == user.id)
                        .values(failed_logins=StaffUser.failed_logins + 1)
                        .execution_options(synchronize_session=False))
        failures = session.execute(select(StaffUser.failed_logins).where(StaffUser.id == user.id)).scalar_one()
        audit.record(session, ANONYMOUS, "staff.login_failed", f"staff:{username}", failures=failures)
        if failures >= MAX_FAILURES:
            until = now + LOCKOUT
            session.execute(update(StaffUser).where(StaffUser.id == user.id)
                            .values(failed_logins=0, locked_until=until)
                            .execution_options(synchronize_session=False))
            audit.record(session, "system:admin", "staff.locked", f"staff:{username}", until=until.isoformat())
            return SignIn(locked_until=until)
        return SignIn()


def load_user(db: Database, user_id: int) -> StaffUser | None:
    """The active account with this id (Flask-Login's user loader)."""
    with db.reading() as session:
        user = session.get(StaffUser, user_id)
    return user if user is not None and user.active else None
