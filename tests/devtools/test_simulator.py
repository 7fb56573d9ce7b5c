"""The simulator builds what WeChat sends: checked against official vectors and wechatpy itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import ClickEvent, SubscribeEvent, UnsubscribeEvent, ViewEvent
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.messages import TextMessage
from wechatpy.utils import check_signature

from miniservice.devtools.server import BackgroundServer
from miniservice.devtools.simulator import (
    CallbackAccount,
    Simulator,
    build_delivery,
    click_xml,
    decode_reply,
    sign,
    simulate_duplicate,
    subscribe_xml,
    text_xml,
    unsubscribe_xml,
    view_xml,
)

from .echo_callback import EchoCallback

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PLAIN = CallbackAccount(token="plaintoken", original_id="gh_10f6c3c3ac5a")
SAFE = CallbackAccount(token="spamtest", app_id="wx2c2769f8efd9abc2", aes_key=AES_KEY,
                       original_id="gh_10f6c3c3ac5a")
USER = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"

# Tencent's WXBizMsgCrypt Sample.py vector (see /work/shared/wechat-notes.md).
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1409735669", "1320562132"
SAMPLE_URL_SIGNATURE = "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA["
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
    "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
    "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCz"
    "pu9GhglF2PE=]]></Encrypt></xml>")


def test_plain_signature_matches_wechatpy_vector() -> None:
    assert sign("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert sign(SAFE.token, SAMPLE_TIMESTAMP, SAMPLE_NONCE) == SAMPLE_URL_SIGNATURE


def test_official_aes_sample_decrypts_to_documented_message() -> None:
    crypto = WeChatCrypto("spamtest", AES_KEY, "wx2c2769f8efd9abc2")
    check_signature("spamtest", SAMPLE_URL_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE)

    message = parse_message(crypto.decrypt_message(SAMPLE_BODY, SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP,
                                                   SAMPLE_NONCE))

    assert isinstance(message, TextMessage)
    assert (message.source, message.target) == (USER, "gh_10f6c3c3ac5a")
    assert (message.content, message.id) == ("abcdteT", 6054768590064713728)


def test_official_aes_sample_is_read_by_our_reply_decoder_too() -> None:
    """decode_reply verifies MsgSignature/TimeStamp/Nonce inside the envelope, as WeChat does."""
    encrypt = xmltodict.parse(SAMPLE_BODY)["xml"]["Encrypt"]
    envelope = (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{SAMPLE_MSG_SIGNATURE}]]>"
                f"</MsgSignature><TimeStamp>{SAMPLE_TIMESTAMP}</TimeStamp><Nonce><![CDATA[{SAMPLE_NONCE}]]>"
                "</Nonce></xml>")
    reply = decode_reply(SAFE, 200, envelope)
    assert reply.encrypted and (reply.msg_type, reply.content) == ("text", "abcdteT")
    with pytest.raises(InvalidSignatureException):
        decode_reply(SAFE, 200, envelope.replace(SAMPLE_NONCE, "1320562133"))


def test_plain_delivery_verifies_with_check_signature() -> None:
    delivery = build_delivery(PLAIN, text_xml(PLAIN, USER, "查询缴费记录 <&>]]>", msg_id=42,
                                              create_time=1_700_000_000))
    p = delivery.params

    check_signature(PLAIN.token, p["signature"], p["timestamp"], p["nonce"])
    with pytest.raises(InvalidSignatureException):
        check_signature("another-token", p["signature"], p["timestamp"], p["nonce"])
    assert p["openid"] == USER and "encrypt_type" not in p
    message = parse_message(delivery.body)
    assert isinstance(message, TextMessage)
    assert (message.source, message.target, message.content, message.id) == (
        USER, "gh_10f6c3c3ac5a", "查询缴费记录 <&>]]>", 42)
    assert message.create_time.timestamp() == 1_700_000_000


def test_aes_delivery_round_trips_through_wechat_crypto() -> None:
    xml = text_xml(SAFE, USER, "补缴测算", msg_id=7)
    delivery = build_delivery(SAFE, xml, timestamp="1409735669", nonce="1320562132")
    p = delivery.params

    assert p["encrypt_type"] == "aes"
    assert p["signature"] == SAMPLE_URL_SIGNATURE  # URL signature is still the plain one
    body = xmltodict.parse(delivery.body)["xml"]
    assert set(body) == {"ToUserName", "Encrypt"} and body["ToUserName"] == "gh_10f6c3c3ac5a"
    assert "补缴测算" not in delivery.body
    crypto = WeChatCrypto(SAFE.token, AES_KEY, SAFE.app_id)
    assert crypto.decrypt_message(delivery.body, p["msg_signature"], p["timestamp"], p["nonce"]) == xml
    with pytest.raises(InvalidSignatureException):
        crypto.decrypt_message(delivery.body, p["signature"], p["timestamp"], p["nonce"])


@pytest.mark.parametrize(("xml", "cls", "attr", "value"), [
    (subscribe_xml(PLAIN, USER), SubscribeEvent, "event", "subscribe"),
    (unsubscribe_xml(PLAIN, USER), UnsubscribeEvent, "event", "unsubscribe"),
    (click_xml(PLAIN, USER, "RECORDS"), ClickEvent, "key", "RECORDS"),
    (view_xml(PLAIN, USER, "https://h5.example.gov.cn/quote?a=1&b=2"), ViewEvent, "url",
     "https://h5.example.gov.cn/quote?a=1&b=2"),
])
def test_events_parse_into_wechatpy_event_types(xml: str, cls: type, attr: str, value: str) -> None:
    event = parse_message(xml)
    assert isinstance(event, cls)
    assert getattr(event, attr) == value
    assert (event.source, event.target, event.id) == (USER, PLAIN.original_id, 0)  # events carry no MsgId


def test_text_messages_get_distinct_msg_ids() -> None:
    first, second = (parse_message(text_xml(PLAIN, USER, "x")).id for _ in range(2))
    assert first != second and first > 2**40


@pytest.fixture(params=[PLAIN, SAFE], ids=["plain", "aes"])
def echo(request: pytest.FixtureRequest) -> Iterator[tuple[Simulator, EchoCallback]]:
    callback = EchoCallback(request.param)
    with BackgroundServer(callback) as server:
        yield Simulator(server.base_url + "wechat/callback", request.param), callback


def test_simulator_posts_and_decodes_the_reply(echo: tuple[Simulator, EchoCallback]) -> None:
    sim, callback = echo

    text = sim.text(USER, "你好")
    click = sim.click(USER, "RECORDS")
    gone = sim.unsubscribe(USER)

    assert (text.status, text.msg_type, text.content) == (200, "text", "echo: 你好")
    assert text.encrypted == sim.account.safe_mode
    assert text.fields["ToUserName"] == USER and text.fields["FromUserName"] == PLAIN.original_id
    assert click.content == "echo: click RECORDS"
    assert (gone.xml, gone.raw, gone.acknowledged) == (None, "success", True)
    assert [m.type for m in callback.received] == ["text", "event", "event"]


def test_refused_delivery_is_not_acknowledged(echo: tuple[Simulator, EchoCallback]) -> None:
    sim, callback = echo
    forged = Simulator(sim.callback_url, CallbackAccount("wrong-token", sim.account.app_id,
                                                         sim.account.aes_key, sim.account.original_id))
    reply = forged.text(USER, "hi")
    assert reply.status == 403 and not reply.acknowledged
    assert callback.received == []


def test_duplicates_arrive_concurrently_with_fresh_envelopes(echo: tuple[Simulator, EchoCallback]) -> None:
    sim, callback = echo
    xml = text_xml(sim.account, USER, "重复", msg_id=123456789)
    callback.hold = 0.2  # keep each request open long enough for the others to overlap it

    replies = simulate_duplicate(sim.callback_url, sim.account, xml, times=3, threads=3)

    assert [r.content for r in replies] == ["echo: 重复"] * 3
    assert [m.id for m in callback.received] == [123456789] * 3
    assert len(set(callback.nonces)) == 3  # retries are signed afresh; only MsgId ties them together
    assert callback.max_in_flight >= 2


def test_duplicates_can_reuse_one_envelope(echo: tuple[Simulator, EchoCallback]) -> None:
    sim, callback = echo
    replies = sim.duplicate(click_xml(sim.account, USER, "K"), times=4, threads=2, same_envelope=True)
    assert len(replies) == 4 and all(r.acknowledged for r in replies)
    assert len(set(callback.nonces)) == 1
