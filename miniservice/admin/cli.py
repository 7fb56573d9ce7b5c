"""``miniservice admin create-user``: staff accounts are created on the server, never from the web."""

from __future__ import annotations

import sys

import click

from miniservice.admin.accounts import AccountError, create_user
from miniservice.admin.models import ROLES
from miniservice.db import get_db


@click.group(help="Staff accounts of the admin pages.")
def admin() -> None:
    pass


@admin.command("create-user", help="Create a staff account; the password is prompted (or read from stdin).")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer < editor < publisher")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
def create_user_command(username: str, role: str, password_stdin: bool) -> None:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        create_user(get_db(), username, role, password, actor="system:cli")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {role} {username}")
