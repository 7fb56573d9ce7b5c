from __future__ import annotations

from pathlib import Path

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
