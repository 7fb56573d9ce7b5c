from __future__ import annotations

import pytest
from flask import Blueprint, Flask, session
from flask.sessions import NullSession

from miniservice.hardening import cookieless


def test_the_wechat_callback_opens_no_cookie_session_but_oauth_and_the_pages_do(app: Flask) -> None:
    # Flask opens the session before it matches the URL: a choice by blueprint would never apply.
    with app.test_request_context("/wechat/callback", method="POST"):
        assert isinstance(session._get_current_object(), NullSession)
    for path in ("/wechat/oauth/callback", "/h5/records", "/admin/"):
        with app.test_request_context(path):
            assert not isinstance(session._get_current_object(), NullSession), path


def test_a_blueprint_with_a_variable_in_its_urls_cannot_go_cookieless() -> None:
    app = Flask(__name__)
    bp = Blueprint("items", __name__)
    bp.add_url_rule("/items/<int:item_id>", "item", lambda item_id: "")
    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="no variables"):
        cookieless(app, "items")
    with pytest.raises(ValueError, match="registered"):
        cookieless(app, "never_registered")
