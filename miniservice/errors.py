"""Chinese error pages for every path, so no visitor ever reads Flask's English defaults.

Citizens' pages (``/h5``, and anything unknown) get a WeUI page, staff pages (``/admin``) the admin's
error page, the JSON API (``/api``) JSON with a Chinese ``error``; WeChat's own servers, the only
readers of ``/wechat``, keep the short technical answer. Blueprint handlers (the admin's 403/404, a
record that is not the visitor's) still win for the errors raised in their own views.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: "提交的内容无法处理，请返回上一页重新操作。",
    403: "您没有权限进行此操作。",
    404: "您要找的页面不存在，可能链接已失效。请从公众号菜单重新进入。",
    405: "该页面不能这样打开，请返回上一页，或从公众号菜单重新进入。",
    413: "提交的内容太大，请减少后重试。",
    429: "操作太频繁，请稍后再试。",
    500: "系统暂时出现问题，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}
STALE_FORM = "页面已过期，未做任何更改。请返回上一页刷新后重新操作。"


def message_for(code: int) -> str:
    return MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])


def _page(code: int, message: str) -> Any:
    path = request.path
    if path.startswith("/wechat/"):
        return message, code
    if path.startswith("/api/"):
        return jsonify(error=message, field=None), code  # the API's one error shape (docs/quote-json.md)
    if path.startswith("/admin"):
        # Outside the admin's own views (no route matched) its helpers are not in the context: nobody
        # is anything there, so the page offers no action.
        helpers = {} if request.blueprint == "admin" else {"can": _cannot}
        return render_template("admin/error.html", code=code, message=message, **helpers), code
    return render_template("h5/error.html", message=message, code=code), code


def _cannot(_: str) -> bool:
    return False


def _http_error(error: HTTPException) -> Any:
    code = error.code or 500
    if request.path.startswith("/wechat/"):
        return error  # WeChat's servers read the status; the default body is fine for them
    return _page(code, message_for(code))


def _stale_form(_: CSRFError) -> Any:
    return _page(400, STALE_FORM)


def _server_error(error: InternalServerError) -> Any:
    log.error("unhandled error on %s: %s", request.path, type(getattr(error, "original_exception", error)).__name__)
    return _page(500, message_for(500))


def install_error_pages(app: Flask) -> None:
    app.register_error_handler(CSRFError, _stale_form)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
