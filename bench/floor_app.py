"""The floor for the callback benchmark: Flask + wechatpy doing only what any callback must.

It checks the URL signature, decrypts the AES envelope (checking ``msg_signature``), parses the
message and answers with an encrypted text reply — no database, no de-duplication, no templates.
Whatever the real app costs above this is the price of its work, not of Flask, wechatpy or gunicorn.

``gunicorn -w 4 bench.floor_app:app`` with ``WECHAT_TOKEN``, ``WECHAT_AES_KEY``, ``WECHAT_APP_ID``.
"""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = os.environ.get("WECHAT_TOKEN", "benchtoken")
crypto = WeChatCrypto(TOKEN, os.environ.get("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
                      os.environ.get("WECHAT_APP_ID", "wxbench0000000001"))
app = Flask(__name__)


@app.post("/wechat/callback")
def callback() -> Response:
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
        xml = crypto.decrypt_message(request.get_data(), args.get("msg_signature", ""), args.get("timestamp", ""),
                                     args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    message = parse_message(xml)
    reply = create_reply("收到", message).render()
    return Response(crypto.encrypt_message(reply, args.get("nonce", ""), args.get("timestamp")),
                    mimetype="application/xml")


@app.get("/wechat/callback")
def verify() -> Response:
    """WeChat's URL check (the benchmark also uses it to see that the workers are up)."""
    args = request.args
    try:
        check_signature(TOKEN, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    return Response(args.get("echostr", ""), mimetype="text/plain")
