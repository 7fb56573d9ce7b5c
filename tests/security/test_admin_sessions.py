"""Finding 11: signing out ends the session on the server (a copied cookie stops working), and
password guesses are counted atomically, per account name and per client address, with the same
answer whether or not the name exists."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from miniservice.admin import accounts
from miniservice.admin.accounts import CLIENT_MAX_FAILURES, MAX_FAILURES, authenticate
from miniservice.admin.models import SignInThrottle
from miniservice.db import Database
from tests.admin.conftest import PASSWORD, cheap_hashing, csrf_token, staff  # noqa: F401 (fixtures)
from tests.admin.conftest import sign_in as staff_sign_in
from tests.family.conftest import race

_TOKEN = re.compile(r'value="[^"]{40,}"')


def sign_in_from(app: Flask, address: str, username: str, password: str) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return staff_sign_in(client, username, password)


def failures(db: Database, scope: str) -> int:
    with db.reading() as session:
        return session.execute(select(SignInThrottle.failures).where(SignInThrottle.scope == scope)).scalar_one()


def test_a_copied_session_cookie_stops_working_when_its_owner_signs_out(
    app: Flask, staff: dict[str, str]  # noqa: F811
) -> None:
    owner = app.test_client()
    assert staff_sign_in(owner, "editor").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", owner.get_cookie("session").value)
    assert thief.get("/admin/").status_code == 200  # the copy works while the owner is signed in
    logout = owner.post("/admin/logout", data={"csrf_token": csrf_token(owner, "/admin/")})
    assert logout.status_code == 302
    stolen = thief.get("/admin/")
    assert stolen.status_code == 302 and stolen.headers["Location"].startswith("/admin/login")
    assert staff_sign_in(owner, "editor").status_code == 302  # signing in again makes a new, valid session
    assert owner.get("/admin/").status_code == 200
    assert thief.get("/admin/").status_code == 302


@pytest.mark.parametrize("username", ["editor", "nobody"])
def test_thirty_parallel_guesses_count_thirty_and_only_five_are_checked(
    app: Flask, db: Database, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch, username: str  # noqa: F811
) -> None:
    checked: list[str] = []
    lock = threading.Lock()
    real_check = accounts.check_password_hash

    def counting_check(stored: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real_check(stored, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    with app.app_context():
        results = race([lambda n=n: authenticate(db, username, f"guess-{n}", f"198.51.100.{n}")
                        for n in range(30)])
    assert failures(db, f"account:{username}") == 30
    assert len(checked) == MAX_FAILURES
    assert sum(result.locked_until is not None for result in results) == 30 - MAX_FAILURES + 1
    assert authenticate(db, username, PASSWORD, "203.0.113.1").user is None  # still locked, right password or not


def test_an_unknown_name_gets_exactly_the_answers_a_real_one_gets(app: Flask, staff: dict[str, str]) -> None:  # noqa: F811
    def answers(username: str, address: str) -> list[tuple[int, str]]:
        pages = [sign_in_from(app, address, username, "wrong-password") for _ in range(MAX_FAILURES + 1)]
        # The form shows back the name typed; everything else must be the same.
        return [(page.status_code, _TOKEN.sub("", page.get_data(as_text=True)).replace(username, "NAME"))
                for page in pages]

    real, unknown = answers("editor", "192.0.2.10"), answers("nobody", "192.0.2.11")
    assert [status for status, _ in real] == [401] * (MAX_FAILURES - 1) + [423, 423]
    assert real == unknown


def test_one_address_guessing_many_names_is_stopped_but_others_still_sign_in(
    app: Flask, db: Database, staff: dict[str, str]  # noqa: F811
) -> None:
    for n in range(CLIENT_MAX_FAILURES):
        assert sign_in_from(app, "198.51.100.66", f"name{n}", "wrong-password").status_code in (401, 423)
    assert failures(db, "client:198.51.100.66") == CLIENT_MAX_FAILURES
    assert sign_in_from(app, "198.51.100.66", "viewer", PASSWORD).status_code == 423
    assert sign_in_from(app, "198.51.100.67", "viewer", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_overrides", [{"proxy_hops": 1}])
def test_behind_a_proxy_each_forwarded_client_is_counted_apart(app: Flask, db: Database,
                                                               staff: dict[str, str]) -> None:  # noqa: F811
    client = app.test_client()
    for _ in range(2):
        client.post("/admin/login", headers={"X-Forwarded-For": "203.0.113.50"},
                    data={"username": "nobody", "password": "wrong-password", "csrf_token": csrf_token(client)})
    assert failures(db, "client:203.0.113.50") == 2
