"""Every error answer is in Chinese, in the form its reader expects (page, admin page, JSON)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|head)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(("method", "path", "code", "words"), [
    ("get", "/h5/nowhere", 404, "页面不存在"),
    ("get", "/nowhere", 404, "页面不存在"),
    ("post", "/h5/records", 405, "不能这样打开"),
    ("get", "/admin/nowhere", 404, "页面不存在"),
    ("put", "/admin/login", 405, "不能这样打开"),
])
def test_http_errors_are_chinese_pages(client: Any, method: str, path: str, code: int, words: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == code
    text = visible_text(response.get_data(as_text=True))
    assert words in text
    assert not LATIN_WORD.findall(text), text


def test_api_errors_stay_json_with_a_chinese_message(client: Any) -> None:
    response = client.get("/api/nowhere")
    assert response.status_code == 404
    assert response.get_json() == {"error": "您要找的页面不存在，可能链接已失效。请从公众号菜单重新进入。",
                                   "field": None}


def test_an_unexpected_failure_is_a_chinese_page_and_logged_without_detail(app: Flask, caplog: Any) -> None:
    def broken() -> str:
        raise RuntimeError("secret detail")

    app.add_url_rule("/h5/broken", "broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/h5/broken")
    assert response.status_code == 500
    assert "系统暂时出现问题" in response.get_data(as_text=True)
    assert "secret detail" not in response.get_data(as_text=True)


def test_a_tampered_admin_form_is_a_chinese_page(client: Any) -> None:
    response = client.post("/admin/login", data={"username": "x", "password": "y", "csrf_token": "forged"})
    assert response.status_code == 400
    assert "表单已过期" in visible_text(response.get_data(as_text=True))
