"""Fixtures for the admin pages: the shipped rules published, one account per role, signed-in clients.

Passwords are real (werkzeug scrypt) and every POST carries the CSRF token read from the page, as a
browser would send it, so the tests go through the same checks as staff do.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from miniservice.admin import accounts
from miniservice.admin.accounts import create_user
from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.models import Binding, Contribution
from miniservice.db import Database
from miniservice.rules.months import Month
from tests.citizens.conftest import valid_id
from tests.conftest import TEST_DATA_KEY, sealed_person

PASSWORD = "correct-horse-battery"
ROLES = ("viewer", "editor", "publisher")
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same algorithm at a lower cost, so that signing in many times keeps the suite fast."""
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "scrypt:1024:8:1")


@pytest.fixture
def staff(db: Database) -> dict[str, str]:
    """Usernames by role."""
    for role in ROLES:
        create_user(db, role, role, PASSWORD, actor="test")
    return {role: role for role in ROLES}


def csrf_token(client: Any, url: str = "/admin/login") -> str:
    page = client.get(url)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_token(client)})


def post_form(client: Any, url: str, data: dict[str, Any], page: str = "/admin/rules", **kwargs: Any) -> Any:
    """POST ``data`` plus the CSRF token of ``page``, as a browser submitting a form there would."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)}, **kwargs)


def signed_in(app: Flask, role: str) -> Any:
    client = app.test_client()
    response = sign_in(client, role)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def viewer(app: Flask, staff: dict[str, str]) -> Any:
    return signed_in(app, "viewer")


@pytest.fixture
def editor(app: Flask, staff: dict[str, str]) -> Any:
    return signed_in(app, "editor")


@pytest.fixture
def publisher(app: Flask, staff: dict[str, str]) -> Any:
    return signed_in(app, "publisher")


class _FormReader(HTMLParser):
    """What a browser would submit from the first ``<form method="post">`` with named fields."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: MultiDict[str, str] = MultiDict()
        self._textarea: str | None = None
        self._select: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method") == "post" and a.get("action", "") == "" and not self.fields:
            self._in_form = True
        if not self._in_form or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") == "checkbox":
            if "checked" in a:
                self.fields.add(a["name"], a.get("value", "on"))
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self.fields.setdefault(a["name"], "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def form_fields(html: str) -> MultiDict[str, str]:
    """The fields a browser would submit from the page's first POST form (no submit button pressed)."""
    reader = _FormReader()
    reader.feed(html)
    return reader.fields


_serial = itertools.count(1)


def bound_person(db: Database, region: str, scheme: str, covered: Iterable[Month], enrolled: date,
                 employer: str | None = None) -> int:
    """A bound citizen (born 1985-01-01) with paid months ``covered``; with ``employer``, the months
    after them are the unit's to pay (the registry names no other payer)."""
    serial = next(_serial)
    with db.transaction() as session:
        person = sealed_person(IdentityVault(TEST_DATA_KEY), valid_id(f"11010519850101{serial % 1000:03d}"),
                               "测试", region_code=region, scheme=scheme, enrolled_since=enrolled,
                               employer=employer)
        session.add(person)
        session.flush()
        session.add(Binding(openid=f"o-admin-test-{serial}", person_id=person.id))
        for month in covered:
            session.add(Contribution(person_id=person.id, month=month.index, scheme=scheme, base=Decimal("8000"),
                                     unit_amount=Decimal("640"), personal_amount=Decimal("160"), status="paid"))
        return person.id
