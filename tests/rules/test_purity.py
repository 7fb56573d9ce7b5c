"""The rules are pure: importing them loads no web framework, database layer or WeChat SDK."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {"flask", "werkzeug", "jinja2", "sqlalchemy", "sqlmodel", "alembic", "wechatpy", "redis", "requests",
         "apscheduler"}


def test_importing_the_quote_engine_loads_no_framework() -> None:
    probe = ("import sys, miniservice.rules, miniservice.rules.quote; "
             "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
                 .stdout.split())
    assert "miniservice" in loaded
    assert loaded & HEAVY == set()


def test_the_package_still_offers_the_application_factory() -> None:
    import miniservice
    from miniservice.app import create_app

    assert miniservice.create_app is create_app
