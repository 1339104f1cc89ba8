"""The worker side of distributed crawling: ``newsmon worker`` runs a :class:`CrawlWorker`, an
RQ worker whose tasks (:func:`crawl_task`) each crawl one source in a child process.

Contract:

- :func:`crawl_task` ``(source, timeout) -> run id`` takes the source's
  :class:`~scheduler.distributed.SourceLock` (waiting up to the visibility timeout for a dead
  holder's lock to expire, else raising :class:`SourceBusy`, which RQ retries), closes what an
  earlier attempt of the same task left open (waiting up to ``ORPHAN_WAIT`` for that attempt's
  orphaned crawl process to stop), then makes the service's pre-check
  (:mod:`scheduler.precheck`: every URL answering 304 is an ``ok`` run with no crawl process;
  the worker keeps robots.txt across tasks) and otherwise crawls exactly as ``newsmon run``
  does on one machine: :class:`~scheduler.child.CrawlSupervisor` with its pre-created run row,
  hard timeout, memory cap and statuses. The lock is renewed every third of its lifetime; a
  crawl whose lock went to another holder is stopped. Each attempt's worker and run id go
  into the task's meta.
- :class:`CrawlWorker` is an RQ ``SimpleWorker``: the task runs in the worker's own process,
  the crawl in a child of it (forked from the worker's fork server, as in the service), so
  killing the worker orphans only the crawl process, which stops itself
  (``scheduler.crawl_child`` watches its parent; the fork server exits with the worker).
  A thread renews the RQ execution heartbeat every quarter of the visibility timeout; a
  worker that dies stops
  renewing it, and its task is requeued (:meth:`~scheduler.distributed.CrawlQueue.reap`).
- Stop: the first SIGTERM/SIGINT takes no new task and gives the running crawl
  ``scheduler.grace_period`` to finish before stopping it (recorded as interrupted, exactly as
  the service does); a second signal stops it at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from redis.exceptions import RedisError
from rq.job import Job, get_current_job
from rq.queue import Queue
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker, WorkerStatus
from rq.worker.base import logger as rq_logger
from sqlalchemy import Engine

from config import load_settings
from config.loader import warn_placeholder_contact
from config.schema import Settings
from scheduler.child import CrawlSupervisor
from scheduler.distributed import ORPHAN_WAIT, CrawlQueue, SourceLock, attempt_runs, redacted
from scheduler.forkserver import ForkServer
from scheduler.precheck import PreCheck, pages_due
from storage.scheduler_store import SchedulerStore
from storage.store import Store

logger = logging.getLogger(__name__)


class SourceBusy(Exception):
    """Another task holds this source's crawl lock (one source, one crawl at a time)."""

    def __init__(self, source: str, holder: str | None) -> None:
        self.source = source
        super().__init__(f"source {source!r} is being crawled by another task (lock token "
                         f"{holder or '?'}); not crawling it twice at once")


@dataclass
class WorkerContext:
    """What tasks in this worker process share: set up once by :func:`serve`."""

    settings: Settings
    config_path: Path | None
    engine: Engine
    queue: CrawlQueue
    terminate: threading.Event
    name: str
    log_level: int = logging.WARNING
    #: The conditional-GET pre-check, made on first use (robots.txt kept across tasks).
    precheck: PreCheck | None = None
    #: The fork server crawl processes are forked from (``scheduler.crawl_start``).
    launcher: ForkServer | None = None


_context: WorkerContext | None = None


def worker_name() -> str:
    """host.pid.random: readable, and unique even for pid 1 in a restarted container."""
    return f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"


def _get_context() -> WorkerContext:
    """The worker's context; a task run by a plain ``rq worker`` builds one from
    ``$NEWSMON_CONFIG`` (the settings must then name the same queue)."""
    global _context
    if _context is None:
        settings = load_settings()
        config = os.environ.get("NEWSMON_CONFIG")
        _context = WorkerContext(
            settings, Path(config) if config else None,
            Store.from_url(settings.database_url).engine,
            CrawlQueue.from_settings(settings.distributed), threading.Event(),
            os.environ.get("RQ_WORKER_ID") or worker_name())
    return _context


