"""``miniservice simulate`` and ``miniservice demo``: the account without WeChat."""

from __future__ import annotations

import click

from miniservice.devtools.simulator import CallbackAccount, Simulator


@click.command(help='Send what WeChat would send: simulate subscribe | click KEY | text "…" | view URL.')
@click.argument("kind", type=click.Choice(["subscribe", "unsubscribe", "click", "text", "view"]))
@click.argument("value", required=False, default="")
@click.option("--openid", default="demo_visitor", show_default=True, help="the simulated WeChat user")
@click.option("--aes", is_flag=True, help="safe mode: encrypt with WECHAT_AES_KEY, as WeChat's 安全模式 does")
@click.option("--url", default=None, help="callback URL (default: MINISERVICE_PUBLIC_URL + /wechat/callback)")
def simulate(kind: str, value: str, openid: str, aes: bool, url: str | None) -> None:
    from miniservice.cli import make_app

    settings = make_app().extensions["miniservice.settings"]
    if kind in ("click", "text", "view") and not value:
        raise click.UsageError(f"{kind} needs a value (menu key, words or URL)")
    if aes and not settings.wechat_aes_key:
        raise click.UsageError("--aes needs WECHAT_AES_KEY (demo mode generates one under instance/)")
    account = CallbackAccount(
        token=settings.wechat_token,
        app_id=settings.wechat_app_id,
        aes_key=settings.wechat_aes_key if aes else None,
    )
    simulator = Simulator(url or settings.public_base_url + "/wechat/callback", account)
    action = getattr(simulator, kind)
    reply = action(openid) if kind in ("subscribe", "unsubscribe") else action(openid, value)
    if reply.status != 200:
        raise click.ClickException(f"callback answered HTTP {reply.status}: {reply.raw[:200]}")
    click.echo(reply.content if reply.content is not None else reply.raw)


@click.command(help="One command demo: SQLite, demo data, fake WeChat API, phone simulator, scheduler.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--wechat-port", default=5001, show_default=True, type=int, help="port of the fake WeChat API")
def demo(host: str, port: int, wechat_port: int) -> None:
    from miniservice.devtools.demo import run_demo

    run_demo(host, port, wechat_port)


commands = [simulate, demo]
