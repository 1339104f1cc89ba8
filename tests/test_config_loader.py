"""Settings loading: precedence of --config, $NEWSMON_CONFIG and $NEWSMON_DATABASE_URL, and
messages that name the file, the source and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Topic, load_settings
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
           "'sitemap', 'news_sitemap', 'listing' or 'google_news'" in message
    assert "source 'bad-one' (entry 2), field 'schedule': cron '0 25 * * *' is not valid" \
        in message


def test_a_schedule_written_as_text_says_what_a_schedule_looks_like(tmp_path: Path) -> None:
    sources = write(tmp_path / "sources.yaml", """sources:
  - {name: wire, kind: rss, urls: ["https://example.com/feed"], schedule: "*/5 * * * *"}
  - {name: second, kind: rss, urls: ["https://example.com/f2"], selectors: 3}
""")
    settings = write(tmp_path / "settings.yaml", "sources_file: sources.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_settings(settings, env={})
    assert str(err.value) == (
        f"invalid configuration in {sources}:\n"
        "  - source 'wire' (entry 1), field 'schedule': expected a mapping such as "
        "{interval: 15m, jitter: 1m} or {cron: '0 */2 * * *'}, got the text '*/5 * * * *'\n"
        "  - source 'second' (entry 2), field 'selectors': expected a mapping (field: value "
        "lines), got the number 3")


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


def test_user_agent_names_newsmon_and_the_contact_url(tmp_path: Path) -> None:
    from config.schema import PLACEHOLDER_CONTACT_URL, newsmon_version

    packaged = load_settings(env={})
    assert packaged.contact_url == PLACEHOLDER_CONTACT_URL and packaged.contact_url_is_placeholder
    mine = load_settings(write(tmp_path / "s.yaml", "contact_url: https://ops.example.org/bot\n"
                                                    "sources: []\n"), env={})
    assert mine.effective_user_agent == \
        f"Mozilla/5.0 (compatible; newsmon/{newsmon_version()}; +https://ops.example.org/bot)"
    assert not mine.contact_url_is_placeholder
    whole = load_settings(write(tmp_path / "w.yaml", "user_agent: desk/1.0\nsources: []\n"),
                          env={})
    assert (whole.effective_user_agent, whole.contact_url_is_placeholder) == ("desk/1.0", False)


@pytest.mark.parametrize(("text", "problem"), [
    ("contact_url: mailto:ops@example.org\n",
     "field 'contact_url': 'mailto:ops@example.org' is not an http(s) URL"),
    ('user_agent: "desk/1.0\\r\\nX-Evil: 1"\n',
     "field 'user_agent': must be a non-empty line of text (no line breaks)"),
    ("crawl: {page_retry: {first: 2h, longest: 30m}}\n",
     "field 'crawl.page_retry': longest (30m) is shorter than first (2h)"),
    ("crawl: {page_retry: {tries: 0}}\n",
     "field 'crawl.page_retry.tries': Input should be greater than or equal to 1"),
    ("crawl: {retry_after_max: soon}\n",
     "field 'crawl.retry_after_max': 'soon' is not a duration such as 30s, 15m, 6h or 1d"),
])
def test_bad_settings_name_the_file_and_the_field(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path / "s.yaml", text + "sources: []\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(err.value) == f"invalid configuration in {path}:\n  - {problem}"


@pytest.mark.parametrize(("field", "problem"), [
    ('headers: {"X Token": "1"}',
     "field 'headers': 'X Token' is not a header name (letters, digits and "
     "!#$%&'*+-.^_`|~ only, no spaces or colons)"),
    ('headers: {"X-Token": "a\\r\\nSet-Cookie: b"}',
     "field 'headers': header 'X-Token': the value must not contain line breaks or control "
     "characters"),
    ('headers: {"X-Count": 5}', "field 'headers.X-Count': Input should be a valid string"),
    ('headers: {"Cookie": "a=b"}',
     "field 'headers': header 'Cookie' cannot be set here: give cookies under 'cookies', not "
     "as a header"),
    ('headers: {"if-none-match": "x"}',
     "field 'headers': header 'if-none-match' cannot be set here: newsmon sends it from the "
     "stored ETag"),
    ('headers: {"Accept": "a", "accept": "b"}',
     "field 'headers': header 'accept' is given twice (as 'Accept')"),
    ('headers: ["Accept: text/html"]', "field 'headers': expected a mapping such as "
     "{Accept: text/html}, got a list ['Accept: text/html']"),
    ('cookies: {"consent": "yes; admin=1"}',
     "field 'cookies': cookie 'consent': the value must not contain spaces, quotes, commas, "
     "semicolons, backslashes or control characters"),
    ('cookies: {"bad name": "1"}',
     "field 'cookies': 'bad name' is not a cookie name (letters, digits and "
     "!#$%&'*+-.^_`|~ only)"),
])
def test_bad_headers_and_cookies_name_source_and_field(tmp_path: Path, field: str,
                                                       problem: str) -> None:
    write(tmp_path / "sources.yaml", "sources:\n  - {name: good, kind: rss, urls: "
          '["https://a.example/feed"]}\n  - {name: wire, kind: rss, urls: '
          f'["https://b.example/feed"], {field}}}\n')
    settings = write(tmp_path / "settings.yaml", "sources_file: sources.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_settings(settings, env={})
    assert str(err.value) == (f"invalid configuration in {tmp_path / 'sources.yaml'}:\n"
                              f"  - source 'wire' (entry 2), {problem}")


def test_headers_and_cookies_load(tmp_path: Path) -> None:
    write(tmp_path / "sources.yaml", """sources:
  - name: wire
    kind: rss
    urls: ["https://b.example/feed"]
    headers: {Accept-Language: "en-IN,en;q=0.9", User-Agent: "Mozilla/5.0 (X11) Firefox/128.0"}
    cookies: {consent: "yes", gdpr: "1"}
