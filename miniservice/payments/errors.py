"""The one error a citizen-facing payment step raises: a Chinese message and an HTTP status."""

from __future__ import annotations


class PayError(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
