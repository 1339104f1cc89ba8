"""Load the settings file and the source list, validate them once, and explain what is wrong."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.schema import Settings
from config.watchlists import check_watchlists

logger = logging.getLogger(__name__)
PACKAGED_SETTINGS = Path(__file__).with_name("settings.yaml")
ENV_CONFIG = "NEWSMON_CONFIG"
ENV_DATABASE_URL = "NEWSMON_DATABASE_URL"
ENV_REDIS_URL = "NEWSMON_REDIS_URL"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, source and field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in {self.path}:\n{lines}")


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, mark: yaml.Mark) -> None:
        super().__init__(f"duplicate key {key!r} at line {mark.line + 1}, "
                         f"column {mark.column + 1}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (PyYAML would keep the last silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# libyaml's parser, where PyYAML was built with it: the topics and entities files take most of
# a quick command's start-up to parse in pure Python. Errors are always reported by the
# pure-Python loader (read_yaml parses again), whose messages and marks the tests pin.
_fast_loader: type[Any] = _UniqueKeyLoader
if getattr(yaml, "__with_libyaml__", False):
    class _CUniqueKeyLoader(yaml.CSafeLoader):
        """:class:`_UniqueKeyLoader` on libyaml's parser."""

    _CUniqueKeyLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _fast_loader = _CUniqueKeyLoader


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; a key given twice, bad syntax, an unreadable or empty file
    raise :class:`ConfigError` naming the file (and the line, where there is one)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read the file: {exc}"]) from None
    try:
        return _checked(path, yaml.load(text, Loader=_fast_loader))  # noqa: S506 - SafeLoader
    except yaml.YAMLError:
        pass  # parsed again below, for the pure-Python loader's message
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ConfigError(path, [str(exc)]) from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}: "
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"YAML syntax error at {where}{problem}"]) from None
    return _checked(path, data)


def _checked(path: Path, data: Any) -> Any:
    if data is None:
        raise ConfigError(path, ["the file is empty"])
    return data


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _watchlist(raw: list[Any], idx: int) -> str:
    name = raw[idx].get("name") if idx < len(raw) and isinstance(raw[idx], Mapping) else None
    return f"watchlist {name!r} (entry {idx + 1})" if name else f"watchlist (entry {idx + 1})"


#: What a mapping field looks like, for the message when something else is given.
_MAPPING_EXAMPLES = {
    "schedule": "{interval: 15m, jitter: 1m} or {cron: '0 */2 * * *'}",
    "headers": "{Accept: text/html}",
    "cookies": "{consent: 'yes'}",
}


def _not_a_mapping(loc: tuple[Any, ...], given: Any) -> str:
    """pydantic's 'Input should be a valid dictionary or instance of Schedule', for people."""
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    example = _MAPPING_EXAMPLES.get(field)
    kind = {str: "the text", int: "the number", float: "the number", bool: "the value",
            list: "a list"}.get(type(given), f"a {type(given).__name__}")
    what = f"{kind} {given!r}" if given is not None else "nothing"
    shape = f" such as {example}" if example else " (field: value lines)"
    return f"expected a mapping{shape}, got {what}"


def _describe(
    exc: ValidationError, raw_sources: list[Any], settings_path: Path, sources_path: Path,
    raw_watchlists: list[Any] | None = None, watchlists_path: Path | None = None,
) -> ConfigError:
    raw_watchlists = raw_watchlists or []
    watchlists_path = watchlists_path or settings_path
    problems_by_file: dict[Path, list[str]] = {}
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] in ("model_type", "dict_type"):
            msg = _not_a_mapping(loc, err.get("input"))
        if len(loc) >= 2 and loc[0] == "watchlists" and isinstance(loc[1], int):
            problems_by_file.setdefault(watchlists_path, []).append(
                f"{_watchlist(raw_watchlists, loc[1])}, field '{_field_path(loc[2:])}': {msg}")
        elif len(loc) >= 2 and loc[0] == "notify":
            problems_by_file.setdefault(settings_path, []).append(
                f"notify target {loc[1]!r}, field '{_field_path(loc[2:])}': {msg}")
        elif loc and loc[0] == "sources":
            target = sources_path
            if len(loc) >= 2 and isinstance(loc[1], int):
                idx = loc[1]
                name = None
                if idx < len(raw_sources) and isinstance(raw_sources[idx], Mapping):
                    name = raw_sources[idx].get("name")
                who = f"source {name!r}" if name else "source"
                problems_by_file.setdefault(target, []).append(
                    f"{who} (entry {idx + 1}), field '{_field_path(loc[2:])}': {msg}"
                )
            else:
                problems_by_file.setdefault(target, []).append(f"sources: {msg}")
        else:
            problems_by_file.setdefault(settings_path, []).append(
                f"field '{_field_path(loc)}': {msg}"
            )
    # Pydantic checks unique names only once every entry is valid; say it now as well.
    names = [r.get("name") if isinstance(r, Mapping) else None for r in raw_sources]
    for name in sorted({n for n in names if n is not None and names.count(n) > 1}, key=str):
        entries = " and ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        msg = f"source {name!r} (entries {entries}), field 'name': duplicate source name"
        problems = problems_by_file.setdefault(sources_path, [])
        # Said once, with the entries: drop the schema's shorter form of the same message.
        problems[:] = [p for p in problems if p != f"sources: duplicate source name {name!r}"]
        problems.append(msg)
    files = list(problems_by_file)
    if len(files) == 1:
        return ConfigError(files[0], problems_by_file[files[0]])
    return ConfigError(files[0], [f"{p}: {m}" for p, ms in problems_by_file.items() for m in ms])


