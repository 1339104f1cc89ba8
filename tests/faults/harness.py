"""Running one fault case: settings written like a user's, a real crawl, and what it left."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, cast

import pytest
import pytest_twisted
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from config import Settings, load_settings
from crawler.runner import SourceResult, crawl_async
from storage import Store
from storage.models import Article, CrawlRun, SourceRow

P = ParamSpec("P")


def reactor_test(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, Any]:
    """``pytest_twisted.ensureDeferred``, typed: the test runs on the Twisted reactor."""
    return cast(Callable[P, Any], pytest_twisted.ensureDeferred(fn))


#: Crawl settings for the fault suite: production caps (10 MiB, two retries), short waits.
FAULT_CRAWL: dict[str, Any] = {
    "download_delay": 0, "autothrottle": False, "retries": 2, "download_timeout": "2s",
    "source_timeout": "30s", "concurrency": 8, "per_domain_concurrency": 4,
}
#: Scrapy overrides: Retry-After waits capped at 2 s so the 429 case stays fast.
FAULT_OVERRIDES: dict[str, Any] = {"NEWSMON_RETRY_AFTER_MAX": 2.0}


def rss_source(name: str, url: str | Sequence[str], **extra: Any) -> dict[str, Any]:
    urls = [url] if isinstance(url, str) else list(url)
    return {"name": name, "kind": "rss", "urls": urls, "timezone": "Asia/Kolkata", **extra}


def write_config(folder: Path, db_url: str, sources: list[dict[str, Any]],
                 crawl: dict[str, Any] | None = None, **extra: Any) -> Path:
    """settings.yaml + sources.yaml in ``folder``, as a user would write them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))
    data: dict[str, Any] = {"database_url": db_url, "data_dir": str(folder),
                            "crawl": {**FAULT_CRAWL, **(crawl or {})},
                            "sources_file": "sources.yaml", **extra}
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass(slots=True)
class CaseRun:
    """What a crawl did, per source: the runner's result, the recorded run, stored titles."""

    results: dict[str, SourceResult]
    runs: dict[str, CrawlRun]
    titles: dict[str, list[str]]

    def run(self, source: str) -> CrawlRun:
        return self.runs[source]

    def stored(self, source: str) -> int:
        return len(self.titles.get(source, []))

    def dropped(self, source: str) -> int:
        return self.results[source].stats.dropped


def snapshot(store: Store, results: Sequence[SourceResult] = ()) -> CaseRun:
    """The latest run row and the stored article titles of every source in ``store``."""
    runs: dict[str, CrawlRun] = {}
    for run in reversed(store.runs(limit=1000)):  # oldest first, so the latest wins
        runs[run.source_name] = run
    titles: dict[str, list[str]] = {}
    with store.session() as session:
        for name, title in session.execute(
                select(SourceRow.name, Article.title).join(Article.source).order_by(Article.id)):
            titles.setdefault(name, []).append(title)
    return CaseRun({r.source: r for r in results}, runs, titles)


async def crawl_case(settings: Settings, store: Store, **overrides: Any) -> CaseRun:
    """Crawl every enabled source once, concurrently, on the running reactor."""
    results = await crawl_async(settings, settings.enabled_sources(), store=store,
                                **{**FAULT_OVERRIDES, **overrides})
    return snapshot(store, results)


def load(path: Path) -> Settings:
    return load_settings(path, env={})


PG_ADMIN_URL = os.environ.get(
    "NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def throwaway_pg() -> Generator[str, None, None]:
    """A PostgreSQL database of its own (yielded once, as a URL), dropped afterwards; skips
    the test if there is no server. Faults done to it touch no one else's database."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__})")
    name = f"newsmon_fault_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
