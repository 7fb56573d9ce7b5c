"""The application factory.

``create_app`` is the one way to build the service, for gunicorn (``wsgi.py``), the CLI, the
scheduler process and the tests alike.
"""

from __future__ import annotations

import atexit
import importlib
import logging
from typing import Any

from flask import Flask, current_app, render_template

from miniservice.citizens.redaction import install_redaction
from miniservice.config import TEMPLATES_DIR, Settings, load_settings
from miniservice.db import Database
from miniservice.errors import install_error_pages
from miniservice.hardening import install_security_headers, install_url_converters, trust_proxies
from miniservice.redis_store import redis_client
from miniservice.rulebook.resolve import NoRulesInForce
from miniservice.rules.contact import national_contact
from miniservice.wechat.deliveries import SeenStamps
from miniservice.wechat.replay import NonceBook
from miniservice.wechat.router import Router, router

# Capabilities that answer WeChat messages register their handlers when imported.
HANDLER_MODULES = (
    "miniservice.wechat.wechat_handlers",
    "miniservice.family.wechat_handlers",
    "miniservice.citizens.wechat_handlers",
    "miniservice.reminders.wechat_handlers",
    "miniservice.quotes.wechat_handlers",
)

# (module, blueprint attribute) for every blueprint; each module keeps its views thin.
BLUEPRINTS = (
    ("miniservice.wechat.callback", "bp"),
    ("miniservice.wechat.oauth", "bp"),
    ("miniservice.family.views", "bp"),
    ("miniservice.citizens.views", "bp"),
    ("miniservice.admin.blueprint", "bp"),
    ("miniservice.quotes.views", "bp"),
    ("miniservice.quotes.api", "bp"),
    ("miniservice.payments.views", "bp"),
)

DEMO_BLUEPRINTS = (("miniservice.devtools.views", "bp"),)


def load_handlers() -> Router:
    """The router with every capability's handlers registered (they register when imported)."""
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return router


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; ``overrides`` replace individual settings (tests, the demo)."""
    settings: Settings = load_settings()
    if overrides:
        settings = settings.with_overrides(overrides)
    app = Flask(
        "miniservice",
        template_folder=str(TEMPLATES_DIR),
        instance_path=str(settings.instance_dir),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        TESTING=settings.env == "test",
    )
    app.extensions["miniservice.settings"] = settings
    contact = national_contact(settings.policies_dir)
    app.extensions["miniservice.contact"] = contact
    app.jinja_env.globals.update(hotline=contact.hotline, hotline_hours=contact.hours)
    db = Database(settings.database_url)
    app.extensions["miniservice.db"] = db

    from miniservice.wechat.client import build_client

    app.extensions["miniservice.wechat_client"] = build_client(settings, db)
    app.extensions["miniservice.seen"] = seen = SeenStamps()
    atexit.register(seen.flush_at_exit, db)  # a worker that stops writes the stamps it still holds
    app.extensions["miniservice.nonces"] = NonceBook(
        db, redis_client(settings.redis_url) if settings.redis_url else None, settings.wechat_app_id)

    load_handlers()
    install_url_converters(app)
    install_error_pages(app)
    install_security_headers(app, production=settings.is_production)
    trust_proxies(app, settings.proxy_hops)
    blueprints = BLUEPRINTS + (DEMO_BLUEPRINTS if settings.env == "demo" else ())
    for module, attribute in blueprints:
        app.register_blueprint(getattr(importlib.import_module(module), attribute))
    app.register_error_handler(NoRulesInForce, _rules_not_published)
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # Identity data must never reach a log, whoever logs it: mask it on every handler's way out.
    install_redaction(logging.getLogger(), app.logger)
    return app


def _rules_not_published(error: NoRulesInForce) -> tuple[str, int]:
    """No published rule version covers the region and date: say so rather than guess figures."""
    logging.getLogger(__name__).error("no rules in force: %s (run `miniservice policies load`)", error)
    hotline = current_app.extensions["miniservice.contact"].hotline
    message = f"本地区医保政策规则暂未发布，请稍后再试或拨打 {hotline} 咨询。"
    return render_template("h5/error.html", message=message), 503
