"""Run work in child processes: a hard timeout, a memory cap, log relay, and for crawls a run
row that is closed whatever becomes of the child.

:func:`run_process` starts a command in its own session (a terminal's Ctrl+C or systemd's
SIGTERM to the service does not reach it directly; the service decides), relays its output to
logging, and stops it — SIGTERM to its process group, SIGKILL ``kill_after`` seconds later —
when its timeout passes, its resident memory exceeds the cap, or ``terminate`` is set.

:class:`CrawlSupervisor` runs one source's crawl that way. It creates the ``crawl_runs`` row
before the child exists and passes its id on (the child's RunRecorder adopts it), so a child
that is killed or crashes still leaves a closed row: ``timeout`` ("killed after 600 s timeout"),
``interrupted`` (service shutdown) or ``failed`` ("crawl process exited with signal 9").

Given a :class:`~scheduler.forkserver.ForkServer` (``scheduler.crawl_start: forkserver``, the
default), a ``python -m``/``-c`` command is forked from that preloaded server instead of
started afresh; everything above holds the same way (the forked process starts its own
session, writes into the same pipe, and its exit status comes back from the server). If the
server cannot start, the command is started as a new process, as with ``spawn``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scheduler.forkserver import ForkedProcess, ForkServer, ForkServerError
from storage.scheduler_store import RunView, SchedulerStore

logger = logging.getLogger(__name__)
child_logger = logging.getLogger("scheduler.crawl")

#: How often a running child is checked against its deadline, memory cap and ``terminate``.
POLL_SECONDS = 0.5
#: The supervisor kills a child whose RSS exceeds the crawl's memory limit by this factor
#: (Scrapy's MEMUSAGE extension inside the child closes the crawl at the limit itself).
MEMORY_SLACK = 1.5
_LEVELS = {name: getattr(logging, name) for name in
           ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """How a child process ended. ``stopped``: why we stopped it (timeout, memory,
    interrupted), or None if it exited by itself."""

    returncode: int
    stopped: str | None
    seconds: float
    rss_mb: float
    last_lines: tuple[str, ...]

    def describe_exit(self) -> str:
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = "?"
            return f"exited with signal {-self.returncode} ({name})"
        return f"exited with status {self.returncode}"


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MiB from /proc (0 where /proc is not available)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _relay(stream: int, prefix: str, tail: deque[str]) -> None:
    """Log each line the child writes ("LEVEL name: message"; others keep the last level)."""
    level = logging.INFO
    with open(stream, encoding="utf-8", errors="replace", closefd=True) as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line:
                continue
            head = line.split(" ", 1)[0]
            if head in _LEVELS:
                level = _LEVELS[head]
                line = line[len(head) + 1:]
            tail.append(line)
            child_logger.log(level, "[%s] %s", prefix, line)


def run_process(
    cmd: Sequence[str], *, timeout: float, terminate: threading.Event, kill_after: float,
    memory_limit_mb: float | None = None, label: str = "child",
    env: Mapping[str, str] | None = None, on_start: Callable[[int], None] | None = None,
    launcher: ForkServer | None = None,
) -> ProcessOutcome:
    """Run ``cmd`` to its end or until stopped; never raises for what the child does.

    ``on_start``, if given, gets the child's pid once it runs. ``launcher``: fork the process
    from this server when it can run ``cmd`` (else, or if it fails, start it afresh). Raises
    OSError only if the process cannot be started at all.
    """
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    proc: subprocess.Popen[bytes] | ForkedProcess | None = None
    try:
        if launcher is not None and launcher.can_run(cmd):
            try:
                proc = launcher.launch(cmd, env=env if env is not None else os.environ,
                                       cwd=os.getcwd(), output_fd=write_fd)
            except ForkServerError as exc:
                logger.warning("%s: %s; starting its process without the fork server",
                               label, exc)
        if proc is None:
            proc = subprocess.Popen(
                list(cmd), stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                start_new_session=True, env=dict(env) if env is not None else None,
                close_fds=True,
            )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    assert proc is not None
    child = proc
    tail: deque[str] = deque(maxlen=20)
    relay = threading.Thread(target=_relay, args=(read_fd, label, tail),
                             name=f"relay-{label}", daemon=True)
    relay.start()
    exited = threading.Event()

    def wait_for_exit() -> None:
        child.wait()
        exited.set()

    threading.Thread(target=wait_for_exit, name=f"wait-{label}", daemon=True).start()
    if on_start is not None:
        try:
            on_start(proc.pid)
        except Exception:
            logger.exception("%s: could not record the crawl process's pid", label)

    deadline = started + timeout
    stopped: str | None = None
    kill_at: float | None = None
    peak = 0.0
    while not exited.wait(POLL_SECONDS):
        now = time.monotonic()
        if stopped is None:
            if memory_limit_mb is not None:
                peak = max(peak, rss_mb(proc.pid))
            if terminate.is_set():
                stopped = "interrupted"
            elif now >= deadline:
                stopped = "timeout"
            elif memory_limit_mb is not None and peak > memory_limit_mb:
                stopped = "memory"
            if stopped is not None:
                logger.warning("%s: stopping its process (%s)", label, stopped)
                _signal_group(proc.pid, signal.SIGTERM)
                kill_at = now + kill_after
        elif kill_at is not None and now >= kill_at:
            logger.warning("%s: process still running %.0f s after SIGTERM; killing it",
                           label, kill_after)
            _signal_group(proc.pid, signal.SIGKILL)
            kill_at = None
    # Anything the child left behind in its group goes with it (and a forked child whose
    # server died, whose end we could not see).
    _signal_group(proc.pid, signal.SIGKILL)
    relay.join(timeout=2)
    assert proc.returncode is not None
    return ProcessOutcome(proc.returncode, stopped, time.monotonic() - started, peak,
                          tuple(tail))


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """The end of one supervised crawl run, as recorded in its crawl_runs row."""

    run_id: int
    source: str
    status: str
    first_error: str | None
    seconds: float
    run: RunView | None


class CrawlSupervisor:
    """Runs one source's crawl per call in ``python -m scheduler.crawl_child``."""

    def __init__(
        self, store: SchedulerStore, *, config_path: Path | None, kill_after: float,
        memory_limit_mb: int, python: str = sys.executable,
        env: Mapping[str, str] | None = None, log_level: int = logging.INFO,
        launcher: ForkServer | None = None,
    ) -> None:
        self.store = store
        self.config_path = config_path
        self.kill_after = kill_after
        self.memory_limit_mb = memory_limit_mb
        self.python = python
        self.env = env
        self.log_level = log_level
        #: Fork each crawl process from this preloaded server (None: start it afresh).
        self.launcher = launcher

    def command(self, source: str, run_id: int, timeout: float) -> list[str]:
        cmd = [self.python, "-m", "scheduler.crawl_child", "--source", source,
               "--run-id", str(run_id), "--timeout", f"{timeout:g}",
               "--log-level", logging.getLevelName(self.log_level),
               "--parent-pid", str(os.getpid())]
        if self.config_path is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd

    def run(self, source: str, timeout: float, terminate: threading.Event) -> CrawlResult:
        """Crawl ``source`` once; returns when its child has ended and its row is closed."""
        run_id = self.store.open_run(source)
        started = time.monotonic()
        try:
            outcome = run_process(
                self.command(source, run_id, timeout), timeout=timeout, terminate=terminate,
                kill_after=self.kill_after, memory_limit_mb=self.memory_limit_mb * MEMORY_SLACK,
                label=source, env=self.env, launcher=self.launcher,
                on_start=lambda pid: self.store.set_run_pid(run_id, pid),
            )
        except OSError as exc:
            message = f"cannot start the crawl process: {exc}"
            logger.error("%s: %s", source, message)
            self.store.end_run(run_id, "failed", message, only_if_running=True)
            return self._result(run_id, source, time.monotonic() - started)
        self._close(run_id, source, timeout, outcome)
        return self._result(run_id, source, outcome.seconds)

    def _close(self, run_id: int, source: str, timeout: float, outcome: ProcessOutcome) -> None:
        """Make the row say how the run ended when the child could not say it itself."""
        end = self.store.run_end(run_id)
        status, first_error = end if end is not None else ("running", None)
        if status in ("ok", "partial"):
            return  # the crawl finished and recorded it, even if a stop signal raced it
        note: str | None = None
        new_status = status
        if outcome.stopped == "timeout":
            new_status, note = "timeout", f"killed after {timeout:g} s timeout"
        elif outcome.stopped == "memory":
            new_status = "failed"
            note = (f"killed: memory {outcome.rss_mb:.0f} MB over the "
                    f"{self.memory_limit_mb} MB limit")
        elif outcome.stopped == "interrupted":
            if status in ("running", "interrupted"):
                new_status = "interrupted"
                note = "stopped at service shutdown" if status == "running" else None
        elif status == "running":
            last = outcome.last_lines[-1] if outcome.last_lines else ""
            new_status = "failed"
            note = f"crawl process {outcome.describe_exit()}" + (f": {last}" if last else "")
            if outcome.returncode == 0:
                note = "crawl process ended without recording its run"
        if new_status == status and note is None:
            return
        if note is not None and first_error and note != first_error:
            note = f"{note}; first error: {first_error}"
        self.store.end_run(run_id, new_status, (note or first_error or "")[:2000] or None)

    def _result(self, run_id: int, source: str, seconds: float) -> CrawlResult:
        run = self.store.run(run_id)
        status = run.status if run is not None else "failed"
        return CrawlResult(run_id, source, status, run.first_error if run else None, seconds,
                           run)