class _AttemptStore(SchedulerStore):
    """Records each run row the supervisor opens in the task's meta, with this worker's name,
    so a retry knows what an earlier attempt left behind."""

    def __init__(self, engine: Engine, job: Job | None, worker: str) -> None:
        super().__init__(engine)
        self.job = job
        self.worker = worker

    def open_run(self, source: str, **kwargs: Any) -> int:
        run_id = super().open_run(source, **kwargs)
        if self.job is not None:
            try:
                self.job.meta.setdefault("attempts", []).append(
                    {"worker": self.worker, "run": run_id})
                self.job.save_meta()  # type: ignore[no-untyped-call]
            except RedisError as exc:
                logger.warning("%s: cannot note run %d in its task: %s", source, run_id, exc)
        return run_id


def _settle_previous(store: SchedulerStore, runs: list[int], ctx: WorkerContext) -> None:
    """Wait for the crawl processes of earlier attempts to end, then close their rows."""
    deadline = time.monotonic() + ORPHAN_WAIT
    for run_id in runs:
        while time.monotonic() < deadline and not ctx.terminate.is_set():
            end = store.run_end(run_id)
            if end is None or end[0] != "running":
                break
            time.sleep(0.5)
        if store.end_run(run_id, "interrupted", "the worker running this crawl stopped "
                         f"sending heartbeats; the task ran again on worker {ctx.name}",
                         only_if_running=True):
            logger.warning("run %d: its worker died; closed it as interrupted", run_id)


def _keep_lock(lock: SourceLock, ctx: WorkerContext, done: threading.Event,
               stop_crawl: threading.Event) -> None:
    """Renew ``lock`` until ``done``; stop the crawl if the worker stops or the lock is lost."""
    renew_every = lock.ttl_ms / 3000
    next_renew = time.monotonic() + renew_every
    while not done.wait(0.25):
        if ctx.terminate.is_set():
            stop_crawl.set()
        if time.monotonic() < next_renew:
            continue
        next_renew = time.monotonic() + renew_every
        try:
            if lock.renew() or lock.acquire():
                continue
        except RedisError as exc:
            logger.warning("cannot renew the crawl lock %s (will retry): %s", lock.key, exc)
            continue
        logger.error("lost the crawl lock %s to another task; stopping this crawl", lock.key)
        stop_crawl.set()


def crawl_task(source: str, timeout: float) -> int:
    """Crawl ``source`` once on this worker (see the module docstring); its crawl_runs id."""
    ctx = _get_context()
    job = get_current_job()
    lock = ctx.queue.lock(source)
    if not lock.acquire(wait=ctx.queue.visibility + 5):
        raise SourceBusy(source, lock.holder())
    done, stop_crawl = threading.Event(), threading.Event()
    keeper = threading.Thread(target=_keep_lock, args=(lock, ctx, done, stop_crawl),
                              name=f"lock-{source}", daemon=True)
    keeper.start()
    try:
        store = _AttemptStore(ctx.engine, job, ctx.name)
        if job is not None:
            _settle_previous(store, attempt_runs(job), ctx)
        conf = ctx.settings
        unchanged = _precheck(ctx, store, source)
        if unchanged is not None:
            return unchanged
        supervisor = CrawlSupervisor(
            store, config_path=ctx.config_path,
            kill_after=conf.scheduler.kill_after.total_seconds(),
            memory_limit_mb=conf.crawl.memory_limit_mb, log_level=ctx.log_level,
            launcher=ctx.launcher)
        result = supervisor.run(source, timeout, stop_crawl)
        logger.info("%s: run %d %s in %.1f s", source, result.run_id, result.status,
                    result.seconds)
        return result.run_id
    finally:
        done.set()
        keeper.join(timeout=5)
        try:
            lock.release()
        except RedisError as exc:
            logger.warning("cannot release the crawl lock %s (it expires by itself): %s",
                           lock.key, exc)


