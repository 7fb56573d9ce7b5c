"""WeChat's own published samples must verify and decrypt through our endpoint (interoperability)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

SAMPLE_TOKEN = "spamtest"
SAMPLE_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APP_ID = "wx2c2769f8efd9abc2"
SAMPLE_QUERY = {
    "signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "encrypt_type": "aes",
}
SAMPLE_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
)


class TestTencentSafeModeSample:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"wechat_token": SAMPLE_TOKEN, "wechat_aes_key": SAMPLE_AES_KEY, "wechat_app_id": SAMPLE_APP_ID,
                "wechat_message_mode": "safe"}

    @pytest.fixture(autouse=True)
    def at_the_samples_time(self) -> Any:
        """The sample was signed in 2014; the callback accepts a timestamp only within five minutes."""
        with time_machine.travel(int(SAMPLE_QUERY["timestamp"]) + 30, tick=True):
            yield

    def test_official_sample_today_is_403_as_a_stale_timestamp(self, client: Any) -> None:
        with time_machine.travel("2026-12-01 12:00:00+08:00", tick=True):
            response = client.post("/wechat/callback", query_string=SAMPLE_QUERY, data=SAMPLE_BODY)
        assert response.status_code == 403

    def test_official_sample_decrypts_and_gets_an_encrypted_reply(self, client: Any) -> None:
        response = client.post("/wechat/callback", query_string=SAMPLE_QUERY, data=SAMPLE_BODY)
        assert response.status_code == 200
        crypto = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID)
        outer = response.get_data(as_text=True)
        assert "<Encrypt>" in outer
        signature = outer.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        timestamp = outer.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
        nonce = outer.split("<Nonce><![CDATA[")[1].split("]]>")[0]
        reply = parse_message(crypto.decrypt_message(outer, signature, timestamp, nonce))
        assert reply.target == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
        assert "缴费记录" in reply.content  # 'abcdteT' is no keyword: the help text answers

    def test_official_sample_with_a_tampered_msg_signature_is_403(self, client: Any) -> None:
        query = dict(SAMPLE_QUERY, msg_signature="0" * 40)
        response = client.post("/wechat/callback", query_string=query, data=SAMPLE_BODY)
        assert response.status_code == 403

    def test_official_sample_retried_gets_the_same_reply_and_writes_no_delivery(self, client: Any, db: Any) -> None:
        """'abcdteT' is a read: WeChat's retry computes the same help text again and nothing is stored."""
        first = client.post("/wechat/callback", query_string=SAMPLE_QUERY, data=SAMPLE_BODY)
        second = client.post("/wechat/callback", query_string=SAMPLE_QUERY, data=SAMPLE_BODY)
        assert first.status_code == second.status_code == 200
        crypto = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_AES_KEY, SAMPLE_APP_ID)
        contents = []
        for response in (first, second):
            outer = response.get_data(as_text=True)
            signature = outer.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
            timestamp = outer.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
            nonce = outer.split("<Nonce><![CDATA[")[1].split("]]>")[0]
            contents.append(parse_message(crypto.decrypt_message(outer, signature, timestamp, nonce)).content)
        assert contents[0] == contents[1]
        from sqlalchemy import func, select

        from miniservice.wechat.models import InboundDelivery

        with db.reading() as session:
            assert session.execute(select(func.count()).select_from(InboundDelivery)).scalar_one() == 0


class TestPlainSignatureSample:
    @pytest.fixture
    def app_overrides(self) -> dict[str, Any]:
        return {"wechat_token": "test"}

    def test_url_check_echoes_echostr_for_wechatpys_published_signature(self, client: Any) -> None:
        query = {
            "signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff",
            "timestamp": "1410685589",
            "nonce": "test",
            "echostr": "hello-wechat",
        }
        response = client.get("/wechat/callback", query_string=query)
        assert response.status_code == 200
        assert response.get_data(as_text=True) == "hello-wechat"

    def test_url_check_with_a_wrong_signature_is_403_and_echoes_nothing(self, client: Any) -> None:
        query = {"signature": "f" * 40, "timestamp": "1410685589", "nonce": "test", "echostr": "hello"}
        response = client.get("/wechat/callback", query_string=query)
        assert response.status_code == 403
        assert "hello" not in response.get_data(as_text=True)
