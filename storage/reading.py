"""One connection for the reads of one request: :func:`one_connection` pins a connection for
the current context (thread or task), and the read functions that open theirs with
:func:`connection` use it instead of checking out another from the pool.

A page that makes a dozen small reads (an article with its story, versions and evidence)
then costs one checkout and, on PostgreSQL, one transaction — one snapshot, so its parts
agree — instead of a dozen, each with its own BEGIN and ROLLBACK round trips.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from storage.store import Store

_PINNED: ContextVar[Connection | None] = ContextVar("newsmon_pinned_connection", default=None)


@contextmanager
def connection(store: Store) -> Iterator[Connection]:
    """A connection to ``store``'s database: the one :func:`one_connection` pinned in this
    context (left open at the end of the block), else a new one from the pool (closed)."""
    pinned = _PINNED.get()
    if pinned is not None and pinned.engine is store.engine and not pinned.closed:
        yield pinned
        return
    with store.engine.connect() as conn:
        yield conn


@contextmanager
def one_connection(store: Store) -> Iterator[Connection]:
    """Pin one connection to ``store``'s database for the reads inside the block."""
    with store.engine.connect() as conn:
        token = _PINNED.set(conn)
        try:
            yield conn
        finally:
            _PINNED.reset(token)


__all__ = ["connection", "one_connection"]
