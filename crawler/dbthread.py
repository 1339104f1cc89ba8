"""The crawl's database calls run in one thread of their own, never on the reactor.

A lock wait or a slow database then holds up only what needs its answer (a feed's known
keys, a batch write); downloads and the other sources' callbacks go on. One thread, so the
calls run one at a time in the order they were made, as they did on the reactor: a batch
is written before a later lookup reads, and SQLite sees one writer from this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads
from twisted.internet.defer import Deferred
from twisted.python.threadpool import ThreadPool

_P = ParamSpec("_P")
_T = TypeVar("_T")

_pool: ThreadPool | None = None


def _thread_pool() -> ThreadPool:
    """The database thread, started on first use and stopped when the reactor stops."""
    global _pool
    if _pool is None:
        from twisted.internet import reactor  # the installed one: never install it on import

        pool = ThreadPool(minthreads=1, maxthreads=1, name="newsmon-database")
        pool.start()
        trigger: Any = reactor.addSystemEventTrigger  # IReactorCore's stub reads it wrongly
        trigger("during", "shutdown", _stop, pool)
        _pool = pool
    return _pool


def _stop(pool: ThreadPool) -> None:
    global _pool
    if _pool is pool:
        _pool = None
    pool.stop()


def in_db_thread(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
    """Call ``f(*args, **kwargs)`` in the database thread; a Deferred of its result (or its
    exception). Call it from the reactor thread."""
    from twisted.internet import reactor

    return threads.deferToThreadPool(reactor, _thread_pool(), f, *args, **kwargs)


async def run_db(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Await ``f(*args, **kwargs)`` run in the database thread (from a Scrapy coroutine:
    a callback, ``start``, a pipeline or signal handler)."""
    result: Any = await maybe_deferred_to_future(in_db_thread(f, *args, **kwargs))
    return result  # type: ignore[no-any-return]


__all__ = ["in_db_thread", "run_db"]
