"""Concurrent writers, real processes: story filing, schema upgrades and per-source run locks
on one SQLite file (and PostgreSQL), as the service's default concurrency produces them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from storage import Store
from storage.models import Article, SourceRow
from tests.faults.wire import story_of

ROOT = Path(__file__).resolve().parents[2]


def _children(argvs: list[list[str]], timeout: float = 240, env: dict[str, str] | None = None
              ) -> list[subprocess.CompletedProcess[str]]:
    """Run every command at once as a child process; wait for all of them."""
    procs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, **(env or {})}) for argv in argvs]
    done = []
    for argv, p in zip(argvs, procs, strict=True):
        out, err = p.communicate(timeout=timeout)
        done.append(subprocess.CompletedProcess(argv, p.returncode, out, err))
    return done


def stories_by_wire(store: Store) -> dict[int, set[int | None]]:
    """Wire story number -> the story ids its stored copies were filed under."""
    found: dict[int, set[int | None]] = defaultdict(set)
    with store.session() as session:
        for body, story_id in session.execute(select(Article.body, Article.story_id)):
            found[story_of(body)].add(story_id)
    return found


def copies_by_source(store: Store) -> dict[str, int]:
    with store.session() as session:
        rows = session.execute(select(SourceRow.name, Article.id).join(Article.source))
        out: dict[str, int] = defaultdict(int)
        for name, _ in rows:
            out[name] += 1
        return dict(out)


def test_wire_copies_written_at_once_file_under_one_story(
        tmp_path: Path, record: Callable[..., None]) -> None:
    """Three processes file copies of the same 24 wire stories into one SQLite file at the
    same moment, in small batches: each story's copies end in one story, none lost."""
    url = f"sqlite:///{tmp_path / 'wire.db'}"
    Store.from_url(url).close()
    sources, stories = ["pti", "ani", "ians"], 24
    start = time.time() + 4  # the children import and enrich first, then write together
    done = _children([[sys.executable, "-m", "tests.faults.wire", url, s, str(stories), "2",
                       str(start)] for s in sources])
    for p in done:
        assert p.returncode == 0, p.stderr[-3000:]
        assert "database is locked" not in p.stderr
    store = Store.from_url(url, migrate=False)
    try:
        assert copies_by_source(store) == {s: stories for s in sources}
        by_wire = stories_by_wire(store)
        split = {n: ids for n, ids in by_wire.items() if len(ids) != 1 or None in ids}
        merged = stories - len(split)
    finally:
        store.close()
    record("integrity", "3 processes filing copies of the same 24 wire stories into one "
           "SQLite file at once (batches of 2)",
           "every writer takes the write lock (BEGIN IMMEDIATE) before its candidate "
           "lookups; writers queue, none fails",
           stored=f"{len(sources) * stories} / 0; {merged} of {stories} stories in one story")
    assert split == {}, f"stories split across processes: {split}"


def test_first_starts_at_once_on_a_new_sqlite_file_share_one_schema(
        tmp_path: Path, record: Callable[..., None]) -> None:
    """Four `newsmon db upgrade` processes on one new SQLite file at once, several rounds:
    every one exits 0 and the file ends at every head, once."""
    from storage.migrate import current_revisions, head_revisions

    rounds, failures = 3, []
    for r in range(rounds):
        db = tmp_path / f"round{r}" / "newsmon.db"
        url = f"sqlite:///{db}"
        done = _children([[sys.executable, "-m", "newsmon", "db", "upgrade"]] * 4,
                         env={"NEWSMON_DATABASE_URL": url})
        failures += [p.stderr.strip().splitlines()[-1:] for p in done if p.returncode != 0]
        store = Store.from_url(url, migrate=False)
        try:
            assert current_revisions(store.engine) == head_revisions()
        finally:
            store.close()
    record("integrity", f"4 first starts at once on a new SQLite file (`newsmon db upgrade` "
           f"× 4, {rounds} rounds)",
           "the upgrades take the file's write lock in turn: one creates the schema, the "
           "others wait and find it current; every process exits 0",
           stored=f"{rounds * 4 - len(failures)} of {rounds * 4} exited 0; one schema")
    assert failures == []
