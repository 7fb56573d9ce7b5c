"""The app's shared objects, created once by the factory and reached through these accessors.

:func:`miniservice.app.create_app` builds each object (settings, database, identity vault, clock,
WeChat router and client …) and stores it in ``app.extensions``; code asks for it here by name
instead of spelling extension keys. Each accessor works inside a request, a CLI command, a
scheduler job or any ``app.app_context()``; passing ``app`` reads that app's object without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from miniservice.citizens.identity import IdentityVault
    from miniservice.clock import Clock
    from miniservice.config import Settings
    from miniservice.db import Database
    from miniservice.rules.contact import Contact
    from miniservice.wechat.router import Router

SETTINGS = "miniservice.settings"
DB = "miniservice.db"
VAULT = "miniservice.vault"
CLOCK = "miniservice.clock"
CONTACT = "miniservice.contact"
ROUTER = "miniservice.router"


def _get(key: str, app: Flask | None) -> Any:
    return (app or current_app).extensions[key]


def settings(app: Flask | None = None) -> Settings:
    return _get(SETTINGS, app)


def get_db(app: Flask | None = None) -> Database:
    """The app's database (one engine per process)."""
    return _get(DB, app)


def vault(app: Flask | None = None) -> IdentityVault:
    """Encrypts and hashes identity data with the app's keys."""
    return _get(VAULT, app)


def clock(app: Flask | None = None) -> Clock:
    """Today's date and the time, in the bureau's zone."""
    return _get(CLOCK, app)


def contact(app: Flask | None = None) -> Contact:
    """The national hotline, hours and windows, read from the rule files at start-up."""
    return _get(CONTACT, app)


def router(app: Flask | None = None) -> Router:
    """The WeChat router every feature's handlers were added to."""
    return _get(ROUTER, app)
