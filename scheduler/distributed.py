"""Crawling on several machines: one RQ task per due source, run by ``newsmon worker``
processes anywhere, on a Redis the scheduler and the workers share.

Contract:

- :class:`CrawlQueue` is the queue glue. Each source has one task id (``crawl-<queue>_<source>``)
  and :meth:`CrawlQueue.submit` enqueues it only if no task of that source is queued, started or
  scheduled for a retry (RQ's ``unique`` enqueue decides atomically; a finished or failed task
  is replaced). So a source is never queued twice, whatever the scheduler's timing.
- :class:`SourceLock` is the per-site politeness guard across workers: a Redis key per source
  (``SET NX PX`` with a random token), renewed while the crawl runs and released at its end; a
  crashed worker's lock expires after ``distributed.visibility_timeout``. A task that cannot
  take its source's lock does not crawl.
- A worker that dies mid-task stops renewing its RQ execution heartbeat; once that is
  ``visibility_timeout`` old, :meth:`CrawlQueue.reap` (RQ's ``StartedJobRegistry.cleanup``,
  run by the waiting scheduler and by every worker's maintenance, under RQ's maintenance lock)
  puts the task back on the queue while it has retries left, and another worker runs it.
- :class:`QueueSupervisor` is what the service's per-source jobs call instead of
  :class:`~scheduler.child.CrawlSupervisor` when ``distributed.redis_url`` is set: it submits
  the task and waits for it, so APScheduler's ``max_instances=1``, ``scheduler.max_parallel``
  (now the number of crawls at once across all workers), back-off and the run history work
  exactly as on one machine. On shutdown it stops waiting; queued and running tasks go on.

The worker side (the task function and the RQ worker class) is :mod:`scheduler.worker`.
Requires the ``distributed`` extra (redis, rq).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

try:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, Retry
    from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry
    from rq.serializers import JSONSerializer
    from rq.worker import Worker
except ImportError as exc:  # pragma: no cover - the extra is part of the test environment
    raise ImportError("distributed crawling requires redis and rq installed: "
                      "pip install 'newsmon[distributed]'") from exc

from config.schema import DistributedSettings
from scheduler.child import CrawlResult
from storage.scheduler_store import SchedulerStore

logger = logging.getLogger(__name__)

#: The task function, by module path (workers import it; nothing is pickled).
TASK = "scheduler.worker.crawl_task"
#: Task states in which a source's task still counts as outstanding.
OUTSTANDING = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED,
                         JobStatus.DEFERRED, JobStatus.CREATED})
DONE = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED,
                  JobStatus.CANCELED})
#: How long a finished task's result (its run id) and a failed task's error stay in Redis.
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600
#: Seconds a retried task waits for the crawl process of the attempt before it to stop (an
#: orphaned crawl process stops itself within about 31 s of its worker's death).
ORPHAN_WAIT = 40.0
#: How often the waiting scheduler polls a task's state, and waits when Redis is away.
POLL_SECONDS = 0.5
REDIS_RETRY_SECONDS = 5


class DistributedError(Exception):
    """The queue cannot be used (Redis unreachable, a task that cannot be submitted)."""


def connect(url: str) -> Redis:
    """A Redis client for ``url`` that answers (raises :class:`DistributedError` if not)."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        client.ping()
    except (RedisError, ValueError) as exc:
        raise DistributedError(f"cannot reach Redis at {redacted(url)}: {exc}") from exc
    return client


