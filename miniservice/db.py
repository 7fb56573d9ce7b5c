"""Engine, sessions and schema migrations.

Service functions own their transaction: they call :meth:`Database.transaction` and everything in
the ``with`` block commits together or not at all. The schema is managed by Alembic
(``miniservice/migrations``); ``init_db`` upgrades to head and is safe to run any number of times.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlmodel import Session

from miniservice.state import get_db  # the accessor, here too for the many services that import it with Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

__all__ = ["Database", "IntegrityError", "get_db", "init_db"]


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """WAL lets readers run beside the single writer; busy_timeout makes writers queue, not fail.

    Python's sqlite3 opens transactions itself only before INSERT/UPDATE/DELETE, so a write that
    starts with ``WITH`` would commit on the spot; SQLAlchemy's documented remedy is to switch that
    off here and emit BEGIN ourselves (:func:`_sqlite_begin`).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Write transactions take the write lock at BEGIN, so they queue on busy_timeout instead of
    failing when a read inside them is followed by a write after another writer committed."""
    options = connection.get_execution_options()
    if options.get("sqlite_no_transaction"):
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_immediate", False) else "BEGIN")


# A pooled connection unused this long is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping`` without its round trip on every checkout.

    SQLAlchemy's ``pool_pre_ping`` asks the server before *every* checkout, one more round trip (and
    two autocommit switches) per request on PostgreSQL, where a WeChat tap needs one or two
    statements. A connection that went back to the pool less than ``PING_AFTER_IDLE_SECONDS`` ago
    was working then; one idle longer (a restarted server, a firewall's idle timeout) is pinged, and
    a dead one is replaced before anyone uses it (``DisconnectionError`` makes the pool reconnect).
    A connection that dies in between fails its request: the callback answers 503 and WeChat retries
    (:class:`miniservice.wechat.deliveries.DatabaseUnavailable`), and SQLAlchemy then drops the pool's
    other connections to the same server.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("an idle pooled connection did not answer") from exc


class Database:
    """One engine per process, shared by requests, CLI commands and scheduler jobs."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, connect_args={"timeout": 15})
            event.listen(self.engine, "connect", sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            self._writer: Engine = self.engine.execution_options(sqlite_immediate=True)
            self._single: Engine = self.engine.execution_options(sqlite_no_transaction=True)
        else:
            self.engine = create_engine(url, pool_size=10, max_overflow=20)
            _ping_when_idle(self.engine)
            self._writer = self.engine
            self._single = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits when the block ends and rolls back on any exception."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A Core connection in one write transaction, for a few prebuilt statements: without an ORM
        session around them, recording a WeChat delivery costs a fifth less (docs/performance.md)."""
        with self._writer.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only; nothing is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A Core connection outside any transaction, for ONE read statement (it is its own snapshot).

        A 帮助 tap reads one row: in an ORM session the BEGIN and ROLLBACK around it (two more round
        trips on PostgreSQL, a BEGIN statement on SQLite) and the session itself cost several times the
        query (docs/performance.md). Two statements here would not see one state of the database: use
        :meth:`reading` for that.
        """
        with self._single.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def worker_id() -> str:
    """Who holds a claim on rows (reminders, outbox messages): host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def alembic_config(db: Database) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = db.engine
    return config


def init_db(db: Database) -> str:
    """Upgrade the schema to the newest migration; returns the revision now in place."""
    command.upgrade(alembic_config(db), "head")
    with db.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()


def table_names(db: Database) -> list[str]:
    return sorted(inspect(db.engine).get_table_names())


def dialect_insert(source: Session | str) -> Any:
    """The INSERT construct with ON CONFLICT support for a session's backend or a dialect's name."""
    dialect = source if isinstance(source, str) else source.get_bind().dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


def insert_ignore(session: Session, model: type[Any], **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True when a row was inserted.

    For rows that concurrent requests may all try to create (a follower seen for the first time):
    the database, not a prior SELECT, decides who creates it.
    """
    statement = dialect_insert(session)(model).values(**values).on_conflict_do_nothing()
    # psycopg reports -1 for an INSERT's rowcount unless SQLAlchemy is asked to keep the real one.
    result = session.execute(statement.execution_options(preserve_rowcount=True))
    return result.rowcount == 1


def make_revision(db: Database, message: str) -> None:
    """Write a new migration for the difference between the models and an up-to-date ``db``."""
    command.upgrade(alembic_config(db), "head")
    command.revision(alembic_config(db), message=message, autogenerate=True)
