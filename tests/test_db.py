from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from miniservice.db import Database, init_db
from miniservice.models import metadata


def test_init_db_is_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    first = init_db(db)
    second = init_db(db)
    assert first == second


def test_migrations_create_exactly_the_schema_the_models_describe(database_url: str) -> None:
    db = Database(database_url)
    init_db(db)
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    db.dispose()
    assert differences == []


def test_insert_ignore_says_whether_it_inserted(database_url: str) -> None:
    from miniservice.db import insert_ignore
    from miniservice.wechat.models import Follower

    db = Database(database_url)
    with db.transaction() as session:
        first = insert_ignore(session, Follower, openid="o_once")
        second = insert_ignore(session, Follower, openid="o_once")
    db.dispose()
    assert (first, second) == (True, False)


def test_a_write_starting_with_with_rolls_back_with_its_transaction(database_url: str) -> None:
    from sqlalchemy import text

    db = Database(database_url)
    try:
        with db.transaction() as session:
            session.execute(
                text("WITH n AS (SELECT 'o_cte' AS openid) INSERT INTO follower (openid, subscribed, "
                     "reminders_enabled) SELECT openid, true, true FROM n")
            )
            raise RuntimeError("abandon the transaction")
    except RuntimeError:
        pass
    with db.reading() as session:
        count = session.execute(text("SELECT count(*) FROM follower WHERE openid = 'o_cte'")).scalar_one()
    db.dispose()
    assert count == 0


def _in_transaction(connection: Any) -> bool:
    driver = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        return driver.in_transaction
    return driver.info.transaction_status != 0  # psycopg's IDLE: no transaction open


def test_a_lookup_reads_without_opening_a_transaction(database_url: str) -> None:
    """One statement needs no BEGIN and ROLLBACK around it (two round trips on PostgreSQL); a session
    on the same pooled connection afterwards reads in its transaction as before."""
    from sqlalchemy import text

    db = Database(database_url)
    with db.lookup() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        assert not _in_transaction(connection)
    with db.reading() as session:
        session.execute(text("SELECT 1"))
        assert _in_transaction(session.connection())
    db.dispose()


def _kill_pooled_connection(db: Database) -> None:
    """Leave one connection in the pool, then end its server process from another connection."""
    from sqlalchemy import text

    with db.engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = Database(db.url)
    with killer.engine.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()


def test_a_pooled_connection_idle_past_the_limit_is_pinged_and_a_dead_one_replaced(
        pg_database: str, monkeypatch: Any) -> None:
    from sqlalchemy import text

    import miniservice.db

    monkeypatch.setattr(miniservice.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    db = Database(pg_database)
    _kill_pooled_connection(db)
    with db.reading() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    db.dispose()


def test_a_connection_back_in_the_pool_a_moment_ago_is_not_pinged(pg_database: str) -> None:
    """The other side of the trade: no round trip per checkout, so a connection killed within the idle
    limit fails its one request (the callback answers 503 and WeChat retries) and the pool recovers."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    db = Database(pg_database)
    _kill_pooled_connection(db)
    with pytest.raises(OperationalError), db.reading() as session:
        session.execute(text("SELECT 1"))
    with db.reading() as session:
        assert session.execute(text("SELECT 1")).scalar_one() == 1
    db.dispose()
