"""Fixtures that build real apps on real databases.

Every test that takes ``app`` runs on a fresh SQLite file and, when
``MINISERVICE_TEST_DATABASE_URL`` is set, again on PostgreSQL. Redis-backed paths run when
``MINISERVICE_TEST_REDIS_URL`` is set; otherwise those tests are skipped and say why. The fake
WeChat API is a real HTTP server on loopback, shared by the session and reset for every test.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, text
from werkzeug.serving import BaseWSGIServer, make_server

from miniservice import create_app
from miniservice.citizens.identity import IdentityVault, mask_id_number, mask_name
from miniservice.citizens.models import Person
from miniservice.config import PROJECT_ROOT
from miniservice.db import Database, get_db, init_db
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.simulator import CallbackAccount, Simulator

PG_URL = os.environ.get("MINISERVICE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("MINISERVICE_TEST_REDIS_URL")

TEST_TOKEN = "testtoken"
TEST_APP_ID = "wxtest0123456789"
TEST_APP_SECRET = "testsecret0123456789"
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEST_DATA_KEY = "x" * 43 + "="  # 32 bytes, urlsafe base64

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@contextmanager
def statements_run(db: Database) -> Iterator[list[str]]:
    """The SQL statements ``db`` runs inside the block, in order."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def sealed_person(vault: IdentityVault, id_number: str, name: str, *, card: str | None = None,
                  **columns: Any) -> Person:
    """A person row as the registry holds one: identity encrypted, hashed for look-up and masked
    (birth date and sex are read from the encrypted ID number when needed, never stored)."""
    return Person(
        id_number_hash=vault.lookup_hash(id_number), id_number_cipher=vault.encrypt(id_number),
        id_number_masked=mask_id_number(id_number), name_cipher=vault.encrypt(name), name_masked=mask_name(name),
        card_number_hash=vault.lookup_hash(card) if card else None,
        card_number_cipher=vault.encrypt(card) if card else None,
        **columns,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on PostgreSQL (MINISERVICE_TEST_DATABASE_URL)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrations run once, tests stay isolated."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    init_db(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A private PostgreSQL schema migrated once; tables are emptied before each test."""
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set MINISERVICE_TEST_DATABASE_URL to run this on it")
    schema = f"t_{os.getpid()}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    db = Database(url)
    init_db(db)
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _empty_pg_tables(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            if row[0] != "alembic_version"
        ]
        if tables:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "miniservice.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _empty_pg_tables(url)
    return url


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeWeChat]:
    with FakeWeChat(appid=TEST_APP_ID, secret=TEST_APP_SECRET) as fake:
        yield fake


@pytest.fixture
def fake_wechat(fake_wechat_server: FakeWeChat) -> FakeWeChat:
    fake_wechat_server.reset()
    return fake_wechat_server


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("Redis not configured: set MINISERVICE_TEST_REDIS_URL to run this on it")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def test_settings(tmp_path: Path, database_url: str, api_base: str, **extra: Any) -> dict[str, Any]:
    """Settings overrides for a test app; ``extra`` wins."""
    settings: dict[str, Any] = {
        "env": "test",
        "instance_dir": tmp_path / "instance",
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "data_key": TEST_DATA_KEY,
        "wechat_token": TEST_TOKEN,
        "wechat_app_id": TEST_APP_ID,
        "wechat_app_secret": TEST_APP_SECRET,
        "wechat_aes_key": TEST_AES_KEY,
        # Most tests post plain XML for readability; tests/security checks the default (safe) mode.
        "wechat_message_mode": "compatible",
        "wechat_api_base": api_base,
        "public_base_url": "http://127.0.0.1:5000",
    }
    settings.update(extra)
    return settings


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for every ``app`` there."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, database_url: str, fake_wechat: FakeWeChat, app_overrides: dict[str, Any]
) -> Iterator[Flask]:
    app = create_app(test_settings(tmp_path, database_url, fake_wechat.base_url, **app_overrides))
    yield app
    app.extensions["miniservice.db"].dispose()


@pytest.fixture
def db(app: Flask) -> Database:
    with app.app_context():
        return get_db()


@pytest.fixture
def rules(db: Database) -> None:
    """The shipped ``policies/`` published as rule versions (a package may override the directory)."""
    from miniservice.rulebook.service import load_directory

    report = load_directory(db, PROJECT_ROOT / "policies", "test")
    assert report.ok, report.problems


def send_outbox(app: Flask) -> Any:
    """Run the outbox worker once, as the scheduler would: messages go to the fake WeChat now."""
    from miniservice.outbox.sending import drain

    with app.app_context():
        return drain()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app on a real socket, for round trips through HTTP rather than the test client."""
    with LiveServer(app) as server:
        # Links and OAuth redirects must point at the real socket, so the public URL follows it.
        settings = app.extensions["miniservice.settings"]
        app.extensions["miniservice.settings"] = settings.with_overrides({"public_base_url": server.url})
        yield server


def _simulator(server: LiveServer, aes: bool) -> Simulator:
    account = CallbackAccount(token=TEST_TOKEN, app_id=TEST_APP_ID, aes_key=TEST_AES_KEY if aes else None)
    return Simulator(server.url + "/wechat/callback", account)


@pytest.fixture
def simulator(live_server: LiveServer) -> Simulator:
    """WeChat's servers in plain mode, posting signed XML to the live app."""
    return _simulator(live_server, aes=False)


@pytest.fixture
def aes_simulator(live_server: LiveServer) -> Simulator:
    """WeChat's servers in safe mode (AES), posting to the live app."""
    return _simulator(live_server, aes=True)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download: ``executable_path``)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not installed: apt-get install chromium chromium-driver (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone_page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context at a phone viewport (iPhone-sized, touch, WeChat-like user agent)."""
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.50",
        locale="zh-CN",
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def save_screenshot(page: Any, name: str) -> Path:
    """Keep a screenshot under tests/artifacts/ (ignored by git, uploaded by CI when it can)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
