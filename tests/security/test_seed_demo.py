"""Finding 14: ``miniservice seed-demo`` refuses to run in production, before touching the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from miniservice.citizens.models import Binding, Person
from miniservice.cli import main
from miniservice.db import Database
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET, TEST_DATA_KEY, TEST_TOKEN


def test_seed_demo_refuses_in_production_and_writes_nothing(
    monkeypatch: Any, app: Flask, db: Database, tmp_path: Path
) -> None:
    production = {"MINISERVICE_ENV": "production", "MINISERVICE_DATABASE_URL": app.extensions["miniservice.settings"]
                  .database_url, "MINISERVICE_DATA_KEY": TEST_DATA_KEY, "MINISERVICE_SECRET_KEY": "k" * 32,
                  "WECHAT_TOKEN": TEST_TOKEN, "WECHAT_APP_ID": TEST_APP_ID, "WECHAT_APP_SECRET": TEST_APP_SECRET,
                  "WECHAT_AES_KEY": "a" * 43, "MINISERVICE_INSTANCE_DIR": str(tmp_path / "cli-instance")}
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["seed-demo", "--today", "2026-11-20"])
    assert result.exit_code != 0
    assert "生产环境不能写入演示数据" in result.output
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Binding)).scalar_one() == 0
