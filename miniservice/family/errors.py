"""The one error a family service raises for bad input: its text is shown to the citizen as is."""

from __future__ import annotations


class FamilyError(ValueError):
    """Refused input; ``str(exc)`` is a Chinese sentence for the citizen, ``status`` the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
