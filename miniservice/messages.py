"""Composing what the service says to citizens: every sentence lives in ``templates/messages/``.

One function renders them all, whoever speaks: a passive reply to a tap (through the router), a
message put in the :mod:`miniservice.outbox`, a reminder's template fields, an account entry's
reason. Text only: WeChat's customer-service and reply messages are plain text, and a template
never builds markup.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def text(template: str, **context: Any) -> str:
    """Render ``templates/messages/<template>`` with ``context``, stripped of surrounding blank lines.

    Straight from the app's Jinja environment: a message uses no request context, and Flask's context
    processors (the staff sign-in's ``current_user`` among them) were a tenth of a 帮助 reply's time.
    """
    return current_app.jinja_env.get_template(f"messages/{template}").render(**context).strip()
