"""miniservice: the back end of a social-security bureau's WeChat official account.

The package itself imports nothing, so that ``import miniservice.rules.quote`` stays pure and fast (no
Flask, no SQLAlchemy); ``miniservice.create_app`` is the application factory of :mod:`miniservice.app`,
loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from miniservice.app import create_app

        return create_app
    raise AttributeError(f"module 'miniservice' has no attribute {name!r}")
