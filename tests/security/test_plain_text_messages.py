"""Finding 15: text staff enter in the rules (a region's name here) reaches WeChat messages as plain
text: WeChat turns ``<a href>`` in a text message into a live link, so no markup may pass."""

from __future__ import annotations

from flask import Flask

from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.simulator import Simulator
from miniservice.messages import text
from miniservice.rulebook.service import import_toml, publish
from tests.quotes.conftest import TODAY, Registry, frozen_time, registry  # noqa: F401 (fixtures)

LINK = '<a href="https://evil.example/refund">点此领取退费</a>'
HOSTILE_REGION = (f'code = "440600"\nname = \'佛山{LINK}\'\nparent = "440000"\n'
                  'version = "2026.9"\neffective_from = 2025-01-01\n')


def test_a_region_name_with_a_link_reaches_the_quote_reply_as_plain_text(
    app: Flask, db: Database, registry: Registry, simulator: Simulator, fake_wechat: FakeWeChat,  # noqa: F811
) -> None:
    with app.app_context():
        draft, _ = import_toml(db, HOSTILE_REGION, "staff:editor", today=TODAY)
        publish(db, draft.id, TODAY, "staff:publisher", today=TODAY)
    person = registry.person(region="440600", openid="o-foshan")
    registry.months(person, "2024-01", "2026-06")
    fake_wechat.add_follower("o-foshan")
    reply = simulator.text("o-foshan", "补缴")
    assert reply.content is not None
    assert "点此领取退费" in reply.content  # the words stay, readable
    assert "href" not in reply.content and "evil.example" not in reply.content
    assert "<" not in reply.content and ">" not in reply.content


def test_every_message_value_is_plain_text_but_the_wording_is_kept(app: Flask) -> None:
    with app.test_request_context():
        unbound = text("unbound.txt", bind_url=f'https://x.example/h5/bind"><a href="https://evil.example">{LINK}')
    assert "<" not in unbound and ">" not in unbound and "evil.example" not in unbound
    assert unbound.startswith("您还没有绑定身份") and "点此领取退费" in unbound

