"""newsmon workers: the crawl workers on the shared queue, and how many tasks wait."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo

from newsmon.app import app
from newsmon.options import ConfigOption, console, fail, settings_from
from newsmon.output import Column, FormatOption, OutputFormat, counted, plain, print_rows

WORKER_STYLE = {"busy": "cyan", "idle": "green", "lost": "bold red", "suspended": "yellow"}
COLUMNS = (
    Column("name", "worker"),
    Column("host"),
    Column("pid", justify="right"),
    Column("state", style=lambda v, _r: WORKER_STYLE.get(str(v), "")),
    Column("source", "crawling"),
    Column("last_heartbeat", "last heartbeat"),
    Column("jobs_done", "done", justify="right"),
    Column("jobs_failed", "failed", justify="right"),
)


@app.command("workers")
def workers_command(fmt: FormatOption = OutputFormat.TABLE, config: ConfigOption = None) -> None:
    """List the crawl workers registered on the queue (name, host, state, the source each is
    crawling, last heartbeat) and the queue's depth: tasks queued, running, waiting for a
    retry, and failed. A worker silent for longer than distributed.visibility_timeout is
    shown as lost: it died, and its task is run again by another worker.

    Example: newsmon workers --format json
    """
    from redis.exceptions import RedisError

    from scheduler.distributed import CrawlQueue, DistributedError

    settings = settings_from(config)
    if settings.distributed.redis_url is None:
        fail("distributed.redis_url is not set: there are no workers to list (set it in the "
             "settings or $NEWSMON_REDIS_URL)", 2)
    try:
        queue = CrawlQueue.from_settings(settings.distributed)
        workers = queue.workers()
        depth = queue.depth()
    except (DistributedError, RedisError) as exc:
        fail(f"{exc}\nIs Redis running, and is distributed.redis_url (or $NEWSMON_REDIS_URL) "
             "right?", 1)
    rows: list[dict[str, Any]] = []
    for w in workers:
        row = asdict(w)
        row["heartbeat_age"] = round(w.heartbeat_age, 1) if w.heartbeat_age is not None else None
        rows.append(row)
    if fmt is OutputFormat.JSON:
        doc = {"queue": queue.name, **asdict(depth),
               "workers": [{k: plain(v) for k, v in r.items()} for r in rows]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt is not OutputFormat.TABLE:
        print_rows(rows, COLUMNS, fmt)
        return
    live = sum(1 for w in workers if w.state != "lost")
    console.print(f"queue [bold]{queue.name}[/]: {depth.queued} queued, {depth.running} "
                  f"running, {depth.scheduled} waiting for a retry, {depth.failed} failed; "
                  f"{counted(live, 'live worker')}", highlight=False)
    tz = ZoneInfo(settings.default_timezone)
    print_rows(rows, COLUMNS, fmt, title=f"Workers (times in {tz.key})", tz=tz,
               empty="no workers: start some with 'newsmon worker'")
