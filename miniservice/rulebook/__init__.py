"""Regional rule versions kept in the database: import, drafts, publication by date, rollback, export."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """``policies check|load|export``: the rule files and the rule versions from the command line."""
    from miniservice.rulebook import cli

    app.cli.add_command(cli.policies)
