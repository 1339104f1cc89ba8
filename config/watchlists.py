"""Watchlists and notification targets (``watchlists:`` and ``notify:`` in the settings)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


def _duration(value: Any) -> timedelta | None:
    from config.schema import parse_duration  # schema imports this module

    if value is None:
        return None
    td = parse_duration(value)
    if td <= timedelta(0):
        raise ValueError("must be longer than zero")
    return td


def _check_query(query: str) -> str:
    from storage.query_language import QuerySyntaxError, parse_query

    try:
        node = parse_query(query)
    except QuerySyntaxError as exc:
        raise ValueError(f"not a valid search query: {exc}") from None
    if node is None:
        raise ValueError("the query has nothing to search for")
    return query


def _check_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


def _check_apprise(url: str) -> str:
    if "://" not in url:
        raise ValueError(f"{url!r} is not an Apprise URL (scheme://..., e.g. slack://...)")
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotifyTarget(_Strict):
    """One place alerts go: exactly one of ``webhook``, ``email`` or ``apprise``.

    ``secret_env`` names the environment variable holding the webhook's HMAC-SHA256 key; the
    secret itself never sits in the settings file. Email goes through ``digest.smtp``."""

    webhook: Annotated[str | None, AfterValidator(
        lambda v: v if v is None else _check_webhook(v))] = None
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    email: list[str] | None = None
    apprise: Annotated[str | None, AfterValidator(
        lambda v: v if v is None else _check_apprise(v))] = None
    timeout: Annotated[timedelta | None, BeforeValidator(_duration)] = timedelta(seconds=10)

    @model_validator(mode="after")
    def _one_channel(self) -> NotifyTarget:
        given = [k for k in ("webhook", "email", "apprise") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of 'webhook', 'email' or 'apprise'"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.secret_env and not self.webhook:
            raise ValueError("'secret_env' signs webhooks only")
        return self

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "email" if self.email else "apprise"


class Watchlist(_Strict):
    """A standing search: stories whose articles match alert the targets in ``notify``."""

    name: str = Field(pattern=_NAME)
    query: Annotated[str, AfterValidator(_check_query)]
    topics: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    min_sources: int = Field(default=1, ge=1, le=1000)
    notify: list[str] = Field(default_factory=list)
    # One message per target per window (None: each alert at once).
    batch: Annotated[timedelta | None, BeforeValidator(_duration)] = None
    on_update: bool = False


class DeliverySettings(_Strict):
    """How failed deliveries are tried again: ``retry_delay`` doubling, ``max_attempts`` in
    all, then the delivery is marked failed (``newsmon alerts --failed``)."""

    max_attempts: int = Field(default=6, ge=1, le=50)
    retry_delay: Annotated[timedelta | None, BeforeValidator(_duration)] = timedelta(seconds=30)
    poll_interval: Annotated[timedelta | None, BeforeValidator(_duration)] = timedelta(
        seconds=0.5)


def check_watchlists(watchlists: list[Watchlist], notify: dict[str, NotifyTarget]
                     ) -> list[tuple[int, str, str]]:
    """Problems across watchlists: (entry index, field, message) for duplicate names and
    targets that ``notify`` does not define."""
    problems: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for i, wl in enumerate(watchlists):
        if wl.name in seen:
            problems.append((i, "name", "duplicate watchlist name"))
        seen.add(wl.name)
        for target in wl.notify:
            if target not in notify:
                known = ", ".join(sorted(notify)) or "none defined"
                problems.append((i, "notify", f"unknown target {target!r} (notify: {known})"))
    return problems


__all__ = ["DeliverySettings", "NotifyTarget", "Watchlist", "check_watchlists"]
