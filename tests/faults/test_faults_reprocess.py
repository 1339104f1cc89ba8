"""``newsmon reprocess`` killed mid-way, run beside a live service, and given a local date:
real child processes (the command itself, a process holding the scheduler lock), on SQLite
and PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from crawler.topics import Taxonomy
from newsmon.app import app
from newsmon.cli import _load_commands
from storage import ArticleRecord, Store
from storage.models import Article, Story

NEWSMON = str(Path(sys.executable).with_name("newsmon"))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SOURCES = ("wire", "daily", "herald")
TOPICS = Taxonomy.load().names
POWER = ("TNERC tariff order: power bills to rise from December 1",
         "The Tamil Nadu Electricity Regulatory Commission on Wednesday approved an increase "
         "of 15 paise per unit in the electricity tariff for domestic consumers.")

_LOCK_HOLDER = """
import sys, time
from datetime import timedelta
from scheduler.lock import SchedulerLock
from storage import Store
from storage.scheduler_store import SchedulerStore
store = Store.from_url(sys.argv[1])
lock = SchedulerLock(SchedulerStore(store.engine), stale_after=timedelta(seconds=60))
lock.acquire()
print("held", flush=True)
while True:
    time.sleep(1)
    lock.heartbeat()
"""


def _backend(db_url: str) -> str:
    return "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"


def _settings(tmp_path: Path, db_url: str, **extra: Any) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"database_url": db_url, "sources": [], **extra}))
    return path


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _unenriched(key: str, title: str, body: str, source: str, at: datetime) -> ArticleRecord:
    """An article stored as before an upgrade: no topics, entities or signature."""
    return ArticleRecord(url_key=key, canonical_url=f"https://{key}", url=f"https://{key}",
                         source=source, title=title, body=body, fetched_at=at,
                         published_at=at)


def _wire_stories(n: int) -> list[tuple[int, ArticleRecord]]:
    """``n`` wire stories, each carried by the three sources word for word: (story, record),
    in the order they were first seen."""
    rnd = random.Random(16)
    vocab = ["".join(rnd.choice("bcdfghklmnprstvz") + rnd.choice("aeiou") for _ in range(4))
             for _ in range(5000)]
    out = []
    for k in range(n):
        title = " ".join(rnd.sample(vocab, 8)).capitalize()
        body = " ".join(rnd.choice(vocab) for _ in range(120)) + "."
        for j, source in enumerate(SOURCES):
            at = T0 + timedelta(minutes=10 * k + j)
            out.append((k, _unenriched(f"{source}.example/{k}", title, body, source, at)))
    return out


def check_stories(store: Store) -> dict[int, list[int]]:
    """Every article is in a story and every story's counts and primary are true to its
    articles; returns story id -> its article ids."""
    with store.session() as s:
        members: dict[int, list[tuple[int, int]]] = {}
        for aid, sid, source in s.execute(select(Article.id, Article.story_id,
                                                 Article.source_id)):
            assert sid is not None, f"article {aid} is in no story"
            members.setdefault(sid, []).append((aid, source))
        stories = {st.id: st for st in s.execute(select(Story)).scalars()}
    assert set(stories) == set(members), "stories without articles, or missing stories"
    for sid, rows in members.items():
        st = stories[sid]
        assert st.article_count == len(rows), f"story {sid}: count {st.article_count}"
        assert st.source_count == len({src for _, src in rows}), f"story {sid}: sources"
        assert st.primary_article_id == min(a for a, _ in rows), f"story {sid}: primary"
    return {sid: sorted(a for a, _ in rows) for sid, rows in members.items()}


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
    return value


def test_reprocess_killed_after_its_first_batch_leaves_every_article_in_a_story(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    stories = 80
    store = Store.from_url(db_url)
    store.upsert_articles([r for _, r in _wire_stories(stories)])  # one story each, unfiled
    total = stories * len(SOURCES)
    with store.session() as s:
        old_max = s.execute(select(Story.id).order_by(Story.id.desc()).limit(1)).scalar_one()
    config = _settings(tmp_path, db_url)

    poll = create_engine(store.engine.url)
    child = subprocess.Popen([NEWSMON, "reprocess", "--config", str(config),
                              "--batch-size", "3"], env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def first_commit() -> bool:
            with poll.connect() as conn:  # a story opened by the re-processing is committed
                return bool(conn.execute(text("SELECT count(*) FROM stories WHERE id > :m"),
                                         {"m": old_max}).scalar())
        _wait(first_commit, 60, "the first batch's commit")
        child.send_signal(signal.SIGKILL)
        out = child.communicate(timeout=30)[0].decode()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        poll.dispose()
    assert child.returncode == -signal.SIGKILL, out
    with store.session() as s:
        refiled = s.execute(select(Article.id).where(Article.story_id > old_max)).all()
    assert 0 < len(refiled) < total, f"killed too late: {len(refiled)} of {total} refiled"

    check_stories(store)  # the old filing or the new, nothing in between

    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"reprocessed {total} articles" in result.output
    groups = check_stories(store)
    by_key = {a.id: a.url_key for a in store.articles()}
    # As a fresh run files them: each wire story once, with its three copies.
    assert sorted(sorted(by_key[a].split("/")[1] for a in ids) for ids in groups.values()
                  ) == sorted([str(k)] * 3 for k in range(stories))
    store.close()
    record("integrity", f"`newsmon reprocess` killed (kill -9) after its first batch "
           f"({_backend(db_url)})",
           f"{len(refiled)} of {total} articles refiled, the others in their old stories: "
           "every article in a story, every story's counts true; a second run files all "
           f"{stories} wire stories with their copies")


def test_reprocess_refuses_while_a_service_holds_the_lock_unless_forced(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    store = Store.from_url(db_url)
    store.upsert_articles([_unenriched("wire.example/power", *POWER, "wire", T0)])
    config = _settings(tmp_path, db_url)
    holder = subprocess.Popen([sys.executable, "-c", _LOCK_HOLDER, db_url], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line.strip() == "held", holder.stderr.read() if holder.stderr else line
        _load_commands()
        refused = CliRunner().invoke(app, ["reprocess", "--config", str(config)])
        assert refused.exit_code == 2, refused.output
        message = " ".join(refused.output.split())
        assert f"a newsmon service (pid {holder.pid} on host " in message
        assert "s ago) is running on this database; stop it first, or pass --force" in message
        assert [a.topic_scores for a in store.articles()] == [{}]  # untouched
        forced = CliRunner().invoke(app, ["reprocess", "--config", str(config), "--force"])
        assert forced.exit_code == 0, forced.output
        assert "reprocessed 1 article\n" in forced.output
        assert [set(a.topic_scores) for a in store.articles()] == [set(TOPICS)]
    finally:
        holder.terminate()
        holder.wait(timeout=30)
    check_stories(store)
    store.close()
    record("integrity", f"`newsmon reprocess` while a service holds the database's lock "
           f"({_backend(db_url)})", "refused, exit 2: " + message.removeprefix("Error: ")
           + "; nothing changed; with --force it runs")


def test_reprocess_since_a_date_is_local_midnight(
        db_url: str, tmp_path: Path, record: Callable[..., None]) -> None:
    """Asia/Kolkata is UTC+05:30: 2026-11-01 begins at 2026-10-31 18:30 UTC."""
    store = Store.from_url(db_url)
    times = {"before": datetime(2026, 10, 31, 18, 0, tzinfo=UTC),  # 23:30 IST, 31 October
             "after": datetime(2026, 10, 31, 19, 0, tzinfo=UTC),  # 00:30 IST, 1 November
             "later": datetime(2026, 11, 1, 2, 0, tzinfo=UTC)}
    store.upsert_articles([_unenriched(f"wire.example/{k}", f"{POWER[0]} ({k})", POWER[1],
                                       "wire", at) for k, at in times.items()])
    config = _settings(tmp_path, db_url, default_timezone="Asia/Kolkata")
    _load_commands()
    result = CliRunner().invoke(app, ["reprocess", "--config", str(config),
                                      "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "reprocessed 2 articles" in result.output
    scored = {a.url_key.split("/")[1] for a in store.articles() if a.topic_scores}
    assert scored == {"after", "later"}
    bad = CliRunner().invoke(app, ["reprocess", "--config", str(config), "--since", "soon"])
    assert bad.exit_code == 2
    assert "--since: 'soon' is not a time" in bad.output
    check_stories(store)
    store.close()
    record("integrity", f"`newsmon reprocess --since 2026-11-01` with default_timezone "
           f"Asia/Kolkata ({_backend(db_url)})",
           "from local midnight (2026-10-31 18:30 UTC), as search, export and stats read "
           "dates: the article first seen at 00:30 IST is re-processed, the one at 23:30 IST "
           "the day before is not")

