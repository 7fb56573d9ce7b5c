"""The application factory.

``create_app`` is the one way to build the service, for gunicorn (``wsgi.py``), the CLI, the
scheduler process and the tests alike. It creates the app's shared objects (reached through
:mod:`miniservice.state`), then lets each feature add what it brings — blueprints, WeChat handlers,
commands — through its ``init_app``, named here one by one so a reader sees the whole service.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from flask import Flask, render_template

from miniservice import (
    admin,
    citizens,
    devtools,
    family,
    messages,
    outbox,
    payments,
    quotes,
    reminders,
    rulebook,
    state,
    wechat,
)
from miniservice.citizens import attempts as binding_limiter
from miniservice.citizens import wechat_handlers as citizens_answers
from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.redaction import install_redaction
from miniservice.clock import Clock
from miniservice.config import TEMPLATES_DIR, Settings, load_settings
from miniservice.db import Database
from miniservice.errors import install_error_pages
from miniservice.family import wechat_handlers as family_answers
from miniservice.hardening import install_security_headers, install_url_converters, trust_proxies
from miniservice.quotes import wechat_handlers as quotes_answers
from miniservice.redis_store import redis_client
from miniservice.reminders import service as reminder_service
from miniservice.reminders import wechat_handlers as reminders_answers
from miniservice.reminders.rate import limiter_for
from miniservice.rulebook.resolve import NoRulesInForce
from miniservice.rules.contact import national_contact
from miniservice.wechat import wechat_handlers as wechat_answers
from miniservice.wechat.deliveries import SeenStamps
from miniservice.wechat.menu import click_keys, load_menu
from miniservice.wechat.replay import NonceBook
from miniservice.wechat.router import Router


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
    _create_state(app, settings)
    install_url_converters(app)
    install_error_pages(app)
    install_security_headers(app, production=settings.is_production)
    trust_proxies(app, settings.proxy_hops)

    # Each feature adds its blueprints, WeChat handlers and commands. ``payments`` comes before
    # ``admin``: its staff pages join the admin blueprint, which takes no routes once registered.
    wechat.init_app(app)
    citizens.init_app(app)
    family.init_app(app)
    quotes.init_app(app)
    reminders.init_app(app)
    payments.init_app(app)
    admin.init_app(app)
    rulebook.init_app(app)
    outbox.init_app(app)
    devtools.init_app(app)
    state.router(app).check_menu(set(click_keys(load_menu(settings.public_base_url))))

    app.register_error_handler(NoRulesInForce, _rules_not_published)
    if not app.debug:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # Identity data must never reach a log, whoever logs it: mask it on every handler's way out.
    install_redaction(logging.getLogger(), app.logger)
    return app


def _create_state(app: Flask, settings: Settings) -> None:
    """Every object the app shares between requests, commands and jobs, created once, here."""
    from miniservice.wechat.client import build_client

    contact = national_contact(settings.policies_dir)
    app.jinja_env.globals.update(hotline=contact.hotline, hotline_hours=contact.hours)
    db = Database(settings.database_url)
    seen = SeenStamps()
    atexit.register(seen.flush_at_exit, db)  # a worker that stops writes the stamps it still holds
    redis = redis_client(settings.redis_url) if settings.redis_url else None
    app.extensions.update({
        state.SETTINGS: settings,
        state.CONTACT: contact,
        state.DB: db,
        state.VAULT: IdentityVault(settings.data_key or None, data_keys=settings.data_keys,
                                   lookup_keys=settings.lookup_keys),
        state.CLOCK: Clock(settings.timezone),
        state.ROUTER: Router(),
        "miniservice.wechat_client": build_client(settings, db),
        "miniservice.seen": seen,
        "miniservice.nonces": NonceBook(db, redis, settings.wechat_app_id),
        binding_limiter.LIMITER_KEY: binding_limiter.AttemptLimiter(db, redis),
        reminder_service.LIMITER_KEY: limiter_for(settings.redis_url, settings.wechat_app_id,
                                                  settings.reminder_rate_per_second),
        messages.ENV_KEY: messages.message_env(app),
    })


# What citizens and staff reach: the WeChat replies (compiled in the messages' own environment) and
# the H5 and admin pages. The demo's templates need the demo's filters and are left to first use.
SERVED_TEMPLATES = {"messages/": messages.ENV_KEY, "h5/": None, "admin/": None}


def compile_templates(app: Flask) -> int:
    """Compile every served template now, as a server process starts; the number compiled.

    Jinja compiles a template on its first use in each process: each gunicorn worker's first 补缴测算
    compiled ``quote.txt`` and the phrases it imports, tens of milliseconds on that citizen's reply and
    a twentieth of a worker's first minute of taps (docs/performance.md). ``wsgi.py`` calls this.
    """
    compiled = 0
    for name in app.jinja_env.list_templates():
        for prefix, env_key in SERVED_TEMPLATES.items():
            if name.startswith(prefix):
                (app.extensions[env_key] if env_key else app.jinja_env).get_template(name)
                compiled += 1
    return compiled


def load_handlers() -> Router:
    """A router with every feature's WeChat handlers, as an app has it, for tools that route
    deliveries without serving them (the callback benchmark); ``tests/test_app.py`` checks it
    routes exactly as a built app's router does."""
    router = Router()
    for handlers in (wechat_answers.handlers, citizens_answers.handlers, family_answers.handlers,
                     quotes_answers.handlers, reminders_answers.handlers):
        router.include(handlers)
    return router


def _rules_not_published(error: NoRulesInForce) -> tuple[str, int]:
    """No published rule version covers the region and date: say so rather than guess figures."""
    logging.getLogger(__name__).error("no rules in force: %s (run `miniservice policies load`)", error)
    message = f"本地区医保政策规则暂未发布，请稍后再试或拨打 {state.contact().hotline} 咨询。"
    return render_template("h5/error.html", message=message), 503
