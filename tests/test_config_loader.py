"""Settings loading: precedence of --config, $NEWSMON_CONFIG and $NEWSMON_DATABASE_URL, and
messages that name the file, the source and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.loader import PACKAGED_SETTINGS


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_settings_load_and_name_real_sources() -> None:
    settings = load_settings(env={})
    assert settings.database_url == "sqlite:///data/newsmon.db"
    assert len(settings.sources) >= 12
    assert all(s.urls[0].startswith("https://") for s in settings.sources)


def test_precedence(tmp_path: Path) -> None:
    mine = write(tmp_path / "mine.yaml", "database_url: sqlite:///mine.db\nsources: []\n")
    env_file = write(tmp_path / "env.yaml", "database_url: sqlite:///env.db\nsources: []\n")
    env = {"NEWSMON_CONFIG": str(env_file)}
    assert load_settings(mine, env=env).database_url == "sqlite:///mine.db"
    assert load_settings(env=env).database_url == "sqlite:///env.db"
    env["NEWSMON_DATABASE_URL"] = "postgresql://db/newsmon"
    assert load_settings(mine, env=env).database_url == "postgresql://db/newsmon"
    assert load_settings(env={}).database_url == load_settings(PACKAGED_SETTINGS,
                                                                 env={}).database_url


def test_errors_name_file_source_and_field(tmp_path: Path) -> None:
    write(tmp_path / "sources.yaml", """sources:
  - name: good
    kind: rss
    urls: ["https://example.com/feed"]
  - name: bad-one
    kind: podcast
    urls: ["https://example.com/feed"]
    schedule: {cron: "0 25 * * *"}
""")
    settings = write(tmp_path / "settings.yaml", "sources_file: sources.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_settings(settings, env={})
    message = str(err.value)
    assert message.startswith(f"invalid configuration in {tmp_path / 'sources.yaml'}:")
    assert "source 'bad-one' (entry 2), field 'kind': Input should be 'rss', 'atom', " \
           "'sitemap', 'news_sitemap' or 'listing'" in message
    assert "source 'bad-one' (entry 2), field 'schedule': cron '0 25 * * *' is not valid" \
        in message


def test_duplicate_source_names_and_keys(tmp_path: Path) -> None:
    dup_names = write(tmp_path / "a.yaml", """sources:
  - {name: same, kind: rss, urls: ["https://a.example/feed"]}
  - {name: same, kind: rss, urls: ["https://b.example/feed"]}
""")
    with pytest.raises(ConfigError) as err:
        load_settings(dup_names, env={})
    assert str(err.value) == (f"invalid configuration in {dup_names}:\n  - source 'same' "
                              "(entries 1 and 2), field 'name': duplicate source name")
    dup_key = write(tmp_path / "b.yaml", "database_url: sqlite:///a.db\n"
                                         "database_url: sqlite:///b.db\n")
    with pytest.raises(ConfigError, match="duplicate key 'database_url' at line 2, column 1"):
        load_settings(dup_key, env={})


def test_topic_and_entity_files_are_relative_to_the_settings_file(tmp_path: Path) -> None:
    settings = write(tmp_path / "s.yaml", "topics_file: my-topics.yaml\nsources: []\n")
    assert load_settings(settings, env={}).topics_file == str(tmp_path / "my-topics.yaml")
