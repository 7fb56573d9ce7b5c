"""The ``miniservice`` command.

A Flask ``FlaskGroup``: each command runs inside the app :func:`miniservice.create_app` builds, so
the CLI, the web workers and the scheduler read the same settings and the same database. The
commands common to the whole service are here; each feature adds its own to ``app.cli`` in its
``init_app`` (``policies``, ``quote``, ``remind`` …), and the group finds them in the app it loads.
"""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from miniservice import create_app
from miniservice.config import ConfigError
from miniservice.db import get_db, init_db, make_revision


def _app_for_command() -> Flask:
    """The app for a command; a configuration problem is a one-line error, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=FlaskGroup, create_app=_app_for_command, add_default_commands=False, add_version_option=False,
             load_dotenv=False, set_debug_flag=False,
             help="miniservice: 医保 WeChat service — run, seed, quote, remind and administer.")
def main() -> None:
    pass


# One app, configured by the environment: Flask's own --app, --env-file and --debug options would only
# offer other ways to load it.
main.params.clear()


@main.command("init-db", help="Create or upgrade the database schema (safe to repeat).")
def init_db_command() -> None:
    click.echo(f"database at revision {init_db(get_db())}")


@main.command(help="Serve the web app with waitress (production: gunicorn -w N wsgi:app).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    from waitress import serve as waitress_serve

    click.echo(f"serving on http://{host}:{port}/")
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)  # type: ignore[attr-defined]


@main.command("db-revision", help="Developers: write a migration for model changes (autogenerate).")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    make_revision(get_db(), message)


if __name__ == "__main__":
    sys.exit(main())
