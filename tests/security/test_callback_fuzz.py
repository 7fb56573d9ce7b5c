"""Finding 8: signed (and encrypted) bodies of any shape are answered, never with a 5xx, and a body
the callback refuses leaves nothing behind."""

from __future__ import annotations

import secrets
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from miniservice.devtools.simulator import CallbackAccount, sign
from miniservice.wechat.models import CallbackNonce, Follower, InboundDelivery
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN

SAFE = CallbackAccount(token=TEST_TOKEN, app_id=TEST_APP_ID, aes_key=TEST_AES_KEY)

# What a hostile or broken sender puts in a field: junk numbers, huge or nested text, control characters.
hostile_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "abc", "-1", "1e9", "9" * 30, "0x10", " 12 ", "x" * 65, "o" * 5000,
                     "<a>nested</a>", "<b><c>deep</c></b>", "]]>", "\x00", "²", "١٢٣"]),
)
FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "EventKey", "Url")
realistic = {"ToUserName": "gh_000000000000", "FromUserName": "o_fuzz", "CreateTime": "1764547200",
             "MsgType": "text", "Content": "帮助", "MsgId": "6054768590064713728"}


def _element(name: str, value: str, raw: bool) -> str:
    """``raw`` puts markup in the element as markup (nested elements), otherwise as CDATA text."""
    if raw:
        return f"<{name}>{value}</{name}>"
    return f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


@st.composite
def bodies(draw: Any) -> str:
    fields = dict(realistic)
    fields["MsgType"] = draw(st.sampled_from(["text", "event", "image", "location", "voice", "", "TEXT"]))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            fields[name] = draw(hostile_text)
        else:
            fields.pop(name, None)
    raw = draw(st.booleans())
    return "<xml>" + "".join(_element(name, value, raw) for name, value in fields.items()) + "</xml>"


def _counts(db: Any) -> tuple[int, int]:
    with db.reading() as session:
        return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                     for model in (InboundDelivery, Follower))  # type: ignore[return-value]


def _signed(body: str, encrypted: bool) -> tuple[dict[str, str], bytes]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    params = {"signature": sign(TEST_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if not encrypted:
        return params, body.encode("utf-8", "surrogatepass")
    import xmltodict

    envelope = xmltodict.parse(SAFE.crypto().encrypt_message(body, nonce, timestamp))["xml"]
    params |= {"encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
    return params, (f"<xml><ToUserName><![CDATA[gh_000000000000]]></ToUserName>"
                    f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>").encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies(), encrypted=st.booleans())
def test_no_signed_body_gets_a_5xx_and_a_refused_one_records_nothing(client: Any, db: Any, body: str,
                                                                       encrypted: bool) -> None:
    try:
        params, data = _signed(body, encrypted)
    except UnicodeEncodeError:  # lone surrogates cannot travel as UTF-8, from WeChat or anyone
        return
    before = _counts(db)
    response = client.post("/wechat/callback", query_string=params, data=data)
    assert response.status_code < 500, (body, response.status_code)
    if response.status_code != 200:
        assert _counts(db) == before, body


def test_the_review_s_examples_are_400(client: Any, db: Any) -> None:
    """The bodies that answered 500 in the review."""
    examples = [
        {"MsgId": "abc"},
        {"FromUserName": "o" * 65},
        {"CreateTime": ""},
    ]
    for change in examples:
        body = "<xml>" + "".join(_element(k, v, False) for k, v in (realistic | change).items()) + "</xml>"
        params, data = _signed(body, encrypted=False)
        assert client.post("/wechat/callback", query_string=params, data=data).status_code == 400, change
    for name in ("FromUserName", "Content"):
        body = "<xml>" + "".join(_element(k, "<i>x</i>" if k == name else v, k == name)
                                 for k, v in realistic.items()) + "</xml>"
        params, data = _signed(body, encrypted=False)
        assert client.post("/wechat/callback", query_string=params, data=data).status_code == 400, name
    assert _counts(db) == (0, 0)
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(CallbackNonce)).scalar_one() == 5