def _precheck(ctx: WorkerContext, store: SchedulerStore, source: str) -> int | None:
    """The run id of an unchanged source's run, recorded without a crawl (every URL
    answered 304, :mod:`scheduler.precheck`); None: crawl it."""
    if not ctx.settings.scheduler.precheck:
        return None
    try:
        conf = ctx.settings.source(source)
    except KeyError:
        return None  # the crawl child says so, as before
    if ctx.precheck is None:
        ctx.precheck = PreCheck(ctx.settings, store.validators_of)
    started, began = datetime.now(UTC), time.monotonic()
    if pages_due(store, conf, started):
        logger.debug("%s: pre-check: article pages are due; crawling", source)
        return None
    verdict = ctx.precheck.check(conf, stop=ctx.terminate.is_set)
    if not verdict.unchanged:
        logger.debug("%s: pre-check: %s; crawling", source, verdict.reason)
        return None
    run_id = store.add_unchanged_run(source, started_at=started, requests=verdict.requests,
                                     pid=os.getpid())
    logger.info("%s: run %d ok in %.2f s: not modified (pre-check, no crawl)", source,
                run_id, time.monotonic() - began)
    return run_id


class CrawlWorker(SimpleWorker):
    """An RQ worker for crawl tasks; see the module docstring."""

    def __init__(self, queues: list[Queue], *, visibility_timeout: int, grace_period: float,
                 terminate: threading.Event, **kwargs: Any) -> None:
        self.visibility_timeout = visibility_timeout
        self.beat_interval = max(1.0, visibility_timeout / 4)
        self.grace_period = grace_period
        self.terminate = terminate
        self._grace_timer: threading.Timer | None = None
        # An idle worker wakes up this often to heartbeat and to requeue abandoned tasks.
        dequeue = max(1, min(15, visibility_timeout // 2))
        super().__init__(queues, worker_ttl=dequeue + 15,
                         job_monitoring_interval=max(1, int(self.beat_interval)),
                         maintenance_interval=max(1, visibility_timeout // 2),
                         serializer=JSONSerializer, **kwargs)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # The visibility timeout: a task whose worker is silent this long is abandoned.
        return self.visibility_timeout

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.beat_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except RedisError as exc:
                    logger.warning("cannot send the task heartbeat (will retry): %s", exc)

        thread = threading.Thread(target=beat, name="task-heartbeat", daemon=True)
        thread.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            thread.join(timeout=5)
        self.set_state(WorkerStatus.IDLE)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """First signal: no new task; the running crawl gets the grace period."""
        if self.get_state() == WorkerStatus.BUSY and self._grace_timer is None:
            rq_logger.warning("Worker %s: stopping after the running crawl; it is stopped in "
                              "%.0f s unless it ends first", self.name, self.grace_period)
            self._grace_timer = threading.Timer(self.grace_period, self.terminate.set)
            self._grace_timer.daemon = True
            self._grace_timer.start()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """Second signal: stop the running crawl now (recorded as interrupted), then exit."""
        if self.get_state() == WorkerStatus.BUSY:
            rq_logger.warning("Worker %s: stopping the running crawl now", self.name)
            self.terminate.set()
            self._stop_requested = True
            return
        super().request_force_stop(signum, frame)


def serve(settings: Settings, config_path: Path | None, *, log_level: int = logging.WARNING,
          burst: bool = False) -> None:
    """Run a crawl worker on ``settings.distributed``'s queue until stopped.

    Raises :class:`~scheduler.distributed.DistributedError` if Redis cannot be reached, and
    the store's errors if the database cannot."""
    global _context
    queue = CrawlQueue.from_settings(settings.distributed)
    store = Store.from_url(settings.database_url)  # applies pending migrations
    terminate = threading.Event()
    name = worker_name()
    launcher = ForkServer() if settings.scheduler.crawl_start == "forkserver" else None
    _context = WorkerContext(settings, config_path, store.engine, queue, terminate, name,
                             log_level, launcher=launcher)
    worker = CrawlWorker([queue.queue], name=name, connection=queue.redis,
                         visibility_timeout=queue.visibility,
                         grace_period=settings.scheduler.grace_period.total_seconds(),
                         terminate=terminate)
    logger.info("worker %s taking crawl tasks from queue %s on %s", name, queue.name,
                redacted(settings.distributed.redis_url or ""))
    warn_placeholder_contact(settings)  # once here, not once per crawl child
    try:
        # RQ's own INFO lines (registry cleaning every few seconds) only with -v.
        worker.work(burst=burst, logging_level="INFO" if log_level <= logging.INFO
                    else "WARNING")
    finally:
        _context = None
        if launcher is not None:
            launcher.close()
        store.close()
