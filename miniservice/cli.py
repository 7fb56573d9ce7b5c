"""The ``miniservice`` command.

Every command builds the app with :func:`miniservice.create_app`, so the CLI, the web workers and
the scheduler read the same settings and the same database. Capabilities add their own commands
from their package's ``cli`` module (see ``COMMAND_MODULES``).
"""

from __future__ import annotations

import importlib
import sys

import click
from flask import Flask

from miniservice import create_app
from miniservice.config import ConfigError
from miniservice.db import get_db, init_db

# Modules exposing ``commands``: a list of click commands/groups added to ``miniservice``.
COMMAND_MODULES = (
    "miniservice.wechat.cli",
    "miniservice.devtools.cli",
    "miniservice.rulebook.cli",
    "miniservice.admin.cli",
    "miniservice.citizens.cli",
    "miniservice.citizens.keys_cli",
    "miniservice.reminders.cli",
    "miniservice.quotes.cli",
    "miniservice.outbox.cli",
    "miniservice.payments.cli",
)


def make_app() -> Flask:
    """The app for a command; a configuration problem is a one-line error, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(help="miniservice: 医保 WeChat service — run, seed, quote, remind and administer.")
def main() -> None:
    pass


@main.command("init-db", help="Create or upgrade the database schema (safe to repeat).")
def init_db_command() -> None:
    app = make_app()
    with app.app_context():
        revision = init_db(get_db())
    click.echo(f"database at revision {revision}")


@main.command(help="Serve the web app with waitress (production: gunicorn -w N wsgi:app).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    from waitress import serve as waitress_serve

    app = make_app()
    click.echo(f"serving on http://{host}:{port}/")
    waitress_serve(app, host=host, port=port, threads=threads)


@main.command("db-revision", help="Developers: write a migration for model changes (autogenerate).")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    from miniservice.db import make_revision

    app = make_app()
    with app.app_context():
        make_revision(get_db(), message)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for command in module.commands:
            main.add_command(command)


_register_commands()

if __name__ == "__main__":
    sys.exit(main())
