"""The crawl's database calls run in one thread of their own, never on the reactor.

A lock wait or a slow database then holds up only what needs its answer (a feed's known
keys, a batch write); downloads and the other sources' callbacks go on. One thread, so the
calls run one at a time in the order they were made, as they did on the reactor: a batch
is written before a later lookup reads, and SQLite sees one writer from this process.

The per-host politeness calls made for each request (:mod:`crawler.host_slots`: slots,
the shared delay) have a thread of their own (:func:`in_hosts_thread`), so that a request
does not wait behind a batch write to learn whether it may go.
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

_pools: dict[str, ThreadPool] = {}


def _thread_pool(name: str = "newsmon-database") -> ThreadPool:
    """The thread ``name``, started on first use and stopped when the reactor stops."""
    pool = _pools.get(name)
    if pool is None:
        from twisted.internet import reactor  # the installed one: never install it on import

        pool = ThreadPool(minthreads=1, maxthreads=1, name=name)
        pool.start()
        trigger: Any = reactor.addSystemEventTrigger  # IReactorCore's stub reads it wrongly
        trigger("during", "shutdown", _stop, name, pool)
        _pools[name] = pool
    return pool


def _stop(name: str, pool: ThreadPool) -> None:
    if _pools.get(name) is pool:
        del _pools[name]
    pool.stop()


def in_db_thread(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
    """Call ``f(*args, **kwargs)`` in the database thread; a Deferred of its result (or its
    exception). Call it from the reactor thread."""
    from twisted.internet import reactor

    return threads.deferToThreadPool(reactor, _thread_pool(), f, *args, **kwargs)


def in_hosts_thread(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
                    ) -> Deferred[_T]:
    """As :func:`in_db_thread`, in the thread of the per-host politeness calls."""
    from twisted.internet import reactor

    return threads.deferToThreadPool(reactor, _thread_pool("newsmon-hosts"), f, *args,
                                     **kwargs)


async def run_db(f: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Await ``f(*args, **kwargs)`` run in the database thread (from a Scrapy coroutine:
    a callback, ``start``, a pipeline or signal handler)."""
    result: Any = await maybe_deferred_to_future(in_db_thread(f, *args, **kwargs))
    return result  # type: ignore[no-any-return]


__all__ = ["in_db_thread", "in_hosts_thread", "run_db"]
