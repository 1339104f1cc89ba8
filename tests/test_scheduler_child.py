"""Child processes: timeouts, SIGKILL after an ignored SIGTERM, the memory cap, log relay, and
the run row the supervisor closes when the child could not. Small Python children stand in
for crawls, so each case takes about a second."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from scheduler.child import CrawlSupervisor, ProcessOutcome, run_process
from storage import Store
from storage.scheduler_store import SchedulerStore

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(code: str, timeout: float = 10, kill_after: float = 1,
        terminate: threading.Event | None = None, memory_limit_mb: float | None = None
        ) -> ProcessOutcome:
    return run_process(py(code), timeout=timeout, terminate=terminate or threading.Event(),
                       kill_after=kill_after, memory_limit_mb=memory_limit_mb, label="t")


def test_output_is_relayed_with_its_level(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="scheduler.crawl"):
        outcome = run("import sys; print('WARNING spider: feed is empty', file=sys.stderr); "
                      "print('plain line'); print('ERROR x: bad\\n  detail', file=sys.stderr)")
    assert outcome.returncode == 0 and outcome.stopped is None
    records = [(r.levelno, r.getMessage()) for r in caplog.records
               if r.name == "scheduler.crawl"]
    assert (logging.WARNING, "[t] spider: feed is empty") in records
    assert (logging.ERROR, "[t]   detail") in records  # a continuation keeps its level
    assert outcome.last_lines[-1] == "  detail"


def test_a_child_is_stopped_at_its_timeout() -> None:
    started = time.monotonic()
    outcome = run("import time; time.sleep(60)", timeout=0.5)
    assert outcome.stopped == "timeout"
    assert outcome.returncode == -15
    assert outcome.describe_exit() == "exited with signal 15 (SIGTERM)"
    assert time.monotonic() - started < 4


def test_a_child_ignoring_sigterm_is_killed() -> None:
    outcome = run("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "time.sleep(60)", timeout=0.5, kill_after=0.5)
    assert outcome.stopped == "timeout" and outcome.returncode == -9


def test_terminate_interrupts_a_child() -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    outcome = run("import time; time.sleep(60)", terminate=stop)
    assert outcome.stopped == "interrupted"


def test_a_child_over_its_memory_cap_is_killed() -> None:
    outcome = run("import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]);"
                  " time.sleep(60)", memory_limit_mb=100)
    assert outcome.stopped == "memory" and outcome.rss_mb > 100


class FakeCrawl(CrawlSupervisor):
    """Runs a snippet instead of a crawl; ``RUN_ID`` and ``DB`` are filled in."""

    code = ""

    def command(self, source: str, run_id: int, timeout: float) -> list[str]:
        return py(self.code.replace("RUN_ID", str(run_id)))


@pytest.fixture
def supervisor(store: Store) -> Iterator[FakeCrawl]:
    yield FakeCrawl(SchedulerStore(store.engine), config_path=None, kill_after=0.5,
                    memory_limit_mb=512)


def crawl(supervisor: FakeCrawl, code: str, timeout: float = 10) -> tuple[str, str | None]:
    supervisor.code = code
    result = supervisor.run("alpha", timeout, threading.Event())
    assert result.run is not None and result.run.finished is not None
    return result.status, result.first_error


@SQLITE_ONLY
def test_a_killed_crawl_is_recorded_as_failed(supervisor: FakeCrawl) -> None:
    assert crawl(supervisor, "import os; os.kill(os.getpid(), 9)") == (
        "failed", "crawl process exited with signal 9 (SIGKILL)")


@SQLITE_ONLY
def test_a_crashed_crawl_names_its_last_words(supervisor: FakeCrawl) -> None:
    assert crawl(supervisor, "raise ValueError('boom')") == (
        "failed", "crawl process exited with status 1: ValueError: boom")


@SQLITE_ONLY
def test_a_silent_crawl_is_recorded_as_failed(supervisor: FakeCrawl) -> None:
    assert crawl(supervisor, "pass") == (
        "failed", "crawl process ended without recording its run")


@SQLITE_ONLY
def test_a_hanging_crawl_is_recorded_as_timeout(supervisor: FakeCrawl) -> None:
    assert crawl(supervisor, "import time; time.sleep(60)", timeout=0.5) == (
        "timeout", "killed after 0.5 s timeout")


@SQLITE_ONLY
def test_a_crawl_that_recorded_its_end_keeps_it(supervisor: FakeCrawl, db_url: str) -> None:
    code = ("from storage import RunStats, Store; "
            f"Store.from_url({db_url!r}, migrate=False).finish_run(RUN_ID, 'partial', "
            "RunStats(requests=4, errors=1, first_error='HTTP 404'))")
    assert crawl(supervisor, code) == ("partial", "HTTP 404")


@SQLITE_ONLY
def test_an_interrupted_crawl_keeps_its_own_first_error(supervisor: FakeCrawl,
                                                        db_url: str) -> None:
    code = ("from storage import RunStats, Store; "
            f"Store.from_url({db_url!r}, migrate=False).finish_run(RUN_ID, 'interrupted', "
            "RunStats(errors=1, first_error='HTTP 503')); import time; time.sleep(60)")
    assert crawl(supervisor, code, timeout=3) == (
        "timeout", "killed after 3 s timeout; first error: HTTP 503")
