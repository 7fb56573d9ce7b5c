"""``miniservice outbox send`` drains what is due; ``outbox status`` counts by status."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from miniservice.cli import main
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.outbox import enqueue


@pytest.fixture
def cli(app: Flask) -> CliRunner:
    """Runs ``miniservice`` commands in the test app, as Flask's CLI runner does."""
    return app.test_cli_runner()


def test_send_drains_the_due_messages_and_status_counts_them(
    app: Flask, db: Database, cli: CliRunner, fake_wechat: FakeWeChat
) -> None:
    fake_wechat.add_follower("o-reader")
    with app.app_context(), db.transaction() as session:
        for key, openid in (("receipt:1", "o-reader"), ("receipt:2", "o-stranger")):
            enqueue(session, key, openid, "family_revoked.txt", by="钱*刚")
    before = cli.invoke(main, ["outbox", "status"])
    assert before.exit_code == 0 and "pending 2, sending 0, sent 0, failed 0, uncertain 0" in before.output
    sent = cli.invoke(main, ["outbox", "send"])
    assert sent.exit_code == 0, sent.output
    assert "sent 1, retry 0, failed 1, uncertain 0" in sent.output  # 40003: not a follower of the account
    assert "pending 0, sending 0, sent 1, failed 1, uncertain 0" in cli.invoke(main, ["outbox", "status"]).output
    assert [m.touser for m in fake_wechat.sent_messages()] == ["o-reader"]