def _load_sources(path: Path) -> list[Any]:
    data = read_yaml(path)
    if isinstance(data, Mapping):
        data = data.get("sources")
    if not isinstance(data, list):
        raise ConfigError(path, ["expected a list of sources under the key 'sources'"])
    return data


def load_settings(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read, merge and validate the settings file and its source list.

    ``path`` wins over ``$NEWSMON_CONFIG``, which wins over the packaged default.
    ``$NEWSMON_DATABASE_URL`` overrides ``database_url`` and ``$NEWSMON_REDIS_URL``
    ``distributed.redis_url``; ``overrides`` win over all.
    Raises :class:`ConfigError` naming file, source and field on any problem.
    """
    env = os.environ if env is None else env
    settings_path = Path(path or env.get(ENV_CONFIG) or PACKAGED_SETTINGS)
    raw = read_yaml(settings_path)
    if not isinstance(raw, Mapping):
        raise ConfigError(settings_path, ["expected a mapping of settings at the top level"])
    raw = dict(raw)

    sources_path = settings_path
    sources_file = raw.pop("sources_file", None)
    if sources_file is not None:
        if "sources" in raw:
            raise ConfigError(settings_path, ["give either 'sources' or 'sources_file', not both"])
        sources_path = (settings_path.parent / str(sources_file)).resolve()
        raw["sources"] = _load_sources(sources_path)
    raw_sources = raw.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError(settings_path, ["field 'sources': expected a list of sources"])

    watchlists_path = settings_path
    watchlists_file = raw.pop("watchlists_file", None)
    if watchlists_file is not None:
        if "watchlists" in raw:
            raise ConfigError(settings_path,
                              ["give either 'watchlists' or 'watchlists_file', not both"])
        watchlists_path = (settings_path.parent / str(watchlists_file)).resolve()
        data = read_yaml(watchlists_path)
        raw["watchlists"] = data.get("watchlists") if isinstance(data, Mapping) else data
        if not isinstance(raw["watchlists"], list):
            raise ConfigError(watchlists_path,
                              ["expected a list of watchlists under the key 'watchlists'"])
    raw_watchlists = raw.get("watchlists") or []
    if not isinstance(raw_watchlists, list):
        raise ConfigError(settings_path, ["field 'watchlists': expected a list of watchlists"])

    for key in ("topics_file", "entities_file"):
        if isinstance(raw.get(key), str):  # relative to the settings file, like sources_file
            raw[key] = str((settings_path.parent / raw[key]).resolve())
    if env.get(ENV_DATABASE_URL):
        raw["database_url"] = env[ENV_DATABASE_URL]
    if env.get(ENV_REDIS_URL):
        distributed = raw.get("distributed")
        raw["distributed"] = {**(distributed if isinstance(distributed, Mapping) else {}),
                              "redis_url": env[ENV_REDIS_URL]}
    if overrides:
        raw.update(overrides)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise _describe(exc, raw_sources, settings_path, sources_path, raw_watchlists,
                        watchlists_path) from None
    problems = [f"{_watchlist(raw_watchlists, i)}, field '{field}': {msg}"
                for i, field, msg in check_watchlists(settings.watchlists, settings.notify)]
    if problems:
        raise ConfigError(watchlists_path, problems)
    files = [str(settings_path.resolve())]
    if sources_path != settings_path:
        files.append(str(sources_path))
    if watchlists_path not in (settings_path, sources_path):
        files.append(str(watchlists_path))
    settings._files = tuple(files)
    return settings


_placeholder_warned = threading.Event()


def warn_placeholder_contact(settings: Settings) -> None:
    """Warn, once per process, that the user agent still carries the shipped contact URL.

    Called where crawling starts: a crawl's Scrapy settings, the service, a worker."""
    if settings.contact_url_is_placeholder and not _placeholder_warned.is_set():
        _placeholder_warned.set()
        logger.warning("contact_url is still the placeholder %s, so sites see the user agent "
                       "%r: set contact_url in the settings file to a page where site "
                       "operators can read about your crawler and reach you",
                       settings.contact_url, settings.effective_user_agent)


def placeholder_warning_given() -> None:
    """Say no more about the placeholder in this process: a crawl child, whose service or
    worker has warned already."""
    _placeholder_warned.set()
