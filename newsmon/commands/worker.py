"""newsmon worker: take crawl tasks from the shared queue and run them (distributed crawling)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from newsmon.app import app
from newsmon.options import ConfigOption, VerboseOption, exec_lean, fail, settings_from

QueueOption = Annotated[str | None, typer.Option(
    "--queue", "-q", help="The queue to take tasks from (default: distributed.queue).",
    show_default=False)]
BurstOption = Annotated[bool, typer.Option(
    "--burst", help="Run the tasks queued now, then exit (for tests and one-off catch-ups).")]
LogFileOption = Annotated[Path | None, typer.Option(
    "--log-file", help="Also log to this file, rotated (default: scheduler.log_file).",
    show_default=False)]

NO_REDIS = ("distributed.redis_url is not set: set it in the settings or $NEWSMON_REDIS_URL "
            "(e.g. redis://redis.example:6379/0) to use workers")


@app.command("worker")
def worker_command(
    config: ConfigOption = None,
    queue: QueueOption = None,
    burst: BurstOption = False,
    verbose: VerboseOption = 0,
    log_file: LogFileOption = None,
) -> None:
    """Run a crawl worker: take one source's crawl task at a time from the queue in Redis
    (distributed.redis_url) and run it in a child process with its hard timeout, writing to
    the shared database. Run as many as you like, on any machines that share the settings,
    the Redis and a PostgreSQL database_url; 'newsmon run' queues the tasks.

    A task whose worker dies is run again by another worker after
    distributed.visibility_timeout; one source is never crawled by two workers at once.
    SIGTERM or Ctrl+C takes no new task and lets the running crawl finish within
    scheduler.grace_period; a second signal stops it (recorded as interrupted).

    Example: NEWSMON_REDIS_URL=redis://redis:6379/0 newsmon worker --config
    /etc/newsmon/settings.yaml
    """
    settings = settings_from(config)  # a bad configuration fails here, like elsewhere
    if settings.distributed.redis_url is None:
        fail(NO_REDIS, 2)
    # Like 'newsmon run': replace this process (same pid) with one that imports only what a
    # worker needs; the crawls run in child processes of their own.
    exec_lean("newsmon.commands.worker", config, verbose, log_file,
              (["--queue", queue] if queue is not None else []) + (["--burst"] if burst else []))


def serve(
    config: ConfigOption = None,
    queue: QueueOption = None,
    burst: BurstOption = False,
    verbose: VerboseOption = 0,
    log_file: LogFileOption = None,
) -> None:
    """The worker itself (``python -m newsmon.commands.worker``, what ``newsmon worker``
    execs)."""
    from sqlalchemy.exc import SQLAlchemyError

    from config.schema import DistributedSettings
    from newsmon.commands.run import setup_service_logging
    from scheduler.distributed import DistributedError
    from scheduler.worker import serve as serve_worker
    from storage import StorageError

    settings = settings_from(config)
    if settings.distributed.redis_url is None:
        fail(NO_REDIS, 2)
    if queue is not None:
        try:
            distributed = DistributedSettings.model_validate(
                settings.distributed.model_dump() | {"queue": queue})
        except ValueError:
            fail(f"--queue {queue!r}: a queue name is lower-case letters, digits and '-'", 2)
        settings = settings.model_copy(update={"distributed": distributed})
    setup_service_logging(settings, verbose, log_file)
    try:
        serve_worker(settings, config, burst=burst,
                     log_level=logging.INFO if verbose else logging.WARNING)
    except DistributedError as exc:
        fail(f"{exc}\nIs Redis running, and is distributed.redis_url (or $NEWSMON_REDIS_URL) "
             "right?", 1)
    except (StorageError, ImportError) as exc:
        fail(f"{exc}\nFix database_url in the settings or $NEWSMON_DATABASE_URL.", 2)
    except SQLAlchemyError as exc:
        fail(f"cannot open the database {settings.database_url!r}: {exc}\nIs the server "
             "running, and is the URL right (database_url or $NEWSMON_DATABASE_URL)?", 1)


if __name__ == "__main__":
    typer.run(serve)
