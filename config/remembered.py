"""The configuration, parsed and validated once per process while its files stay the same.

A crawl process needs one source of the configuration but :func:`config.load_settings` reads
and validates all of it: on a list of 2,000 sources that is most of what a changed poll costs
(about 0.15 CPU-s a crawl, measured). The crawl fork server (:mod:`scheduler.forkserver`)
calls :func:`remember` before it forks a crawl process, so the process finds the settings
already in its memory; :func:`load_settings_remembered` gives them back only while every file
they were read from is unchanged (device, inode, size and modification time) and the
environment variables the loader reads are the same, and reads the files again otherwise. A
file changed in the last :data:`SETTLE_SECONDS` is never remembered: it may still be being
written, within the resolution of its modification time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from config.loader import ENV_CONFIG, ENV_DATABASE_URL, ENV_REDIS_URL, load_settings
from config.schema import Settings

SETTLE_SECONDS = 2.0
T = TypeVar("T")
_FileStat = tuple[int, int, int, int]
_Key = tuple[str | None, str | None, str | None, str | None]
_remembered: dict[_Key, tuple[tuple[tuple[str, _FileStat], ...], Settings]] = {}


def _stat(file: str) -> _FileStat | None:
    try:
        st = os.stat(file)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _key(path: str | Path | None, env: Mapping[str, str], cwd: str | None) -> _Key:
    where = None if path is None else os.path.normpath(os.path.join(cwd or os.getcwd(), path))
    return (where, env.get(ENV_CONFIG), env.get(ENV_DATABASE_URL), env.get(ENV_REDIS_URL))


def _settled(stat: _FileStat | None) -> bool:
    """Whether a file with ``stat`` was last changed over :data:`SETTLE_SECONDS` ago."""
    return stat is not None and stat[3] / 1e9 < time.time() - SETTLE_SECONDS


def _recall(key: _Key) -> Settings | None:
    hit = _remembered.get(key)
    if hit is None:
        return None
    files, settings = hit
    if all(_stat(file) == stat for file, stat in files):
        return settings
    del _remembered[key]
    return None


def remember(path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
             cwd: str | None = None) -> Settings:
    """The settings :func:`config.load_settings` gives for ``path`` and ``env`` (relative
    paths taken from ``cwd``), loaded now unless remembered and unchanged; remembered for
    :func:`load_settings_remembered`. Raises :class:`config.ConfigError` as the loader does."""
    return _remember(path, os.environ if env is None else env, cwd)[0]


def _remember(path: str | Path | None, env: Mapping[str, str], cwd: str | None
              ) -> tuple[Settings, bool]:
    key = _key(path, env, cwd)
    settings = _recall(key)
    if settings is not None:
        return settings, True
    settings = load_settings(None if path is None else Path(key[0] or path), env=env)
    files = tuple((file, _stat(file)) for file in settings._files)
    if all(_settled(stat) for _, stat in files):
        _remembered[key] = (tuple((f, s) for f, s in files if s is not None), settings)
    return settings, False


def load_settings_remembered(path: str | Path | None = None) -> tuple[Settings, bool]:
    """The settings for ``path`` and this process's environment, and whether they were
    remembered (by a fork server before this process was forked from it, or by an earlier
    call); read from the files when they changed since. Raises :class:`config.ConfigError`."""
    return _remember(path, os.environ, None)


_built: dict[tuple[str, str | None], tuple[_FileStat | None, object]] = {}


def built_from_file(kind: str, path: str | Path | None, build: Callable[[], T]) -> T:
    """``build()`` (the topics or the gazetteer compiled from the file at ``path``; None: the
    packaged file, which changes only with newsmon), remembered in this process on the same
    terms as the settings: while the file is unchanged and was not changed in the last
    :data:`SETTLE_SECONDS`. The fork server builds them before each fork, so a crawl process
    does not compile them again."""
    where = None if path is None else os.path.abspath(path)
    stat = None if where is None else _stat(where)
    hit = _built.get((kind, where))
    if hit is not None and hit[0] == stat:
        return hit[1]  # type: ignore[return-value]
    value = build()
    if where is None or _settled(stat):
        _built[(kind, where)] = (stat, value)
    return value


__all__ = ["SETTLE_SECONDS", "built_from_file", "load_settings_remembered", "remember"]
