"""Service: the long-running ``newsmon run`` — every enabled source crawled on its own timetable
in child processes, one service per database, a clean stop on SIGTERM/SIGINT.

Contract:

- ``run()`` takes the database's scheduler lock (raises :class:`~scheduler.lock.LockHeld` if a
  live service holds it), closes runs orphaned by a crashed predecessor, schedules one job per
  enabled source (job id = source name) and the daily digest if configured, and blocks until
  stopped. It returns normally after a signal; it raises :class:`~scheduler.lock.LockLost`
  after stopping if another service took the lock over.
- Jobs only supervise child processes (:mod:`scheduler.child`); this process never runs
  Twisted. First, though, a job asks the source's URLs with their kept validators from here
  (:mod:`scheduler.precheck`, ``scheduler.precheck``): when every one answers 304 the run is
  recorded as ``ok`` with no crawl process at all; anything else starts the child as before.
  ``max_instances=1`` (a source never overlaps itself), ``coalesce=True`` (missed
  runs become one) and a misfire grace of the source's interval up to an hour.
- Distributed: with ``distributed.redis_url`` set, a job queues its source's crawl as a task
  instead and waits for it (:mod:`scheduler.distributed`); ``newsmon worker`` processes run
  the child processes, and everything here holds unchanged, ``max_parallel`` now counting
  crawls across all workers. Redis must answer when the service starts.
- Persistence: the jobs are rebuilt from the YAML on every start, and each source's next run
  time is kept in ``source_state`` with a fingerprint of the schedule it came from. A restart
  therefore keeps the timetable (back-off included), a changed schedule takes effect at once,
  and nothing is pickled: APScheduler's SQLAlchemyJobStore would store pickled bound methods
  that break when code moves, and would keep a second, competing copy of the configuration.
- Failures: a source whose runs failed or timed out ``failure_threshold`` times in a row is
  held back (interval × factor^k, capped), logged at ERROR, and shown by ``newsmon sources``;
  its next success clears it. Nothing a job does can stop the scheduler.
- Stop: the first SIGTERM/SIGINT stops new runs and gives running ones ``grace_period`` to
  finish; then they get SIGTERM, SIGKILL ``kill_after`` later, and are recorded as
  ``interrupted``. A second signal skips the grace period. The lock is released on the way out.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from config.loader import warn_placeholder_contact
from config.schema import Settings, Source
from scheduler.adaptive import Cadence, bounds, read_cadence
from scheduler.banner import startup_lines
from scheduler.child import CrawlResult, CrawlSupervisor, run_process
from scheduler.forkserver import ForkServer
from scheduler.jobs import (
    DIGEST_JOB_ID,
    backoff_delay,
    build_trigger,
    digest_trigger,
    first_run_time,
    format_duration,
    misfire_grace,
    nominal_period,
    schedule_key,
)
from scheduler.lock import LockLost, SchedulerLock
from scheduler.precheck import PreCheck, pages_due
from storage import search_index
from storage.run_locks import pid_alive
from storage.scheduler_store import FAILURE, SUCCESS, SchedulerStore, SourceHistory, utcnow

#: PostgreSQL: how often the service indexes queued articles for search, and how many at most
#: per run (about half a minute of one database core).
INDEX_JOB_ID = "newsmon:search-index"
INDEX_EVERY_S = 60
INDEX_LIMIT = 20_000


if TYPE_CHECKING:
    from scheduler.distributed import QueueSupervisor

logger = logging.getLogger(__name__)


class Service:
    """The scheduler service for one database; see the module docstring for the contract."""

    def __init__(
        self, settings: Settings, store: SchedulerStore, *, config_path: Path | None,
        digest_command: Sequence[str] | None = None, child_log_level: int = logging.WARNING,
        python: str = sys.executable, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.conf = settings.scheduler
        self.store = store
        self.clock = clock
        self.sources: dict[str, Source] = {s.name: s for s in settings.enabled_sources()}
        self._first_runs: dict[str, datetime | None] = {}
        self.digest_command = list(digest_command) if digest_command else None
        self.lock = SchedulerLock(store, stale_after=self.conf.stale_lock_after, clock=clock)
        #: Crawl processes are forked from it (started on the first crawl, stopped with us).
        self.launcher: ForkServer | None = None
        if self.conf.crawl_start == "forkserver" and settings.distributed.redis_url is None:
            self.launcher = ForkServer(python)
        self.supervisor: CrawlSupervisor | QueueSupervisor = CrawlSupervisor(
            store, config_path=config_path, kill_after=self.conf.kill_after.total_seconds(),
            memory_limit_mb=settings.crawl.memory_limit_mb, python=python,
            log_level=child_log_level, launcher=self.launcher,
        )
        if settings.distributed.redis_url is not None:
            # Distributed: each run is a task on the queue, crawled by a `newsmon worker`.
            from scheduler.distributed import CrawlQueue, QueueSupervisor

            self.supervisor = QueueSupervisor(
                store, CrawlQueue.from_settings(settings.distributed))
        #: The conditional-GET pre-check (:mod:`scheduler.precheck`); distributed, the
        #: workers make it, so that its requests come from where the crawls do.
        self.precheck: PreCheck | None = None
        if self.conf.precheck and settings.distributed.redis_url is None:
            self.precheck = PreCheck(settings, store.validators_of)
        #: Set once a stop was asked for: no new runs start.
        self.draining = threading.Event()
        #: Set when running children must stop now (grace period over, or a second signal).
        self.terminate = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self._active: dict[str, int] = {}
        self._active_lock = threading.Lock()
        # Runs that could not be opened while the database was away: (source, due, why).
        self._missed: list[tuple[str, datetime, str]] = []
        self._failures: dict[str, int] = {}
        #: Each source's effective schedule (its interval adapted: scheduler.adaptive).
        self._cadences: dict[str, Cadence] = {}
        self._signals = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._lost: LockLost | None = None

    # -- life cycle --------------------------------------------------------------------

    def run(self) -> None:
        """Serve until stopped (signal or :meth:`request_stop`); see the module docstring."""
        self.lock.acquire()
        previous: list[tuple[signal.Signals, Any]] = []
        alerts: Any = None
        try:
            self._close_orphans()
            self.scheduler = self._build_scheduler()
            self._add_jobs(self.scheduler)
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGTERM, signal.SIGINT):
                    previous.append((sig, signal.signal(sig, self._on_signal)))
            self.scheduler.start()
            alerts = self._start_alerts()
            for line in startup_lines(self.settings, self._first_runs):
                logger.info("%s", line)
            logger.info("newsmon scheduler running: pid %s on %s, up to %d %s at once",
                        os.getpid(), socket.gethostname(), self.conf.max_parallel,
                        "crawl" if self.conf.max_parallel == 1 else "crawls")
            warn_placeholder_contact(self.settings)  # once here, not per crawl child
            self._serve()
            self._stop()
        finally:
            if self.scheduler is not None and self.scheduler.running:
                self.terminate.set()
                self.scheduler.shutdown(wait=True)
            if alerts is not None:
                alerts.stop()
            if self.launcher is not None:
                self.launcher.close()
            for signum, handler in previous:
                signal.signal(signum, handler)
            self.lock.release()
            os.close(self._wake_r)
            os.close(self._wake_w)
        if self._lost is not None:
            raise self._lost
        logger.info("newsmon scheduler stopped")

    def _start_alerts(self) -> Any:
        """The alerts' delivery worker (a thread), when watchlists are configured: the crawl
        children write the outbox, this process sends from it."""
        if not self.settings.watchlists:
            return None
        from alerts.delivery import DeliveryWorker
        from storage.store import Store

        return DeliveryWorker(Store(self.store.engine), self.settings).start()

    def request_stop(self, now: bool = False) -> None:
        """Ask :meth:`run` to stop (thread-safe); ``now`` skips the grace period."""
        self._signals += 2 if now else 1
        self._wake()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only what is safe in a signal handler: a counter and a byte on a pipe.
        self._signals += 1
        self._wake()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except (BlockingIOError, OSError):
            pass

    def _sleep(self, seconds: float) -> None:
        """Wait up to ``seconds``, returning early on a signal or request_stop()."""
        ready, _, _ = select.select([self._wake_r], [], [], max(seconds, 0))
        if ready:
            try:
                os.read(self._wake_r, 512)
            except BlockingIOError:
                pass

    def _beat(self) -> None:
        try:
            self.lock.heartbeat()
        except LockLost as exc:
            logger.critical("%s; stopping", exc)
            self._lost = exc
            self._signals = max(self._signals, 1)
        except SQLAlchemyError as exc:
            logger.error("cannot write the heartbeat (will retry): %s", exc)

    def _serve(self) -> None:
        interval = self.conf.heartbeat_interval.total_seconds()
        next_beat = time.monotonic() + interval
        while self._signals == 0:
            self._sleep(next_beat - time.monotonic())
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + interval

    def _stop(self) -> None:
        assert self.scheduler is not None
        self.draining.set()
        self.scheduler.pause()
        grace = self.conf.grace_period.total_seconds()
        running = self._running()
        if running:
            logger.warning("stopping: %d %s running (%s); waiting up to %s for %s",
                           len(running), "crawl" if len(running) == 1 else "crawls",
                           ", ".join(running), format_duration(self.conf.grace_period),
                           "it" if len(running) == 1 else "them")
        else:
            logger.info("stopping: no crawls running")
        self._wait_idle(time.monotonic() + grace, until_signal=2)
        running = self._running()
        if running:
            logger.warning("stopping %d %s (%s); %s will be recorded as interrupted",
                           len(running), "crawl" if len(running) == 1 else "crawls",
                           ", ".join(running), "it" if len(running) == 1 else "they")
        self.terminate.set()
        self._wait_idle(time.monotonic() + self.conf.kill_after.total_seconds() + 10)
        self.scheduler.shutdown(wait=True)
        self._save_next_runs()

    def _wait_idle(self, deadline: float, until_signal: int | None = None) -> None:
        interval = self.conf.heartbeat_interval.total_seconds()
        next_beat = time.monotonic()
        while self._running() and time.monotonic() < deadline:
            if until_signal is not None and self._signals >= until_signal:
                return
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + interval
            self._sleep(min(0.2, deadline - time.monotonic()))

    def _running(self) -> list[str]:
        with self._active_lock:
            return sorted(self._active)

    # -- set-up ------------------------------------------------------------------------

    def _close_orphans(self) -> None:
        """Close runs a crashed predecessor left ``running`` (whose process is gone)."""
        host = socket.gethostname()
        longest = max([(s.timeout or self.settings.crawl.source_timeout) for s in
                       self.settings.sources] or [self.settings.crawl.source_timeout])
        too_old = self.clock() - (2 * longest + timedelta(minutes=10))

        def orphan(run_host: str | None, pid: int | None, started: datetime) -> bool:
            if started < too_old:
                return True
            return run_host == host and pid is not None and not pid_alive(pid)

        closed = self.store.close_orphaned_runs(
            orphan, "the crawl process was gone when the service started")
        if closed:
            logger.warning("closed %d runs left running by a previous service as interrupted: "
                           "%s", len(closed), ", ".join(map(str, closed)))

    def _build_scheduler(self) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self.conf.max_parallel),
                       "digest": ThreadPoolExecutor(1), "index": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone="UTC",
        )
        scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES)
        return scheduler

    def _add_jobs(self, scheduler: BackgroundScheduler) -> None:
        now = self.clock()
        states = self.store.states()
        for name, source in self.sources.items():
            state = states.get(name)
            first = first_run_time(source.schedule, state, now)
            cadence = read_cadence(name, source.schedule, self.conf, self.store, now)
            self._cadences[name] = cadence
            scheduler.add_job(
                self._run_source, build_trigger(cadence.schedule), args=[name], id=name,
                name=name, max_instances=1, coalesce=True,
                misfire_grace_time=misfire_grace(cadence.schedule, self.conf, now),
                next_run_time=first, replace_existing=True,
            )
            self.store.save_schedule(name, schedule_key(source.schedule), cadence.describe(),
                                     first)
            self._failures[name] = state.consecutive_failures if state else 0
            self._first_runs[name] = first
            logger.debug("%s: %s, next run %s", name, cadence.describe(),
                         first.isoformat(timespec="seconds"))
        if search_index.enabled(self.store.engine):
            scheduler.add_job(self._run_index, IntervalTrigger(seconds=INDEX_EVERY_S),
                              id=INDEX_JOB_ID, name="search index", executor="index",
                              max_instances=1, coalesce=True, replace_existing=True,
                              next_run_time=self.clock())  # an upgrade's backlog at once
        trigger = digest_trigger(self.settings)
        if trigger is not None and self.digest_command is None:
            logger.warning("scheduler.digest_time is set but this newsmon has no digest "
                           "command; no digest job")
        elif trigger is not None:
            scheduler.add_job(self._run_digest, trigger, id=DIGEST_JOB_ID, name="digest",
                              executor="digest", max_instances=1, coalesce=True,
                              misfire_grace_time=3600, replace_existing=True)

    # -- jobs --------------------------------------------------------------------------

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        if event.job_id in self.sources:
            self._save_next_runs([event.job_id])

    def _save_next_runs(self, names: Sequence[str] | None = None) -> None:
        if self.scheduler is None:
            return
        pairs = []
        for name in names if names is not None else list(self.sources):
            job = self.scheduler.get_job(name)
            if job is not None:
                pairs.append((name, job.next_run_time))
        try:
            self.store.save_next_runs(pairs)
        except SQLAlchemyError as exc:
            logger.error("cannot save next run times: %s", exc)

    def _run_source(self, name: str) -> None:
        """One scheduled run of source ``name`` (in an executor thread)."""
        if self.draining.is_set():
            return
        source = self.sources[name]
        timeout = (source.timeout or self.settings.crawl.source_timeout).total_seconds()
        with self._active_lock:
            self._active[name] = self._active.get(name, 0) + 1
        started = self.clock()
        try:
            self._record_missed_runs()
            result = self._precheck(source) if self.precheck is not None else None
            if result is None:
                result = self.supervisor.run(name, timeout, self.terminate)
                self._after_run(source, result)
            else:
                self._after_run(source, result, SourceHistory(
                    last_run_at=self.clock(), last_status="ok", last_success_at=self.clock(),
                    consecutive_failures=0, articles=0))
        except SQLAlchemyError as exc:
            # The database is away: the run cannot even be opened. Say so now in the log, and
            # in the run history as soon as the database is back.
            reason = getattr(exc, "orig", None) or exc
            message = f"database unavailable, the run could not start: {reason}".strip()
            logger.error("%s: %s", name, message)
            with self._active_lock:
                self._missed.append((name, started, message))
        except Exception:
            logger.exception("%s: the run could not be supervised", name)
        finally:
            with self._active_lock:
                self._active[name] -= 1
                if not self._active[name]:
                    del self._active[name]

    def _precheck(self, source: Source) -> CrawlResult | None:
        """An unchanged source's run, recorded without a crawl; None: crawl it."""
        assert self.precheck is not None
        started, began = self.clock(), time.monotonic()
        if pages_due(self.store, source, started):
            logger.debug("%s: pre-check: article pages are due (refused pages to try again, "
                         "re-fetches); crawling", source.name)
            return None
        verdict = self.precheck.check(source, stop=self.draining.is_set)
        if not verdict.unchanged:
            logger.debug("%s: pre-check: %s; crawling", source.name, verdict.reason)
            return None
        run_id = self.store.add_unchanged_run(source.name, started_at=started,
                                              requests=verdict.requests, pid=os.getpid())
        logger.info("%s: run %d ok in %.2f s: not modified (pre-check, %d requests, no crawl)",
                    source.name, run_id, time.monotonic() - began, verdict.requests)
        return CrawlResult(run_id, source.name, "ok", None, time.monotonic() - began, None)

    def _record_missed_runs(self) -> None:
        """Write the runs the database missed while it was away, as failed (once it is back).

        Raises SQLAlchemyError while it is still away; what could not be written stays."""
        with self._active_lock:
            missed, self._missed = self._missed, []
        try:
            while missed:
                name, started, message = missed[0]
                run_id = self.store.open_run(name, started_at=started)
                self.store.end_run(run_id, "failed", message)
                missed.pop(0)
        finally:
            if missed:
                with self._active_lock:
                    self._missed[:0] = missed

    def _after_run(self, source: Source, result: CrawlResult,
                   history: SourceHistory | None = None) -> None:
        """Log a run's end, back the source off or clear it, save its state. ``history``:
        what the run history now says, when the caller knows it without asking."""
        name = source.name
        if result.status == "skipped":  # another crawl of the source runs (its run lock)
            logger.warning("%s: run %d skipped: %s", name, result.run_id,
                           result.first_error or "another crawl of it is running")
            self._save_next_runs([name])
            return
        run = result.run
        if run is not None:
            log = logger.info if result.status in SUCCESS else logger.warning
            log("%s: run %d %s in %.1f s: %d requests, %d bytes, %d new, %d updated, "
                "%d unchanged, %d dropped, %d %s%s", name, result.run_id, result.status,
                result.seconds, run.requests, run.bytes, run.new, run.updated, run.unchanged,
                run.dropped, run.errors, "error" if run.errors == 1 else "errors",
                f"; first error: {run.first_error}"
                if run.first_error else "")
        now = self.clock()
        if history is None:
            history = self.store.history(name)
        before = self._failures.get(name, 0)
        failures = history.consecutive_failures
        self._failures[name] = failures
        self._adapt(source, now)
        until: datetime | None = None
        effective = self._cadences[name].schedule if name in self._cadences else source.schedule
        delay = backoff_delay(nominal_period(effective, now), failures, self.conf)
        if delay is not None and result.status in FAILURE and not self.draining.is_set():
            until = now + delay
            job = self.scheduler.get_job(name) if self.scheduler is not None else None
            if job is not None and (job.next_run_time is None or job.next_run_time < until):
                assert self.scheduler is not None
                self.scheduler.modify_job(name, next_run_time=until)
            logger.error("%s: %d failed runs in a row (last: %s); backing off, next run at %s "
                         "(in %s)", name, failures, result.first_error or result.status,
                         until.isoformat(timespec="seconds"), format_duration(delay))
        elif result.status in SUCCESS and before >= self.conf.failure_threshold:
            logger.warning("%s: recovered after %d failed runs in a row", name, before)
        self.store.save_result(name, status=result.status, at=now, failures=failures,
                               last_success_at=history.last_success_at,
                               backed_off_until=until)
        self._save_next_runs([name])

    def _adapt(self, source: Source, now: datetime) -> None:
        """Follow the source's publishing rate (:mod:`scheduler.adaptive`): when its interval
        changed, its job gets the new trigger (next run one new interval from now) and grace.

        Only the trigger changes: the job stays the one job of its source (``max_instances=1``,
        the run lock, the supervision of its process are untouched), and a back-off set after
        this still wins. A database error keeps the interval as it was."""
        name = source.name
        if (self.scheduler is None or self.draining.is_set()
                or bounds(source.schedule, self.conf) is None):
            return
        try:
            new = read_cadence(name, source.schedule, self.conf, self.store, now)
        except SQLAlchemyError as exc:
            logger.warning("%s: cannot read its publishing rate; its interval stays: %s",
                           name, getattr(exc, "orig", None) or exc)
            return
        old = self._cadences.get(name)
        self._cadences[name] = new
        if old is not None and old.interval == new.interval:
            return
        if self.scheduler.get_job(name) is None:
            return
        self.scheduler.reschedule_job(name, trigger=build_trigger(new.schedule))
        job = self.scheduler.modify_job(
            name, misfire_grace_time=misfire_grace(new.schedule, self.conf, now))
        was = format_duration(old.interval) if old is not None and old.interval else "?"
        try:
            self.store.save_schedule(name, schedule_key(source.schedule), new.describe(),
                                     job.next_run_time)
        except SQLAlchemyError as exc:  # the job has it; the next save of next runs too
            logger.warning("%s: cannot save its new schedule: %s", name,
                           getattr(exc, "orig", None) or exc)
        logger.info("%s: %s (was every %s), next run at %s", name, new.describe(), was,
                    job.next_run_time.isoformat(timespec="seconds"))

    def _run_index(self) -> None:
        """PostgreSQL: index what bulk writers left queued for search (crawls index their
        own articles as they store them). Stops between batches when the service stops."""
        try:
            done = search_index.index_pending(self.store.engine, limit=INDEX_LIMIT,
                                              stop=self.draining.is_set)
            if done:
                logger.info("search index: indexed %d articles", done)
        except SQLAlchemyError as exc:
            logger.warning("search index: cannot index now (will retry): %s",
                           getattr(exc, "orig", None) or exc)

    def _run_digest(self) -> None:
        """The daily digest, in a child process like a crawl (in the digest executor)."""
        if self.draining.is_set() or self.digest_command is None:
            return
        timeout = self.settings.crawl.source_timeout.total_seconds()
        with self._active_lock:
            self._active["digest"] = self._active.get("digest", 0) + 1
        try:
            outcome = run_process(self.digest_command, timeout=timeout,
                                  terminate=self.terminate,
                                  kill_after=self.conf.kill_after.total_seconds(),
                                  label="digest")
            if outcome.returncode == 0:
                logger.info("digest: done in %.1f s", outcome.seconds)
            else:
                logger.error("digest: %s (%s)", outcome.describe_exit(),
                             outcome.stopped or "failed")
        except Exception:
            logger.exception("digest: could not run")
        finally:
            with self._active_lock:
                self._active["digest"] -= 1
                if not self._active["digest"]:
                    del self._active["digest"]
