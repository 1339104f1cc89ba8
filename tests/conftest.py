"""Shared fixtures: the sample site on 127.0.0.1, databases (SQLite and PostgreSQL), settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import Settings, load_settings
from crawler.sample_site import SampleSite, render_sources
from storage import Store

# Property tests check what the code does, not how fast: no per-example deadline (a loaded
# CI machine made the 200 ms default fail a correct test).
hypothesis_settings.register_profile("newsmon", deadline=None)
hypothesis_settings.load_profile("newsmon")

PG_ADMIN_URL = os.environ.get(
    "NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def sample_site() -> Iterator[SampleSite]:
    with SampleSite() as site:
        yield site


@pytest.fixture
def site(sample_site: SampleSite) -> SampleSite:
    sample_site.reset()
    return sample_site


def _pg_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: no usable server here
        return f"no PostgreSQL at {PG_ADMIN_URL} ({exc.__class__.__name__}); " \
               "start it or set NEWSMON_TEST_PG_URL"
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    why = _pg_available()
    if why:
        pytest.skip(why)
    name = f"newsmon_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
        ), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsmon.db'}"
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.from_url(db_url)
    yield s
    s.close()


@pytest.fixture
def make_settings(tmp_path: Path, sample_site: SampleSite) -> Callable[..., Settings]:
    """Settings for crawling the sample site: written to YAML and loaded like a user's."""

    def factory(database_url: str, **overrides: Any) -> Settings:
        folder = tmp_path / f"cfg-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / "sources.yaml").write_text(render_sources(sample_site.base_url))
        data: dict[str, Any] = {
            "database_url": database_url,
            "data_dir": str(tmp_path),
            # A configured installation: not the placeholder that newsmon warns about.
            "contact_url": "https://ops.example.org/newsmon",
            "crawl": {"download_delay": 0, "autothrottle": False, "retries": 0,
                      "download_timeout": "10s", "source_timeout": "60s"},
            "sources_file": "sources.yaml",
        }
        data.update(overrides)
        path = folder / "settings.yaml"
        path.write_text(yaml.safe_dump(data))
        return load_settings(path, env={})

    return factory
