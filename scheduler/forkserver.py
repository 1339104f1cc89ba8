"""A fork server for crawl processes: one Python process that imports what a crawl needs
once, then forks a crawl process per run, so that a run no longer pays for the interpreter's
start and its imports (Scrapy, Twisted, the extractors, SQLAlchemy, pydantic: about 4 CPU-s).

Contract:

- :class:`ForkServer` (in the service or a worker) starts ``python -m scheduler.forkserver``
  on first use and waits for it to say it is ready; :meth:`ForkServer.launch` has it fork one
  process that runs a Python command line (``-m MODULE ARGS`` or ``-c CODE ARGS``) as
  ``python`` would, with the given environment, working directory and output fd, and returns
  a :class:`ForkedProcess` (pid, ``wait()`` → return code, negative for a signal, as
  :class:`subprocess.Popen` says it). It raises :class:`ForkServerError` when the server
  cannot start or answer; the caller then starts the process itself (``scheduler.child``).
- The forked process calls ``os.setsid()`` first (the supervisor stops it with ``killpg``
  exactly as a spawned one), puts the output fd on 1 and 2 and /dev/null on 0, closes the
  server's descriptors, replaces its environment, changes directory and reseeds ``random``.
- Before fork the server only imports modules: no Twisted reactor is installed (Scrapy installs
  the asyncio one in the crawl process), no database is opened, no thread runs. It refuses to
  serve otherwise.
- The server exits when its client is gone (EOF on the control socket, which only the client
  holds), so a crawl process it forked is re-parented when the service dies;
  :func:`forked_from` tells ``scheduler.crawl_child`` which parent to watch.
- The server reaps its children and sends each exit status to the client over the
  process's own socket; if the server itself dies, :meth:`ForkedProcess.wait` returns
  :data:`SERVER_LOST`.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import random
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import types
import warnings
from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

#: What a crawl process imports, loaded once in the server (never the Twisted reactor).
PRELOAD = (
    # ours, as crawler.runner and the pipelines import them
    "scheduler.crawl_child", "config", "config.loader", "config.remembered", "config.taxonomy",
    "crawler.runner",
    "crawler.spiders", "crawler.settings", "crawler.extraction", "crawler.logformatter",
    "crawler.hosts", "crawler.topics", "crawler.entities", "crawler.dedup",
    "crawler.pipelines.validate", "crawler.pipelines.extract", "crawler.pipelines.classify",
    "crawler.pipelines.storage", "storage.store", "storage.batch", "storage.hosts",
    "storage.write", "storage.write_sqlite", "storage.search_index", "storage.search_sqlite",
    "storage.stories", "storage.stories.sqlite", "storage.stories.postgres",
    # what Scrapy loads by name when a crawl starts, and the heavy libraries under ours
    "scrapy.core.engine", "scrapy.core.downloader.handlers.http11",
    "scrapy.downloadermiddlewares.httpcompression", "scrapy.extensions.memusage",
    "scrapy.extensions.closespider", "scrapy.utils.asyncio", "twisted.internet.asyncioreactor",
    "trafilatura", "datasketch", "simplemma", "wordfreq", "ftfy", "tldextract", "protego",
    "queuelib", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql", "lxml.html",
    "scrapy.dupefilters", "scrapy.pqueues", "scrapy.robotstxt", "scrapy.squeues", "aiohttp",
    "email.policy", "platformdirs", "ftplib", "netrc",
)
#: Called once after the preload (``module:function``, no arguments): caches every crawl of
#: an English page fills otherwise (story keys: simplemma's and wordfreq's English data,
#: about 0.4 CPU-s per crawl process; English is also their fallback language). Package data
#: only: the user's configuration is read before each fork instead (:func:`_warm`).
WARM = ("crawler.dedup.salient:default_language",)
#: The return code :meth:`ForkedProcess.wait` gives when the server died before the process
#: ended (its exit status is then unknown; the supervisor kills its process group).
SERVER_LOST = 255
READY_TIMEOUT = 120.0
#: How long the server may take to answer a request with the forked process's pid.
FORK_TIMEOUT = 30.0
#: After the server failed to start, processes are started without it for this long.
RETRY_AFTER = 300.0
_MAX_MESSAGE = 1 << 20

#: In a process this server forked: the server's pid (see :func:`forked_from`).
_forked_from: int | None = None


class ForkServerError(Exception):
    """The fork server could not be started or could not start a process."""


def forked_from() -> int | None:
    """The fork server's pid if this process was forked by one, else None."""
    return _forked_from


