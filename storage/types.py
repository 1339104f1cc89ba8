"""Column types shared by the models: UTC datetimes that come back aware on every database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Text, bindparam, cast
from sqlalchemy.engine import Dialect
from sqlalchemy.types import Float, Integer, TypeDecorator, TypeEngine


def naive_utc(value: datetime) -> datetime:
    """``value`` as stored: naive UTC. Refuses a naive ``value`` rather than guess its zone."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
    return value.astimezone(UTC).replace(tzinfo=None)


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, return aware UTC; reject naive input rather than guess its zone."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a view
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no array literal for {type(value).__name__} {value!r}")


def array_literal(values: Iterable[Any]) -> str:
    """``values`` as a PostgreSQL array literal, ``{1,2,NULL}``."""
    return "{" + ",".join(map(_array_element, values)) + "}"


def pg_array(values: Iterable[Any], item_type: TypeEngine[Any]) -> ColumnElement[Any]:
    """A PostgreSQL array parameter sent as one text literal and cast by the server. psycopg
    dumps a Python list element by element in Python (~15 ms for 10,000 numbers or strings),
    where joining the literal takes ~1 ms: for the batch lookups that send tens of thousands
    of LSH buckets and headline pairs at once."""
    from sqlalchemy.dialects.postgresql import ARRAY  # PostgreSQL only: not imported on SQLite

    if isinstance(item_type, Integer | Float):  # numbers need no quoting: one join
        literal = "{" + ",".join(map(repr if isinstance(item_type, Float) else str,
                                     values)) + "}"
    else:
        literal = array_literal(values)
    return cast(bindparam(None, literal, Text()), ARRAY(item_type))
