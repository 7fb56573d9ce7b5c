"""Composing what the service says to citizens: every sentence lives in ``templates/messages/``.

One function renders them all, whoever speaks: a passive reply to a tap (through the router), a
message put in the :mod:`miniservice.outbox`, a reminder's template fields, an account entry's
reason. Text only: WeChat's customer-service and reply messages are plain text, and a template
never builds markup.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app
from jinja2 import Environment

# WeChat shows a text message's ``<a href>`` as a live link: a value may not carry markup. A tag is
# dropped with its attributes (its words stay); a lone bracket becomes the full-width one, which
# reads the same to a citizen and starts no tag.
_TAG = re.compile(r"<[^<>]*>")
_BRACKETS = str.maketrans({"<": "＜", ">": "＞"})


def plain_text(value: Any) -> Any:
    """Every ``{{ value }}`` of a message: rule text staff entered (a region's name, a citation)
    and anything else a message shows passes as words, never as markup."""
    return _TAG.sub("", value).translate(_BRACKETS) if isinstance(value, str) else value


ENV_KEY = "miniservice.message_env"


def message_env(app: Flask) -> Environment:
    """The messages' Jinja environment, made by the app factory: the app's, with every value as plain text."""
    return app.jinja_env.overlay(finalize=plain_text)


def text(template: str, **context: Any) -> str:
    """Render ``templates/messages/<template>`` with ``context``, stripped of surrounding blank lines.

    From a Jinja environment over the app's: a message uses no request context, and Flask's context
    processors (the staff sign-in's ``current_user`` among them) were a tenth of a 帮助 reply's time.
    Each value passes :func:`plain_text`; the templates' own words are trusted.
    """
    return current_app.extensions[ENV_KEY].get_template(f"messages/{template}").render(**context).strip()
