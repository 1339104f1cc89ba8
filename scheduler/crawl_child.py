"""One crawl run in its own process, as the service starts it:

    python -m scheduler.crawl_child --source NAME --run-id N --timeout SECONDS [--config PATH]

Loads the settings, crawls the one source with ``crawler.runner.crawl`` (the Twisted reactor
starts and dies with this process) and records the run in the ``crawl_runs`` row N, which the
supervisor created. Scrapy's own limits apply inside: ``CLOSESPIDER_TIMEOUT`` a little below the
hard timeout (so the crawl usually ends itself, cleanly, before the supervisor kills it) and
``MEMUSAGE_LIMIT_MB``, checked every few seconds. If the service dies, the child notices it has
been re-parented and shuts down gracefully, recording the run as interrupted. Forked from the
service's fork server (:mod:`scheduler.forkserver`), the parent it watches is that server,
which exits when the service does.

Exit status: 0 ok, 10 partial, 11 failed, 12 timeout, 13 interrupted, 14 skipped (another
crawl of the source holds its run lock; the row says who), 2 bad configuration or unknown
source, 1 an unexpected error (the supervisor then closes the row as failed).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from crawler.logs import FetchNoiseFilter

EXIT_CODES = {"ok": 0, "partial": 10, "failed": 11, "timeout": 12, "interrupted": 13,
              "skipped": 14}
#: Seconds the graceful close gets between CLOSESPIDER_TIMEOUT and the supervisor's hard kill.
CLOSE_MARGIN = 30.0
MEMUSAGE_CHECK_SECONDS = 5.0

logger = logging.getLogger(__name__)


def _quiet_libraries(record: logging.LogRecord) -> bool:
    """Scrapy, Twisted and Alembic INFO lines (versions, settings, stats) are per-crawl noise."""
    return record.levelno >= logging.WARNING or not record.name.startswith(
        ("scrapy", "twisted", "alembic", "py.warnings"))


def soft_timeout(hard: float) -> float:
    """CLOSESPIDER_TIMEOUT for a hard timeout: 30 s earlier, at most a fifth of it earlier."""
    return max(1.0, hard - min(CLOSE_MARGIN, hard / 5))


def parent_to_watch(service: int) -> int:
    """The process whose end means the service is gone: the service itself, or the fork
    server that forked this process (it exits when the service does)."""
    from scheduler.forkserver import forked_from

    server = forked_from()
    return server if server is not None else service


def _watch_parent(service: int, interval: float = 1.0) -> None:
    """Stop this crawl gracefully (then firmly) once the service that started it is gone."""
    parent = parent_to_watch(service)
    while os.getppid() == parent:
        time.sleep(interval)
    logger.warning("the newsmon service (pid %s) is gone; stopping this crawl", service)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's second signal: stop now


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scheduler.crawl_child",
                                     description="Crawl one source once (started by the service).")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--source", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=None,
                        help="the supervisor's hard timeout in seconds")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--parent-pid", type=int, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # One line per record, level first: the supervisor relays these into the service's log.
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.captureWarnings(True)  # one line each, with a level, like every other record
    if logging.getLogger().level > logging.DEBUG:
        # Scrapy resets its loggers' levels when it starts; filter at the handler instead.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_quiet_libraries)
            handler.addFilter(FetchNoiseFilter())  # a failed fetch: one line, no traceback
    # Deprecated inside crawler.runner (Scrapy 2.19); nothing the operator can act on.
    warnings.filterwarnings("ignore", message="The install_root_handler parameter")
    from config import ConfigError
    from config.loader import placeholder_warning_given
    from config.remembered import load_settings_remembered

    placeholder_warning_given()  # the service or worker that started this child has said it
    try:
        # Forked from the fork server, which read the configuration just before: unchanged
        # files are not read again (config.remembered).
        settings, remembered = load_settings_remembered(args.config)
        if remembered:
            logger.debug("configuration as read before the fork (its files unchanged)")
        source = settings.source(args.source)
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    except KeyError:
        logger.error("no source named %r in the configuration", args.source)
        return 2
    if args.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True,
                         name="watch-parent").start()
    hard = args.timeout or (source.timeout or settings.crawl.source_timeout).total_seconds()

    from crawler.runner import crawl

    results = crawl(
        settings, [source], run_lock="newsmon run", NEWSMON_RUN_ID=args.run_id,
        CLOSESPIDER_TIMEOUT=soft_timeout(hard),
        MEMUSAGE_CHECK_INTERVAL_SECONDS=MEMUSAGE_CHECK_SECONDS,
    )
    status = results[0].status if results else "failed"
    return EXIT_CODES.get(status, 1)


if __name__ == "__main__":
    sys.exit(main())
