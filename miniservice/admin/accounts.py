"""Staff accounts: creation, password sign-in with a lockout counted in the database, sign-out.

Every attempt is *counted before the password is checked*, per account name and per client
address, with one atomic upsert each (:class:`~miniservice.admin.models.SignInThrottle`): thirty
parallel guesses count thirty, and only those under the limit reach the password check. Five
failures on a name, or twenty from one address, lock it for fifteen minutes. A name is counted
whether or not an account has it, and an unknown name costs the same hash time, so neither the
answer nor its timing tells which usernames exist. Signing out raises the account's session
generation: every copy of that session's cookie stops working.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from miniservice import audit
from miniservice.admin.models import ROLES, SignInThrottle, StaffUser
from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime
from miniservice.db import Database, IntegrityError

MAX_FAILURES = 5  # per account name
CLIENT_MAX_FAILURES = 20  # per client address: one office behind one address may mistype now and then
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
    """The outcome of a sign-in attempt: ``user`` when it succeeded, ``locked_until`` when locked
    (for an unknown name exactly as for a known one)."""

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
            user.password_hash = _hash(password)
            user.session_generation += 1
            audit.record(session, "system:demo", "staff.password_reset", f"staff:{username}")
        session.execute(update(SignInThrottle).where(SignInThrottle.scope == _account_scope(username))
                        .values(failures=0))
    return password


def _account_scope(username: str) -> str:
    return f"account:{username.lower()[:64]}"


def _limits(username: str, client: str) -> dict[str, int]:
    return {_account_scope(username): MAX_FAILURES, f"client:{client[:64]}": CLIENT_MAX_FAILURES}


def _count(session: Session, scope: str, now: datetime) -> tuple[int, datetime]:
    """One more attempt for ``scope``, atomically; (attempts in the window, when the window ends)."""
    table = SignInThrottle.__table__  # type: ignore[attr-defined]
    at = bindparam("now", now, type_=UTCDateTime())
    ends = bindparam("ends", now + LOCKOUT, type_=UTCDateTime())
    expired = table.c.window_ends_at <= at
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(table).values(scope=scope, failures=1, window_ends_at=ends)
        .on_conflict_do_update(index_elements=[table.c.scope], set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_ends_at": case((expired, ends), else_=table.c.window_ends_at),
        })
        .returning(table.c.failures, table.c.window_ends_at)
    )
    failures, window_ends_at = session.execute(statement).one()
    return failures, window_ends_at


def authenticate(db: Database, username: str, password: str, client: str) -> SignIn:
    """Count the attempt, then (under the limits) check the password; audit either way."""
    now = now_utc()
    limits = _limits(username, client)
    with db.transaction() as session:
        counted = {scope: _count(session, scope, now) for scope in limits}
    over = [ends for scope, (failures, ends) in counted.items() if failures > limits[scope]]
    if over:
        with db.transaction() as session:
            audit.record(session, ANONYMOUS, "staff.login_refused", f"staff:{username[:64]}", reason="locked")
        return SignIn(locked_until=max(over))
    with db.reading() as session:
        user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    right = check_password_hash(stored, password) and stored is not _DUMMY_HASH
    with db.transaction() as session:
        if right and user is not None:
            session.execute(update(SignInThrottle).where(SignInThrottle.scope.in_(limits), SignInThrottle.failures > 0)
                            .values(failures=SignInThrottle.failures - 1))  # a right password is no failure
            session.execute(update(StaffUser).where(StaffUser.id == user.id).values(last_login_at=now))
            audit.record(session, f"staff:{username}", "staff.login", f"staff:{username}")
            return SignIn(user=user)
        audit.record(session, ANONYMOUS, "staff.login_failed", f"staff:{username[:64]}",
                     failures=counted[_account_scope(username)][0])
        full = [scope for scope, (failures, _) in counted.items() if failures == limits[scope]]
        if not full:
            return SignIn()
        until = now + LOCKOUT
        session.execute(update(SignInThrottle).where(SignInThrottle.scope.in_(full)).values(window_ends_at=until))
        audit.record(session, "system:admin", "staff.locked", f"staff:{username[:64]}", until=until.isoformat(),
                     scopes=[scope.split(":", 1)[0] for scope in full])
        return SignIn(locked_until=until)


def end_sessions(db: Database, user_id: int, actor: str) -> None:
    """Sign out everywhere: sessions carry the generation they were made in, and it moves on."""
    with db.transaction() as session:
        session.execute(update(StaffUser).where(StaffUser.id == user_id)
                        .values(session_generation=StaffUser.session_generation + 1))
        audit.record(session, actor, "staff.logout", actor)


def load_user(db: Database, user_id: int, generation: int) -> StaffUser | None:
    """The active account with this id whose sessions of ``generation`` are still valid (Flask-Login's
    user loader): a session from before a sign-out finds no one."""
    with db.reading() as session:
        user = session.get(StaffUser, user_id)
    if user is None or not user.active or user.session_generation != generation:
        return None
    return user
