"""``miniservice menu push|show``: send the checked menu through wechatpy's client."""

from __future__ import annotations

import json

import click
from wechatpy.exceptions import WeChatClientException

from miniservice import state
from miniservice.wechat.client import get_client
from miniservice.wechat.menu import MenuError, checked_menu


@click.group(help="The account's custom menu.")
def menu() -> None:
    pass


@menu.command(help="Print the menu as it would be sent, after checking WeChat's limits.")
def show() -> None:
    try:
        data = checked_menu(state.settings().public_base_url)
    except MenuError as exc:
        raise click.ClickException("menu rejected: " + "; ".join(exc.problems)) from exc
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@menu.command(help="Check the menu and send it to WeChat (menu/create).")
def push() -> None:
    try:
        data = checked_menu(state.settings().public_base_url)
        get_client().menu.create(data)
    except MenuError as exc:
        raise click.ClickException("menu rejected: " + "; ".join(exc.problems)) from exc
    except WeChatClientException as exc:
        raise click.ClickException(f"WeChat refused the menu: {exc.errcode} {exc.errmsg}") from exc
    click.echo(f"menu pushed: {len(data['button'])} buttons")
