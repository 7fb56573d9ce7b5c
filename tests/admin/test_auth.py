"""Staff sign-in: passwords, lockout in the database, CSRF on every form, idle expiry, roles, the CLI."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from miniservice.admin.accounts import MAX_FAILURES, authenticate, ensure_demo_user
from miniservice.admin.models import StaffUser
from miniservice.audit.models import AuditEvent
from miniservice.cli import main
from miniservice.clock import now_utc
from miniservice.db import Database
from tests.admin.conftest import PASSWORD, csrf_token, post_form, sign_in

PAGES = ["/admin/", "/admin/rules", "/admin/rules/440300", "/admin/audit", "/admin/records/upload",
         "/admin/rules/versions/1", "/admin/rules/versions/1/export"]


def test_no_admin_page_without_signing_in(client: Any) -> None:
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login"), url


def test_a_right_password_signs_in_and_a_wrong_one_says_so(client: Any, staff: dict[str, str]) -> None:
    wrong = sign_in(client, "editor", "not-the-password")
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    right = sign_in(client, "editor")
    assert right.status_code == 302
    assert "editor（编辑）" in client.get("/admin/").get_data(as_text=True)


def test_passwords_are_stored_hashed(db: Database, staff: dict[str, str]) -> None:
    with db.reading() as session:
        stored = session.execute(select(StaffUser.password_hash)).scalars().all()
    assert all(h.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in h for h in stored)


def test_five_failures_lock_the_account_for_fifteen_minutes(client: Any, db: Database, staff: dict[str, str]) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(client, "editor", "guess").status_code == 401
    locked = sign_in(client, "editor", "guess")
    assert locked.status_code == 423
    assert "已锁定" in locked.get_data(as_text=True)
    assert sign_in(client, "editor").status_code == 423  # even the right password, while locked
    with time_machine.travel(now_utc() + timedelta(minutes=16)):
        assert sign_in(client, "editor").status_code == 302
    with db.reading() as session:
        actions = session.execute(select(AuditEvent.action).where(AuditEvent.subject == "staff:editor")).scalars()
        assert "staff.locked" in list(actions)


def test_failures_are_counted_in_the_database_not_the_session(app: Flask, db: Database, staff: dict[str, str]) -> None:
    for _ in range(MAX_FAILURES):
        sign_in(app.test_client(), "viewer", "guess")  # a fresh browser each time
    assert authenticate(db, "viewer", PASSWORD, "192.0.2.1").locked_until is not None


def test_an_unknown_username_is_refused_like_a_wrong_password(client: Any, staff: dict[str, str]) -> None:
    response = sign_in(client, "nobody")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(editor: Any, rules: None) -> None:
    response = editor.post("/admin/rules/440300/drafts", data={"version": "2099.1"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert "2099.1" not in editor.get("/admin/rules/440300").get_data(as_text=True)


def test_the_login_form_itself_needs_its_token(client: Any, staff: dict[str, str]) -> None:
    response = client.post("/admin/login", data={"username": "editor", "password": PASSWORD})
    assert response.status_code == 400


def test_a_session_idle_for_more_than_thirty_minutes_is_signed_out(editor: Any) -> None:
    assert editor.get("/admin/").status_code == 200
    with time_machine.travel(now_utc() + timedelta(minutes=20)):
        assert editor.get("/admin/").status_code == 200  # activity resets the clock
    with time_machine.travel(now_utc() + timedelta(minutes=51)):
        response = editor.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")
    assert editor.get("/admin/").status_code == 302


def test_logout_ends_the_session(editor: Any) -> None:
    response = post_form(editor, "/admin/logout", {}, page="/admin/")
    assert response.status_code == 302
    assert editor.get("/admin/").status_code == 302


def test_a_viewer_cannot_edit_and_an_editor_cannot_publish(viewer: Any, editor: Any, rules: None) -> None:
    assert post_form(viewer, "/admin/rules/440300/drafts", {"version": ""}).status_code == 403
    assert viewer.get("/admin/records/upload").status_code == 403
    draft = post_form(editor, "/admin/rules/440300/drafts", {"version": ""})
    version_id = draft.headers["Location"].split("/")[-2]
    assert viewer.get(f"/admin/rules/versions/{version_id}/edit").status_code == 403
    published = post_form(editor, f"/admin/rules/versions/{version_id}/publish", {"effective_from": "2099-01-01"})
    assert published.status_code == 403
    rollback = post_form(editor, "/admin/rules/440300/rollback", {"expected_version_id": "1"})
    assert rollback.status_code == 403


def test_login_does_not_redirect_off_site(client: Any, staff: dict[str, str]) -> None:
    token = csrf_token(client, "/admin/login?next=https://evil.example/")
    response = client.post("/admin/login?next=https://evil.example/",
                           data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    monkeypatch.setenv("MINISERVICE_ENV", "test")
    monkeypatch.setenv("MINISERVICE_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("MINISERVICE_DATABASE_URL", database_url)


def test_create_user_reads_the_password_from_stdin_and_the_account_signs_in(
    cli_env: None, client: Any
) -> None:
    result = CliRunner().invoke(main, ["admin", "create-user", "wang.li", "--role", "publisher", "--password-stdin"],
                                input="a-long-password\n")
    assert result.exit_code == 0, result.output
    assert sign_in(client, "wang.li", "a-long-password").status_code == 302


def test_create_user_refuses_a_short_password_and_a_taken_name(cli_env: None, staff: dict[str, str]) -> None:
    short = CliRunner().invoke(main, ["admin", "create-user", "zhao", "--role", "viewer", "--password-stdin"],
                               input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    taken = CliRunner().invoke(main, ["admin", "create-user", "editor", "--role", "viewer", "--password-stdin"],
                               input="another-long-one\n")
    assert taken.exit_code == 1 and "taken" in taken.output


def test_the_demo_account_gets_a_fresh_password_on_every_start(client: Any, db: Database) -> None:
    first = ensure_demo_user(db, "demo-admin")
    second = ensure_demo_user(db, "demo-admin")
    assert first != second
    assert sign_in(client, "demo-admin", first).status_code == 401
    assert sign_in(client, "demo-admin", second).status_code == 302