""")
    settings = load_settings(write(tmp_path / "s.yaml", "sources_file: sources.yaml\n"), env={})
    (src,) = settings.sources
    assert src.headers == {"Accept-Language": "en-IN,en;q=0.9",
                           "User-Agent": "Mozilla/5.0 (X11) Firefox/128.0"}
    assert src.cookies == {"consent": "yes", "gdpr": "1"}


def test_placeholder_warning_once_per_process_and_not_in_a_crawl_child(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    from config import loader

    placeholder = load_settings(env={})
    mine = load_settings(write(tmp_path / "s.yaml", "contact_url: https://ops.example.org/bot\n"
                                                    "sources: []\n"), env={})
    loader._placeholder_warned.clear()  # once per process: this test's process
    with caplog.at_level("WARNING", logger="config.loader"):
        loader.warn_placeholder_contact(mine)
        assert caplog.records == []
        loader.warn_placeholder_contact(placeholder)
        loader.warn_placeholder_contact(placeholder)
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        caplog.clear()
        loader._placeholder_warned.clear()
        loader.placeholder_warning_given()  # a crawl child: its service has warned
        loader.warn_placeholder_contact(placeholder)
        assert caplog.records == []


def test_shipped_sources_say_where_their_feed_was_found_and_when() -> None:
    """Each entry of the packaged list is preceded by comments naming its evidence (or why
    it is off) and the date that was checked; Google News is not crawled by default."""
    from config.loader import PACKAGED_SETTINGS

    lines = (PACKAGED_SETTINGS.parent / "sources.yaml").read_text(encoding="utf-8").splitlines()
    settings = load_settings(env={})
    starts = [i for i, line in enumerate(lines) if line.startswith("  - name: ")]
    assert [lines[i].split(": ", 1)[1] for i in starts] == [s.name for s in settings.sources]
    for i in starts:
        j = i
        while j > 0 and lines[j - 1].startswith("  #"):
            j -= 1
        comment = " ".join(lines[j:i])
        name = lines[i].split(": ", 1)[1]
        assert "checked 20" in comment, name
        source = settings.source(name)
        if source.enabled:
            assert "evidence:" in comment, name
    enabled = settings.enabled_sources()
    assert len(enabled) >= 20
    assert {s.topic for s in enabled} >= {Topic.DEFENCE, Topic.TRADE}
    assert not [u for s in enabled for u in s.urls if "news.google.com" in u]


def test_google_news_without_obey_robots_false_names_the_source(tmp_path: Path) -> None:
    write(tmp_path / "sources.yaml", "sources:\n  - {name: gn-defence, kind: google_news, "
          'urls: ["https://news.google.com/rss/search?q=defence"]}\n')
    settings = write(tmp_path / "settings.yaml", "sources_file: sources.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_settings(settings, env={})
    message = str(err.value)
    assert message.startswith(f"invalid configuration in {tmp_path / 'sources.yaml'}:")
    assert "source 'gn-defence' (entry 1)" in message
    assert "kind google_news needs 'obey_robots: false'" in message


def test_google_news_with_obey_robots_false_loads(tmp_path: Path) -> None:
    write(tmp_path / "sources.yaml", "sources:\n  - {name: gn-defence, kind: google_news, "
          'urls: ["https://news.google.com/rss/search?q=defence"], obey_robots: false}\n')
    settings = load_settings(write(tmp_path / "settings.yaml", "sources_file: sources.yaml\n"),
                             env={})
    source = settings.source("gn-defence")
    assert source.kind.value == "google_news" and source.obey_robots is False


def test_retry_settings_reach_the_crawl_and_keep_their_defaults(tmp_path: Path) -> None:
    from crawler.settings import scrapy_settings

    keys = ("NEWSMON_RETRY_AFTER_MAX", "NEWSMON_PAGE_RETRY_FIRST", "NEWSMON_PAGE_RETRY_LONGEST",
            "NEWSMON_PAGE_RETRY_TRIES", "NEWSMON_PAGE_RETRIES_PER_RUN")
    packaged = scrapy_settings(load_settings(env={}))
    assert [packaged[k] for k in keys] == [30.0, 3600.0, 172800.0, 5, 50]
    path = write(tmp_path / "s.yaml", "sources: []\ncrawl:\n  retry_after_max: 2m\n"
                 "  page_retry: {first: 10m, longest: 6h, tries: 3, per_run: 7}\n")
    mine = scrapy_settings(load_settings(path, env={}))
    assert [mine[k] for k in keys] == [120.0, 600.0, 21600.0, 3, 7]
