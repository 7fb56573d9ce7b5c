"""Bureau staff pages under ``/admin``: sign-in, rule versions, previews, audit log, dashboards, imports."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The staff console: its blueprint with every topic's pages (sign-in, rules, audit, operations) and
    the pages features add to it (their ``admin_views``), and ``admin create-user``."""
    from miniservice.admin import blueprint, cli
    from miniservice.admin.views import audit, auth, ops, rules  # noqa: F401 - their routes join blueprint.bp

    app.register_blueprint(blueprint.bp)
    app.cli.add_command(cli.admin)
