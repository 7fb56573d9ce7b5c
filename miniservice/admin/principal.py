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

    @classmethod
    def of(cls, user: StaffUser) -> Staff:
        assert user.id is not None
        return cls(user.id, user.username, user.role)

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"staff:{self.username}"

    def get_id(self) -> str:
        return str(self.id)


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