def redacted(url: str) -> str:
    """``url`` with its password, if any, shown as ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def job_id(queue: str, source: str) -> str:
    """The one task id of ``source`` on ``queue`` (queue names have no '_', so it is unique)."""
    return f"crawl-{queue}_{source}"


def source_of(task_id: str | None) -> str | None:
    """The source a task id belongs to, or None for a task that is not a crawl."""
    if not task_id or not task_id.startswith("crawl-") or "_" not in task_id:
        return None
    return task_id.split("_", 1)[1]


def seconds(td: timedelta) -> int:
    """Whole seconds (at least 1) of a timedelta, as Redis TTLs need."""
    return max(1, int(round(td.total_seconds())))


# -- the per-source lock ---------------------------------------------------------------------

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class SourceLock:
    """One source's crawl lock in Redis: held by one task at a time, expiring ``ttl`` seconds
    after its last renewal (so a dead holder frees it by itself)."""

    def __init__(self, redis: Redis, queue: str, source: str, ttl: float) -> None:
        self.redis = redis
        self.key = f"newsmon:{queue}:lock:{source}"
        self.ttl_ms = max(1000, int(ttl * 1000))
        self.token = uuid.uuid4().hex
        self.held = False

    def acquire(self, wait: float = 0.0, poll: float = 0.25) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for its holder; True if taken."""
        deadline = time.monotonic() + wait
        while True:
            if self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms):
                self.held = True
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def renew(self) -> bool:
        """Push the expiry back; False if the lock is no longer ours (expired or taken)."""
        self.held = bool(self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    def release(self) -> None:
        """Give the lock up if it is still ours (idempotent)."""
        try:
            self.redis.eval(_RELEASE, 1, self.key, self.token)
        finally:
            self.held = False

    def holder(self) -> str | None:
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


# -- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How many crawl tasks are waiting, running, waiting for a retry, and failed."""

    queued: int
    running: int
    scheduled: int
    failed: int


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One registered worker as ``newsmon workers`` shows it."""

    name: str
    host: str | None
    pid: int | None
    state: str
    source: str | None
    job_id: str | None
    started: datetime | None
    last_heartbeat: datetime | None
    heartbeat_age: float | None
    jobs_done: int
    jobs_failed: int


class CrawlQueue:
    """The crawl tasks of one newsmon installation: an RQ queue on a Redis connection."""

    def __init__(self, redis: Redis, conf: DistributedSettings) -> None:
        self.redis = redis
        self.conf = conf
        self.name = conf.queue
        self.visibility = seconds(conf.visibility_timeout)
        self.queue = Queue(conf.queue, connection=redis, serializer=JSONSerializer)
        self._reap_lock = threading.Lock()
        self._reaped_at = 0.0

    @classmethod
    def from_settings(cls, conf: DistributedSettings) -> CrawlQueue:
        if conf.redis_url is None:
            raise DistributedError("distributed.redis_url is not set")
        return cls(connect(conf.redis_url), conf)

    def lock(self, source: str) -> SourceLock:
        return SourceLock(self.redis, self.name, source, self.visibility)

    def job_timeout(self, timeout: float) -> int:
        """RQ's own limit for a task: a backstop well past the crawl's hard timeout, the wait
        for its source's lock and for an orphaned crawl of an earlier attempt."""
        return int(timeout + 2 * self.visibility + ORPHAN_WAIT + 120)

    def fetch(self, task_id: str) -> Job | None:
        try:
            return Job.fetch(task_id, connection=self.redis, serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    def submit(self, source: str, timeout: float) -> tuple[Job, bool]:
        """Queue a crawl of ``source`` unless one is outstanding; (its task, whether new)."""
        task_id = job_id(self.name, source)
        for _ in range(5):
            try:
                job = self.queue.enqueue_call(
                    TASK, args=(source, timeout), job_id=task_id, unique=True,
                    timeout=self.job_timeout(timeout), result_ttl=RESULT_TTL,
                    failure_ttl=FAILURE_TTL, description=f"crawl {source}",
                    retry=Retry(max=self.conf.max_retries) if self.conf.max_retries else None,
                    meta={"source": source, "attempts": []},
                )
                return job, True
            except DuplicateJobError:
                existing = self.fetch(task_id)
                if existing is None:
                    continue  # expired between the two calls
                try:
                    status = existing.get_status()
                except InvalidJobOperation:
                    continue
                if status in OUTSTANDING:
                    return existing, False
                existing.delete()  # a finished or failed task of an earlier run
        raise DistributedError(f"could not queue a crawl of {source!r}: its task id "
                               f"{task_id} keeps changing state")

    def outstanding(self, source: str) -> Job | None:
        """The source's task if it is queued, running or waiting for a retry."""
        job = self.fetch(job_id(self.name, source))
        if job is None:
            return None
        try:
            return job if job.get_status() in OUTSTANDING else None
        except InvalidJobOperation:
            return None

    def reap(self) -> list[str]:
        """Requeue (or fail, once out of retries) tasks whose worker stopped heartbeating for
        ``visibility_timeout``; returns their ids. Runs under RQ's maintenance lock, as a
        worker's own maintenance does, so two reapers never requeue one task twice."""
        if not self.queue.acquire_maintenance_lock():
            return []
        try:
            registry = StartedJobRegistry(queue=self.queue)
            expired = [job for job in registry.get_expired_job_ids()]
            if expired:
                registry.cleanup()
                logger.warning("requeued or failed %d crawl tasks whose worker stopped "
                               "sending heartbeats: %s", len(expired), ", ".join(expired))
            return expired
        finally:
            self.queue.release_maintenance_lock()  # type: ignore[no-untyped-call]

    def reap_if_due(self) -> None:
        """:meth:`reap` at most every quarter of the visibility timeout (thread-safe)."""
        interval = max(1.0, self.visibility / 4)
        with self._reap_lock:
            if time.monotonic() - self._reaped_at < interval:
                return
            self._reaped_at = time.monotonic()
        try:
            self.reap()
        except RedisError as exc:
            logger.warning("cannot check for abandoned crawl tasks: %s", exc)

    def depth(self) -> QueueDepth:
        return QueueDepth(
            queued=self.queue.count,
            running=StartedJobRegistry(queue=self.queue).get_job_count(cleanup=False),
            scheduled=self.queue.scheduled_job_registry.get_job_count(cleanup=False),
            failed=self.queue.failed_job_registry.get_job_count(cleanup=False),
        )

    def workers(self, now: datetime | None = None) -> list[WorkerView]:
        """Every worker registered on this queue; one silent for longer than the visibility
        timeout is ``lost`` (its key lingers in Redis for a while after it died)."""
        now = now or datetime.now(UTC)
        out = []
        for w in Worker.all(queue=self.queue):
            beat = w.last_heartbeat.replace(tzinfo=UTC) if w.last_heartbeat else None
            age = (now - beat).total_seconds() if beat is not None else None
            state = str(w.get_state())
            if age is None or age > self.visibility:
                state = "lost"
            current = w.get_current_job_id() if state != "lost" else None
            birth = w.birth_date.replace(tzinfo=UTC) if w.birth_date else None
            out.append(WorkerView(
                name=w.name, host=w.hostname, pid=w.pid, state=state,
                source=source_of(current), job_id=current, started=birth,
                last_heartbeat=beat, heartbeat_age=age, jobs_done=w.successful_job_count,
                jobs_failed=w.failed_job_count))
        return sorted(out, key=lambda v: v.name)


# -- the scheduler's side --------------------------------------------------------------------


class QueueSupervisor:
    """Runs one source's crawl per call on the queue (the distributed counterpart of
    :class:`~scheduler.child.CrawlSupervisor`, with the same :meth:`run`)."""

    def __init__(self, store: SchedulerStore, queue: CrawlQueue,
                 poll: float = POLL_SECONDS) -> None:
        self.store = store
        self.queue = queue
        self.poll = poll

    def run(self, source: str, timeout: float, terminate: threading.Event) -> CrawlResult:
        """Submit ``source``'s task (or join the one outstanding) and wait for its end; when
        ``terminate`` is set, stop waiting and report what is known."""
        started = time.monotonic()
        try:
            job, new = self.queue.submit(source, timeout)
        except (RedisError, DistributedError) as exc:
            return self._failed(source, f"cannot queue the crawl: {exc}", started)
        if not new:
            logger.info("%s: a crawl task is already queued or running; waiting for it",
                        source)
        while True:
            wait = self.poll
            try:
                status = job.get_status()
            except InvalidJobOperation:
                return self._failed(source, "the crawl task vanished from the queue", started)
            except RedisError as exc:
                logger.warning("%s: cannot read the crawl task's state (retrying in %d s): "
                               "%s", source, REDIS_RETRY_SECONDS, exc)
                status, wait = None, REDIS_RETRY_SECONDS
            if status in DONE:
                break
            if terminate.wait(wait):
                return self._unfinished(job, source, started)
            self.queue.reap_if_due()
        if status == JobStatus.FINISHED:
            run_id = job.return_value(refresh=True)
            if isinstance(run_id, int):
                return self._result(run_id, source, started)
            return self._failed(source, "the crawl task finished without a run id", started)
        result = job.latest_result()
        why = (result.exc_string or "").strip().splitlines() if result is not None else []
        state = status.value if isinstance(status, JobStatus) else str(status)
        return self._failed(source, f"the crawl task {state}" + (f": {why[-1]}" if why else ""),
                            started, runs=attempt_runs(job))

    def _result(self, run_id: int, source: str, started: float) -> CrawlResult:
        run = self.store.run(run_id)
        status = run.status if run is not None else "failed"
        return CrawlResult(run_id, source, status, run.first_error if run else None,
                           time.monotonic() - started, run)

    def _failed(self, source: str, message: str, started: float,
                runs: list[int] | None = None) -> CrawlResult:
        """A task that failed outside its crawl: its last run row (if still open) or a new
        one says so, so the failure counts in the history and in the back-off."""
        logger.error("%s: %s", source, message)
        run_id = runs[-1] if runs else None
        if run_id is not None and self.store.run(run_id) is not None:
            # A row the crawl closed itself keeps its own end (e.g. interrupted).
            self.store.end_run(run_id, "failed", message[:2000], only_if_running=True)
        else:
            run_id = self.store.open_run(source)
            self.store.end_run(run_id, "failed", message[:2000])
        return self._result(run_id, source, started)

    def _unfinished(self, job: Job, source: str, started: float) -> CrawlResult:
        """Shutdown while the task is outstanding: it goes on without us."""
        runs = attempt_runs(job)
        run = self.store.run(runs[-1]) if runs else None
        logger.info("%s: leaving its crawl task %s to the workers", source,
                    "running" if run is not None else "queued")
        return CrawlResult(run.id if run else 0, source, run.status if run else "queued",
                           None, time.monotonic() - started, run)


def attempt_runs(job: Job) -> list[int]:
    """The crawl_runs ids the task's attempts opened, oldest first."""
    try:
        meta = job.get_meta()
    except (RedisError, InvalidJobOperation, NoSuchJobError):
        return []
    return [int(a["run"]) for a in meta.get("attempts", []) if a.get("run")]
