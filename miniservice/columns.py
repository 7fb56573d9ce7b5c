"""Column types that keep their meaning on SQLite and PostgreSQL alike.

SQLite forgets time zones and stores NUMERIC as floating point, so a timestamp is stored as naive UTC
and handed back aware, and money is stored as whole 分 in an integer and handed back as ``Decimal``
yuan: no backend can round a citizen's amount.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from miniservice.rules.money import FEN, to_fen


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that refuses naive datetimes and always returns UTC-aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """``Decimal`` yuan in Python, integer 分 in the database; refuses amounts finer than 1 分."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        if to_fen(value) != value:
            raise ValueError(f"round money to 分 before storing it: {value}")
        return int(value / FEN)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value) * FEN


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (a status, a kind)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
