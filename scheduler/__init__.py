"""The background service behind ``newsmon run``.

- :mod:`scheduler.service` — :class:`~scheduler.service.Service`: APScheduler jobs rebuilt
  from the configuration, one service per database, a clean stop on SIGTERM/SIGINT.
- :mod:`scheduler.jobs` — triggers, first run times, misfire grace, back-off (pure functions).
- :mod:`scheduler.lock` — the database lock row with its heartbeat (and, on PostgreSQL, an
  advisory lock); :class:`~scheduler.lock.LockHeld`, :class:`~scheduler.lock.LockLost`.
- :mod:`scheduler.child` — child processes with a hard timeout and a memory cap, and the
  crawl supervisor that always closes its run row.
- :mod:`scheduler.crawl_child` — the child's entry point: one source, one crawl.
- :mod:`scheduler.forkserver` — the preloaded fork server crawl processes are forked from
  (``scheduler.crawl_start: forkserver``), so that a crawl does not pay for Python's start.
- :mod:`scheduler.report` — what ``newsmon sources`` and ``newsmon status`` show.
- :mod:`scheduler.distributed` — crawling on several machines: one RQ task per due source in
  Redis, the per-source lock, the service's side (``distributed.redis_url``).
- :mod:`scheduler.worker` — ``newsmon worker``: the RQ worker and its crawl task.
"""
