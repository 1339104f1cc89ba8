"""Logs for people: what the CLI, the service and its crawl children print.

A failed fetch is one WARNING line from the spider ("source: URL: reason (retried N times)",
see crawler/spiders/failures.py). Scrapy says the same thing again at ERROR, with a traceback
of Twisted internals, from its retry and robots.txt middlewares; :class:`FetchNoiseFilter`
drops those repeats and strips network-error tracebacks unless the log is at DEBUG.
Tracebacks of bugs (any other exception) are kept. :class:`JsonFormatter` writes one JSON
object per line, for journald or docker compose (``scheduler.log_format: json``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Scrapy loggers whose failed-download records repeat what the spider's errback logs.
_REPEATERS = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt")
#: Exceptions of the network, not of newsmon: their tracebacks say nothing to act on.
_NETWORK_MODULES = ("twisted.internet.error", "twisted.web._newclient", "scrapy.exceptions",
                    "twisted.internet.defer", "OpenSSL.SSL", "scrapy.core.downloader")


def is_network_error(exc: BaseException | None) -> bool:
    while exc is not None:
        if type(exc).__module__.startswith(_NETWORK_MODULES) or isinstance(
                exc, (ConnectionError, TimeoutError)):
            return True
        exc = exc.__cause__
    return False


class FetchNoiseFilter(logging.Filter):
    """Below DEBUG (the handler's level): drop Scrapy's repeats of a failed fetch and the
    tracebacks of network errors; keep everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_REPEATERS) and record.levelno >= logging.WARNING and (
                record.exc_info or str(record.msg).startswith(("Gave up retrying",
                                                               "Error downloading"))):
            return False
        if record.exc_info and is_network_error(record.exc_info[1]):
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message[, traceback]."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def formatter(fmt: str = "text", text_format: str = TEXT_FORMAT) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else logging.Formatter(text_format)


def prepare_handler(handler: logging.Handler, level: int, fmt: str = "text",
                    text_format: str = TEXT_FORMAT) -> logging.Handler:
    """``handler`` at ``level`` in ``fmt``, with :class:`FetchNoiseFilter` unless DEBUG."""
    handler.setLevel(level)
    handler.setFormatter(formatter(fmt, text_format))
    if level > logging.DEBUG:
        handler.addFilter(FetchNoiseFilter())
    return handler