class ForkedProcess:
    """A process the fork server forked: its ``pid`` and, once :meth:`wait` returned, its
    ``returncode`` (negative: the signal that ended it)."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._channel = channel

    def wait(self) -> int:
        """Block until the process has ended (the server sends its status)."""
        if self.returncode is None:
            data = b""
            try:
                data = self._channel.recv(64)
            except OSError:
                pass
            finally:
                self._channel.close()
            words = data.decode("ascii", "replace").split()
            if len(words) == 2 and words[0] == "exit":
                self.returncode = int(words[1])
            else:
                logger.error("the fork server is gone; the exit status of process %d is "
                             "unknown", self.pid)
                self.returncode = SERVER_LOST
        return self.returncode


class ForkServer:
    """The client side: starts the server on first use, restarts it if it died, and asks it
    for processes. Thread-safe. ``python`` must be the interpreter of the commands it runs."""

    def __init__(self, python: str = sys.executable, preload: Sequence[str] = PRELOAD,
                 ready_timeout: float = READY_TIMEOUT) -> None:
        self.python = python
        self.preload = tuple(preload)
        self.ready_timeout = ready_timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._closed = False
        self._failed: tuple[float, str] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def can_run(self, cmd: Sequence[str]) -> bool:
        """Whether ``cmd`` is a command line this server can run (``PYTHON -m|-c ...``)."""
        return len(cmd) >= 2 and cmd[0] == self.python and cmd[1] in ("-m", "-c")

    def start(self) -> None:
        """Start the server if it is not running; raises ForkServerError if it cannot."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> socket.socket:
        if self._closed:
            raise ForkServerError("the fork server was closed")
        if self._proc is not None and self._proc.poll() is None and self._control is not None:
            return self._control
        if self._proc is not None:
            logger.warning("the fork server (pid %d) exited with status %s; starting another",
                           self._proc.pid, self._proc.returncode)
            self._shutdown()
        if self._failed is not None and time.monotonic() < self._failed[0] + RETRY_AFTER:
            raise ForkServerError(self._failed[1])
        try:
            return self._start()
        except ForkServerError as exc:
            self._failed = (time.monotonic(), str(exc))
            logger.warning("%s; crawl processes start without it (python -m) for the next "
                           "%.0f s", exc, RETRY_AFTER)
            raise

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "scheduler.forkserver", str(theirs.fileno()),
                 *self.preload], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                pass_fds=[theirs.fileno()], start_new_session=True, close_fds=True)
        except OSError as exc:
            ours.close()
            raise ForkServerError(f"cannot start the fork server: {exc}") from exc
        finally:
            theirs.close()
        self._proc, self._control = proc, ours
        ours.settimeout(self.ready_timeout)
        try:
            ready = ours.recv(256)
        except OSError as exc:
            ready = f"no answer ({exc})".encode()
        ours.settimeout(None)
        if ready != b"ready":
            self._shutdown()
            why = ready.decode("utf-8", "replace") or "it exited"
            raise ForkServerError(f"the fork server did not start: {why}")
        logger.info("fork server ready: pid %d, %.1f s to preload %d modules", proc.pid,
                    time.monotonic() - started, len(self.preload))
        return ours

    def launch(self, cmd: Sequence[str], *, env: Mapping[str, str], cwd: str,
               output_fd: int) -> ForkedProcess:
        """Fork a process running ``cmd`` (see :meth:`can_run`), its stdout and stderr on
        ``output_fd`` (the caller keeps and closes its own copy)."""
        if not self.can_run(cmd):
            raise ForkServerError(f"not a Python command line for {self.python}: {cmd[:2]}")
        request = json.dumps({"args": list(cmd[1:]), "env": dict(env), "cwd": cwd}).encode()
        if len(request) > _MAX_MESSAGE:
            raise ForkServerError("the command line and environment are too large")
        mine, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                control = self._ensure()
                try:
                    socket.send_fds(control, [request], [child.fileno(), output_fd])
                except OSError as exc:
                    raise ForkServerError(f"cannot reach the fork server: {exc}") from exc
            child.close()
            mine.settimeout(FORK_TIMEOUT)
            try:
                answer = mine.recv(64).decode("ascii", "replace").split()
            except OSError as exc:  # a timeout included
                raise ForkServerError(f"the fork server did not answer: {exc}") from exc
            mine.settimeout(None)
        except BaseException:
            mine.close()
            child.close()
            raise
        if len(answer) != 2 or answer[0] != "pid":
            mine.close()
            raise ForkServerError(f"the fork server did not start the process: {answer}")
        return ForkedProcess(int(answer[1]), mine)

    def close(self) -> None:
        """Stop the server (the processes it forked run on; they notice it is gone)."""
        with self._lock:
            self._closed = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._control is not None:
            self._control.close()  # EOF: the server exits
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


# -- the server process ---------------------------------------------------------------------


