"""Child processes: timeouts, SIGKILL after an ignored SIGTERM, the memory cap, log relay, and
the run row the supervisor closes when the child could not. Small Python children stand in
for crawls, so each case takes about a second. Every case runs twice: the child started
afresh (``spawn``) and forked from a real fork server (``forkserver``, the service's default)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scheduler.child import CrawlSupervisor, ProcessOutcome, run_process
from scheduler.forkserver import ForkServer
from storage import Store
from storage.scheduler_store import SchedulerStore

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServer]:
    """One real fork server for the module (it preloads what a crawl imports, once)."""
    server = ForkServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(params=["spawn", "forkserver"])
def launcher(request: pytest.FixtureRequest) -> ForkServer | None:
    if request.param == "spawn":
        return None
    server: ForkServer = request.getfixturevalue("fork_server")
    return server


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def run(launcher: ForkServer | None) -> Callable[..., ProcessOutcome]:
    def run(code: str, timeout: float = 10, kill_after: float = 1,
            terminate: threading.Event | None = None, memory_limit_mb: float | None = None
            ) -> ProcessOutcome:
        return run_process(py(code), timeout=timeout,
                           terminate=terminate or threading.Event(), kill_after=kill_after,
                           memory_limit_mb=memory_limit_mb, label="t", launcher=launcher)
    return run


def test_output_is_relayed_with_its_level(caplog: pytest.LogCaptureFixture,
                                          run: Callable[..., ProcessOutcome]) -> None:
    with caplog.at_level(logging.DEBUG, logger="scheduler.crawl"):
        outcome = run("import sys; print('WARNING spider: feed is empty', file=sys.stderr); "
                      "print('plain line'); print('ERROR x: bad\\n  detail', file=sys.stderr)")
    assert outcome.returncode == 0 and outcome.stopped is None
    records = [(r.levelno, r.getMessage()) for r in caplog.records
               if r.name == "scheduler.crawl"]
    assert (logging.WARNING, "[t] spider: feed is empty") in records
    assert (logging.ERROR, "[t]   detail") in records  # a continuation keeps its level
    assert outcome.last_lines[-1] == "  detail"


def test_a_child_is_stopped_at_its_timeout(run: Callable[..., ProcessOutcome]) -> None:
    started = time.monotonic()
    outcome = run("import time; time.sleep(60)", timeout=0.5)
    assert outcome.stopped == "timeout"
    assert outcome.returncode == -15
    assert outcome.describe_exit() == "exited with signal 15 (SIGTERM)"
    assert time.monotonic() - started < 4


def test_a_child_ignoring_sigterm_is_killed(run: Callable[..., ProcessOutcome]) -> None:
    outcome = run("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "time.sleep(60)", timeout=0.5, kill_after=0.5)
    assert outcome.stopped == "timeout" and outcome.returncode == -9


def test_terminate_interrupts_a_child(run: Callable[..., ProcessOutcome]) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    outcome = run("import time; time.sleep(60)", terminate=stop)
    assert outcome.stopped == "interrupted"


def test_a_child_over_its_memory_cap_is_killed(run: Callable[..., ProcessOutcome]) -> None:
    outcome = run("import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]);"
                  " time.sleep(60)", memory_limit_mb=100)
    assert outcome.stopped == "memory" and outcome.rss_mb > 100


class FakeCrawl(CrawlSupervisor):
    """Runs a snippet instead of a crawl; ``RUN_ID`` and ``DB`` are filled in."""

    code = ""

    def command(self, source: str, run_id: int, timeout: float) -> list[str]:
        return py(self.code.replace("RUN_ID", str(run_id)))


@pytest.fixture
def supervisor(store: Store, launcher: ForkServer | None) -> Iterator[FakeCrawl]:
    yield FakeCrawl(SchedulerStore(store.engine), config_path=None, kill_after=0.5,
                    memory_limit_mb=512, launcher=launcher)


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


def test_a_forked_child_is_the_servers_in_its_own_session_with_our_environment(
        fork_server: ForkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the supervisor relies on: the child is the server's (not a fresh interpreter),
    leads its own process group (killpg), has the environment and working directory it
    was given, and knows which parent to watch."""
    monkeypatch.chdir(tmp_path)
    code = ("import os, sys, random; from scheduler.forkserver import forked_from; "
            "print(os.getppid(), forked_from(), os.getpgid(0) == os.getpid(), "
            "os.getsid(0) == os.getpid(), os.environ.get('NEWSMON_T'), os.getcwd(), "
            "random.random(), 'twisted.internet.reactor' in sys.modules, sys.argv[1:])")
    lines = [run_process([*py(code), "x"], timeout=10, terminate=threading.Event(),
                         kill_after=1, label="t", env={**os.environ, "NEWSMON_T": "yes"},
                         launcher=fork_server).last_lines[-1].split() for _ in range(2)]
    ppid, server, group, session, env, cwd, rnd, reactor, argv = lines[0]
    assert int(ppid) == int(server) == fork_server.pid
    assert (group, session, env, cwd, reactor, argv) == (
        "True", "True", "yes", str(tmp_path), "False", "['x']")
    assert lines[1][6] != rnd  # each child has its own random state


def test_a_forked_child_is_killed_with_its_group_when_the_server_dies(tmp_path: Path) -> None:
    """The server gone mid-run: the supervisor cannot learn the exit status, says so
    (SERVER_LOST), and kills what is left of the child's group; the next process is forked
    from a new server."""
    server = ForkServer()
    marker = tmp_path / "pid"
    code = (f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); "
            "time.sleep(60)")
    server.start()
    assert server.pid is not None
    threading.Timer(1.5, os.kill, (server.pid, 9)).start()
    outcome = run_process(py(code), timeout=30, terminate=threading.Event(), kill_after=1,
                          label="t", launcher=server)
    assert outcome.returncode == 255 and outcome.seconds < 10
    pid = int(marker.read_text())
    time.sleep(0.5)
    assert not Path(f"/proc/{pid}").exists() or " Z " in Path(f"/proc/{pid}/stat").read_text()
    dead = server.pid
    again = run_process(py("import os; print(os.getppid())"), timeout=30,
                        terminate=threading.Event(), kill_after=1, label="t", launcher=server)
    assert again.returncode == 0 and server.pid not in (None, dead)
    assert again.last_lines == (str(server.pid),)  # the next one comes from a new server
    server.close()


def test_a_fork_server_that_cannot_serve_falls_back_to_starting_the_process(
        caplog: pytest.LogCaptureFixture) -> None:
    """A preload that installs the Twisted reactor makes the server refuse (a crawl would
    fail on it); the process is then started afresh, as with ``spawn``, and said so."""
    server = ForkServer(preload=["twisted.internet.reactor"])
    code = "import os; print(os.getppid())"
    with caplog.at_level(logging.WARNING):
        outcome = run_process(py(code), timeout=30, terminate=threading.Event(),
                              kill_after=1, label="t", launcher=server)
    assert outcome.returncode == 0 and outcome.last_lines == (str(os.getpid()),)
    assert "installed the Twisted reactor" in caplog.text
    assert "starting its process without the fork server" in caplog.text
    server.close()
