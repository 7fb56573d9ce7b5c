"""``miniservice simulate …`` and ``miniservice fake-wechat``: the dev tools from the command line.

Both read the app's settings, so the simulator signs with the same token/AES key the callback
checks, and the fake server accepts the same appid/secret the app's client sends; ``demo`` starts
everything together (:mod:`miniservice.devtools.demo`).
"""

from __future__ import annotations

import contextlib
import threading

import click

from miniservice import state
from miniservice.devtools.fake_wechat import CONTROL_PREFIX, FakeWeChat
from miniservice.devtools.simulator import (
    CallbackAccount,
    Simulator,
    click_xml,
    subscribe_xml,
    text_xml,
    unsubscribe_xml,
    view_xml,
)

KINDS = ("subscribe", "unsubscribe", "click", "view", "text")


@click.command(help='Post what WeChat would post to the callback: simulate subscribe | unsubscribe | '
                    'click KEY | view URL | text "WORDS" [--openid X] [--aes].')
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("arg", nargs=-1)
@click.option("--openid", default="demo_visitor", show_default=True, help="the simulated WeChat user")
@click.option("--aes/--plain", default=None,
              help="encrypt with WECHAT_AES_KEY (安全模式) or post plain XML; default: as the account's mode")
@click.option("--url", default=None, help="callback URL (default: <public URL>/wechat/callback)")
@click.option("--original-id", default="gh_000000000000", show_default=True, help="the account's 原始ID")
@click.option("--duplicate", default=1, show_default=True, help="deliver N times concurrently (retries)")
def simulate(kind: str, arg: tuple[str, ...], openid: str, aes: bool | None, url: str | None, original_id: str,
             duplicate: int) -> None:
    settings = state.settings()
    if aes is None:
        aes = settings.message_mode == "safe"
    if aes and not settings.wechat_aes_key:
        raise click.UsageError("--aes needs WECHAT_AES_KEY (demo mode generates one under instance/)")
    account = CallbackAccount(settings.wechat_token, settings.wechat_app_id,
                              settings.wechat_aes_key if aes else None, original_id)
    if kind in ("click", "view", "text") and not arg:
        raise click.UsageError(f"{kind} needs an argument")
    if kind == "click":
        _check_menu_key(arg[0], settings.public_base_url)
    xml = {
        "subscribe": lambda: subscribe_xml(account, openid),
        "unsubscribe": lambda: unsubscribe_xml(account, openid),
        "click": lambda: click_xml(account, openid, arg[0]),
        "view": lambda: view_xml(account, openid, arg[0]),
        "text": lambda: text_xml(account, openid, " ".join(arg)),
    }[kind]()
    simulator = Simulator(url or settings.public_base_url + "/wechat/callback", account)
    replies = simulator.duplicate(xml, times=duplicate, threads=duplicate) if duplicate > 1 else [
        simulator.send_xml(xml)]
    for reply in replies:
        mode = "aes" if reply.encrypted else "plain"
        click.echo(f"HTTP {reply.status} {mode} type={reply.msg_type}")
        click.echo(reply.content if reply.content is not None else reply.raw)
    if not all(r.acknowledged for r in replies):
        raise click.ClickException("WeChat would retry: the callback did not acknowledge the delivery")


def _check_menu_key(key: str, base_url: str) -> None:
    """A key the menu does not have would only get the help text back: say so, with the keys it has."""
    from miniservice.wechat.menu import click_keys, load_menu

    keys = click_keys(load_menu(base_url))
    if key not in keys:
        raise click.UsageError(f"unknown menu key {key!r}; the menu's keys are: {', '.join(keys)}")


@click.command(help="One command demo: SQLite, demo data, fake WeChat API, phone simulator, scheduler.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--wechat-port", default=5001, show_default=True, type=int, help="port of the fake WeChat API")
def demo(host: str, port: int, wechat_port: int) -> None:
    from miniservice.devtools.demo import run_demo

    run_demo(host, port, wechat_port)


@click.command("fake-wechat", help="Run the fake WeChat API server with the app's appid/secret.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8801, show_default=True, type=int)
@click.option("--follower", multiple=True, help="register a follower openid (repeatable)")
def fake_wechat(host: str, port: int, follower: tuple[str, ...]) -> None:
    settings = state.settings()
    fake = FakeWeChat(settings.wechat_app_id, settings.wechat_app_secret, host=host, port=port, quiet=False)
    for openid in follower:
        fake.add_follower(openid, subscribe_templates=["*"])
    with fake:
        click.echo(f"fake WeChat API at {fake.base_url} — run the app with WECHAT_API_BASE={fake.base_url}")
        click.echo(f"recorded calls: {fake.base_url}{CONTROL_PREFIX}/calls")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
