"""What went wrong with a request, in words a user reads in ``newsmon runs``.

:func:`describe_failure` turns the failure an errback receives into one line that starts with
the URL and says what happened ("HTTP 503 Service Unavailable (retried 2 times)",
"connection refused", "response larger than the 10 MiB cap (DOWNLOAD_MAXSIZE)"), not which
Twisted or Scrapy class was raised.
"""

from __future__ import annotations

from http import HTTPStatus

from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error
from twisted.python.failure import Failure

from crawler.middlewares import RedirectRefused
from crawler.retry import retry_after_seconds


def size_text(n: float) -> str:
    """``10485760`` -> ``"10 MiB"``; ``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            text = f"{n:.1f}".removesuffix(".0")
            return f"{text} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def seconds_text(s: float) -> str:
    return f"{s:.1f}".removesuffix(".0") + " s"


def _retried(request: Request | None) -> str:
    n = int(request.meta.get("retry_times", 0)) if request is not None else 0
    if not n:
        return ""
    return f" (retried {n} time{'s' if n != 1 else ''})"


def _where(url: str, request: Request | None) -> str:
    """The URL, and the one the source configured if a redirect led here."""
    urls = request.meta.get("redirect_urls") if request is not None else None
    return f"{url} (redirected from {urls[0]})" if urls else url


def _http_error(response_status: int, request: Request | None, headers_retry_after: float | None,
                settings: BaseSettings) -> str:
    try:
        phrase = HTTPStatus(response_status).phrase
    except ValueError:
        phrase = ""
    text = f"HTTP {response_status}{' ' + phrase if phrase else ''}"
    refused = request.meta.get("newsmon_retry_after_refused") if request is not None else None
    if refused is not None:
        cap = settings.getfloat("NEWSMON_RETRY_AFTER_MAX")
        return (f"{text} (the server asked to retry after {seconds_text(refused)}, longer than "
                f"the {seconds_text(cap)} cap (crawl.retry_after_max); not retried in this "
                "run)")
    retried = _retried(request)
    if retried and headers_retry_after is not None:
        n = int(request.meta.get("retry_times", 0)) if request is not None else 0
        return (f"{text} (retried {n} time{'s' if n != 1 else ''}, waiting "
                f"{seconds_text(headers_retry_after)} as Retry-After asked)")
    return text + retried


def database_reason(exc: BaseException) -> str:
    """The driver's own first line ("database is locked", "connection refused"), without
    SQLAlchemy's SQL echo and link."""
    orig = getattr(exc, "orig", None) or exc
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip()]
    return lines[0] if lines else type(orig).__name__


def describe_failure(failure: Failure, settings: BaseSettings) -> str:
    """``"<url>: <what happened>"`` for a failed request (``"?"`` if the URL is unknown)."""
    request: Request | None = getattr(failure, "request", None)
    url = request.url if request is not None else "?"
    exc = failure.value
    where = _where(url, request)
    if isinstance(exc, HttpError):
        response = exc.response
        what = _http_error(response.status, response.request or request,
                           retry_after_seconds(response.headers.get(b"Retry-After")), settings)
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            what += f" redirecting to {location.decode('latin-1')}, which was not followed"
        return f"{where}: {what}"
    retried = _retried(request)
    maxsize = settings.getint("DOWNLOAD_MAXSIZE")
    cap = f"the {size_text(maxsize)} cap (DOWNLOAD_MAXSIZE)"
    if isinstance(exc, RedirectRefused):
        return str(exc)
    if isinstance(exc, DownloadConnectionRefusedError | tx_error.ConnectionRefusedError):
        what = "connection refused"
    elif isinstance(exc, CannotResolveHostError | tx_error.DNSLookupError):
        what = "cannot resolve the host name"
    elif isinstance(exc, DownloadTimeoutError | tx_error.TimeoutError):
        timeout = request.meta.get("download_timeout") if request is not None else None
        timeout = timeout or settings.getfloat("DOWNLOAD_TIMEOUT")
        what = f"no response within {seconds_text(float(timeout))}, the DOWNLOAD_TIMEOUT"
    elif isinstance(exc, ResponseDataLossError):
        what = "the connection closed before the whole body arrived (cut short of its length)"
    elif isinstance(exc, DownloadFailedError | tx_error.ConnectionLost | tx_error.ConnectionDone):
        what = "the connection was lost before the response arrived"
    elif isinstance(exc, DownloadCancelledError):
        message = str(exc)
        if "Expected to receive" in message:
            declared = message.split("Expected to receive", 1)[1].split("bytes", 1)[0].strip()
            size = size_text(int(declared)) if declared.isdigit() else "more"
            what = f"response larger than {cap}: Content-Length says {size}"
        else:
            what = f"response larger than {cap}: download stopped"
    elif isinstance(exc, IgnoreRequest) and "during decompression" in str(exc):
        what = f"compressed response expands beyond {cap}; discarded"
    elif isinstance(exc, IgnoreRequest) and str(exc) == "max redirections reached":
        chain = [*(request.meta.get("redirect_urls", []) if request is not None else []), url]
        limit = settings.getint("REDIRECT_MAX_TIMES")
        if len(set(chain)) < len(chain):
            return f"{chain[0]}: redirect loop (gave up after {limit} redirects)"
        return f"{chain[0]}: more than {limit} redirects (REDIRECT_MAX_TIMES)"
    elif isinstance(exc, UnsupportedURLSchemeError):
        what = f"unsupported URL scheme ({exc})"
    elif isinstance(exc, IgnoreRequest):
        what = str(exc) or "request ignored"
    else:
        what = str(exc) or type(exc).__name__
    return f"{where}: {what}{retried}"


__all__ = ["database_reason", "describe_failure", "seconds_text", "size_text"]
