"""The signed-in staff member as Flask-Login sees them: a plain value, never a live database row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import UserMixin, current_user

from miniservice.admin.accounts import has_role
from miniservice.admin.models import StaffUser

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Staff(UserMixin):
    id: int
    username: str
    role: str
    generation: int

    @classmethod
    def of(cls, user: StaffUser) -> Staff:
        assert user.id is not None
        return cls(user.id, user.username, user.role, user.session_generation)

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"staff:{self.username}"

    def get_id(self) -> str:
        """What the session keeps: the account and the generation it signed in under."""
        return f"{self.id}:{self.generation}"

    @staticmethod
    def parse_id(session_id: str) -> tuple[int, int] | None:
        user_id, _, generation = session_id.partition(":")
        if not (user_id.isdigit() and generation.isdigit() and len(session_id) <= 24):
            return None
        return int(user_id), int(generation)


def requires(role: str) -> Callable[[F], F]:
    """The view answers 403 to staff below ``role`` (viewer < editor < publisher)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not (current_user.is_authenticated and has_role(current_user.role, role)):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