def _preload(modules: Sequence[str]) -> str | None:
    """Import ``modules``; the reason the server must not serve, or None."""
    for name in modules:
        try:
            __import__(name)
        except Exception:  # a crawl imports it itself, and fails there with its own message
            print(f"WARNING scheduler.forkserver: cannot preload {name}:\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
    for target in WARM:
        module, _, function = target.partition(":")
        try:
            getattr(importlib.import_module(module), function)()
        except Exception:
            print(f"WARNING scheduler.forkserver: cannot warm {target}:\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
    if "twisted.internet.reactor" in sys.modules:
        return "a preloaded module installed the Twisted reactor"
    if threading.active_count() > 1:
        return f"a preloaded module started a thread ({threading.enumerate()})"
    return None


def serve(control_fd: int, preload: Sequence[str]) -> int:
    """The server's loop: fork one process per request until the client is gone."""
    control = socket.socket(fileno=control_fd)
    refused = _preload(preload)
    if refused is not None:
        control.send(refused.encode()[:256])
        return 1
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl+C is the client's
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    children: dict[int, socket.socket] = {}
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    control.send(b"ready")
    while True:
        for key, _ in selector.select():
            if key.fileobj is control:
                try:
                    message, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, 2)
                except OSError:
                    message, fds = b"", []
                if not message:
                    return 0  # the client is gone; our children notice it by their parent
                if len(fds) != 2:
                    for fd in fds:
                        os.close(fd)
                    continue
                channel, output = socket.socket(fileno=fds[0]), fds[1]
                request = json.loads(message)
                _warm(request)
                pid = os.fork()
                if pid == 0:
                    _child(request, output,
                           [control.fileno(), wake_r, wake_w, _selector_fd(selector),
                            channel.fileno(), *(c.fileno() for c in children.values())])
                os.close(output)
                try:
                    channel.send(f"pid {pid}".encode())
                except OSError:
                    pass
                children[pid] = channel
            else:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                _reap(children)


def _warm(request: dict[str, object]) -> None:
    """Before forking a crawl process: its configuration, read here while its files are
    unchanged and remembered (:mod:`config.remembered`), so that the process finds it parsed
    and validated instead of reading thousands of sources again. What is wrong with the
    configuration is the crawl process's to report: nothing is said here."""
    args, env, cwd = request.get("args"), request.get("env"), request.get("cwd")
    if not (isinstance(args, list) and args[:2] == ["-m", "scheduler.crawl_child"]
            and isinstance(env, dict) and isinstance(cwd, str)):
        return
    config = str(args[args.index("--config") + 1]) if "--config" in args[:-1] else None
    try:
        from config.remembered import remember
        from crawler.entities import Gazetteer
        from crawler.topics import Taxonomy

        settings = remember(config, env={str(k): str(v) for k, v in env.items()}, cwd=cwd)
        Taxonomy.load(settings.topics_file)
        Gazetteer.load(settings.entities_file)
    except Exception:  # noqa: S110 - the crawl process reads it again and says what is wrong
        pass


def _selector_fd(selector: selectors.BaseSelector) -> int:
    fileno = getattr(selector, "fileno", None)
    return int(fileno()) if callable(fileno) else -1


def _reap(children: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        channel = children.pop(pid, None)
        if channel is not None:
            try:
                channel.send(f"exit {os.waitstatus_to_exitcode(status)}".encode())
            except OSError:
                pass
            channel.close()


def _child(request: dict[str, object], output: int, close: list[int]) -> None:
    """In the forked process: become a crawl process as ``python ARGS`` would be; never
    returns."""
    global _forked_from
    code = 1
    try:
        os.setsid()  # first: the supervisor's killpg reaches this process and its children
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        for fd in close:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        _forked_from = os.getppid()
        os.chdir(str(request["cwd"]))
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in env.items()})
        random.seed()
        args = request["args"]
        assert isinstance(args, list)
        code = run_python([str(a) for a in args])
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
        os._exit(code)


def run_python(args: list[str]) -> int:
    """Run ``-m MODULE ARGS`` or ``-c CODE ARGS`` as ``python`` would: as ``__main__``, with
    ``sys.argv``, the exit code of SystemExit or 1 and a traceback for an exception, then
    the non-daemon threads joined and the ``atexit`` functions run."""
    code = 0
    try:
        if args[0] == "-c":
            sys.argv = ["-c", *args[2:]]
            main = types.ModuleType("__main__")
            main.__dict__["__builtins__"] = __builtins__
            sys.modules["__main__"] = main
            exec(compile(args[1], "<string>", "exec"), main.__dict__)
        elif args[0] == "-m":
            sys.argv = [args[1], *args[2:]]
            # runpy's warning that the module was imported before: it was, on purpose (the
            # preload); running it as __main__ is what `python -m` does all the same.
            warnings.filterwarnings("ignore", category=RuntimeWarning,
                                    message=r".* found in sys\.modules after import of package")
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            raise ValueError(f"not -m or -c: {args[0]!r}")
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException as exc:
        # As python prints it: from the command's own frames, not this function's.
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next
                                  if exc.__traceback__ is not None else None)
        code = 1
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    return code


if __name__ == "__main__":
    # Served from the module proper, not this __main__ copy, so that forked_from() answers.
    from scheduler import forkserver

    sys.exit(forkserver.serve(int(sys.argv[1]), sys.argv[2:]))
