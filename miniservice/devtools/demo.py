"""``miniservice demo``: the whole service on one machine, with nothing to configure.

Order matters: the fake WeChat API must be up before the app (the app's client points at it), the
schema and rules before the demo people (their quotes need rules), and everything before the
scheduler's first run. Ctrl-C stops the web server, then the scheduler, then the fake WeChat API.
"""

from __future__ import annotations

import contextlib
from datetime import date

import click
from waitress.server import create_server

from miniservice import create_app, state
from miniservice.clock import local_today
from miniservice.config import load_settings
from miniservice.db import get_db, init_db
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.fake_wechatpay import FakeWeChatPay
from miniservice.payments.keys import generate_demo_keys
from miniservice.wechat.client import get_client
from miniservice.wechat.menu import checked_menu

DEMO_STAFF = "demo-admin"


def prepare(app: object, today: date) -> dict[str, str]:
    """Schema, rules, demo people, menu and a staff account; safe to run on every start."""
    from miniservice.admin.accounts import ensure_demo_user
    from miniservice.citizens.demo_data import generate_demo_data
    from miniservice.rulebook.service import load_directory

    settings = state.settings(app)  # type: ignore[attr-defined]
    with app.app_context():  # type: ignore[attr-defined]
        db = get_db()
        init_db(db)
        load_directory(db, settings.policies_dir, actor="system:demo")
        generate_demo_data(db, today)
        get_client().menu.create(checked_menu(settings.public_base_url))
        password = ensure_demo_user(db, DEMO_STAFF)
    return {"staff_user": DEMO_STAFF, "staff_password": password}


def run_demo(host: str, port: int, wechat_port: int) -> None:
    settings = load_settings()
    if settings.env != "demo":
        raise click.ClickException("miniservice demo runs only with MINISERVICE_ENV=demo (the default)")
    base_url = f"http://{host}:{port}"
    pay_keys = settings.instance_dir / "wechatpay"
    generate_demo_keys(pay_keys)
    with FakeWeChat(settings.wechat_app_id, settings.wechat_app_secret, port=wechat_port) as fake, \
            FakeWeChatPay(pay_keys, port=wechat_port + 1 if wechat_port else 0) as fake_pay:
        app = create_app({"wechat_api_base": fake.base_url, "public_base_url": base_url, "scheduler_enabled": True,
                          "pay_api_base": fake_pay.base_url, "pay_keys_dir": pay_keys})
        today = local_today(settings.timezone)
        login = prepare(app, today)
        _register_demo_followers(app, fake)
        from miniservice.reminders.scheduler import start_background_scheduler

        scheduler = start_background_scheduler(app)
        server = create_server(app, host=host, port=port, threads=8)
        click.echo(
            "\n".join(
                [
                    "miniservice demo is running (Ctrl-C stops everything):",
                    f"  phone simulator   {base_url}/demo/phone",
                    f"  admin             {base_url}/admin  (user {login['staff_user']}, "
                    f"password {login['staff_password']})",
                    f"  WeChat callback   {base_url}/wechat/callback",
                    f"  fake WeChat API   {fake.base_url}  (calls: {fake.base_url}__fake__/calls)",
                    f"  fake WeChat Pay   {fake_pay.base_url}  (cashier: pay, fail or cancel)",
                    f"  database          {settings.database_url}",
                ]
            )
        )
        try:
            with contextlib.suppress(KeyboardInterrupt):
                server.run()
        finally:
            server.close()
            scheduler.shutdown(wait=False)
            state.get_db(app).dispose()
            click.echo("demo stopped")


def _register_demo_followers(app: object, fake: FakeWeChat) -> None:
    """The fake WeChat must know the demo citizens as followers, or it refuses to message them."""
    from sqlalchemy import select

    from miniservice.citizens.models import Binding

    with app.app_context(), get_db().reading() as session:  # type: ignore[attr-defined]
        openids = session.execute(select(Binding.openid)).scalars().all()
    for openid in [*openids, "demo_visitor"]:
        fake.add_follower(openid, subscribe_templates=["*"])

