"""The JSON API, the feeds and the operations endpoints through a real uvicorn server on
127.0.0.1, with httpx, against a real database (SQLite; PostgreSQL for the marked ones)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from web_support import (
    TARIFF_ARTICLES,
    TOTAL_ARTICLES,
    Live,
    Seeded,
    live_server,
    seed,
    settings_for,
)

from storage import Store
from web.security import CSP, AccessError, access_from_env, check_bind

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Seeded]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'newsmon.db'}"
    store = Store.from_url(url)
    seeded = seed(store)
    with live_server(store, settings_for(url)) as live:
        yield live, seeded
    store.close()


@pytest.fixture
def client(served: tuple[Live, Seeded]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0].base_url, timeout=30) as c:
        yield c


@pytest.fixture
def ids(served: tuple[Live, Seeded]) -> Seeded:
    return served[1]


def test_articles_page_with_a_keyset_cursor_until_the_end(client: httpx.Client) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        data = client.get("/api/v1/articles", params=params).json()
        seen += [a["id"] for a in data["items"]]
        pages += 1
        cursor = data["next"]
        if cursor is None:
            break
    total = client.get("/api/v1/stats").json()["items"][0]["articles"]
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)
    assert pages == -(-total // 7)


def test_article_filters_and_detail(client: httpx.Client, ids: Seeded) -> None:
    trade = client.get("/api/v1/articles", params={"topic": "trade", "limit": 200}).json()
    assert sorted(a["id"] for a in trade["items"]) == ids.tariffs
    by_entity = client.get("/api/v1/articles", params={"entity": "drdo"}).json()["items"]
    assert [a["id"] for a in by_entity] == [ids.story_first]
    detail = client.get(f"/api/v1/articles/{ids.revised}").json()
    assert "Saturday" in detail["body"]
    assert [v["status"] for v in detail["versions"]] == ["accepted", "accepted"]
    assert "Friday" in detail["versions"][0]["body"]
    assert detail["published"]["published_at"].startswith("2026-11-25T04:30")


def test_story_timeline(client: httpx.Client, ids: Seeded) -> None:
    story = client.get(f"/api/v1/stories/{ids.story_id}").json()
    assert [e["article_id"] for e in story["entries"]] == [ids.story_first, ids.story_second,
                                                           ids.copy]
    assert [e["kind"] for e in story["entries"]] == ["first", "report", "copy"]
    assert [e["lag"] for e in story["entries"]] == [0, 7200, 10800]
    assert story["copies"] == 1 and story["independent"] == 2
    # Every article of the factory mentions country:in unless told otherwise.
    assert story["entities"] == {"country:in": 3, "organisation:drdo": 1}
    listed = client.get("/api/v1/stories", params={"min_sources": 2}).json()["items"]
    assert ids.story_id in [s["id"] for s in listed]
    assert len(listed) == 2 and all(s["source_count"] >= 2 for s in listed)  # army, budget
    every = client.get("/api/v1/stories", params={"limit": 200}).json()["items"]
    assert len(every) > len(listed)


def test_search_pages_with_snippets(client: httpx.Client, ids: Seeded) -> None:
    first = client.get("/api/v1/search", params={"q": "tariff", "limit": 20}).json()
    assert len(first["items"]) == 20 and isinstance(first["next"], str)
    rest = client.get("/api/v1/search", params={"q": "tariff", "limit": 20,
                                                "cursor": first["next"]}).json()
    assert rest["next"] is None
    got = [h["id"] for h in first["items"] + rest["items"]]
    assert sorted(got) == ids.tariffs and len(got) == TARIFF_ARTICLES
    assert all("**" in h["snippet"] for h in first["items"])
    none = client.get("/api/v1/search", params={"q": "tariff", "topic": "defence"}).json()
    assert none["items"] == []
    by_date, cursor = [], None
    while True:
        page = client.get("/api/v1/search", params={"q": "tariff", "sort": "date", "limit": 7,
                                                    **({"cursor": cursor} if cursor else {})})
        by_date += [h["id"] for h in page.json()["items"]]
        cursor = page.json()["next"]
        if cursor is None:
            break
    assert by_date == sorted(ids.tariffs, reverse=True)  # newest first: stored in time order
    other = client.get("/api/v1/search", params={"q": "tariff", "sort": "date",
                                                 "cursor": first["next"]})
    assert other.status_code == 400
    assert other.json()["error"].startswith("cursor: made for sort=rank, not sort=date")


def test_watchlists_with_hits_and_deliveries(client: httpx.Client, ids: Seeded) -> None:
    listed = {w["name"]: w for w in client.get("/api/v1/watchlists").json()["items"]}
    assert list(listed) == ["guns", "hostile", "quiet"]
    assert listed["guns"]["hits"] == 2 and listed["guns"]["query"] == "howitzer*"
    assert listed["guns"]["deliveries"] == {"sent": 2, "failed": 2}
    assert listed["quiet"]["hits"] == 0 and listed["quiet"]["deliveries"] == {}
    assert ids.hook_bodies == 3  # two guns alerts and the hostile one reached the receiver
    guns = client.get("/api/v1/watchlists/guns", params={"limit": 1}).json()
    assert [(h["event"], h["article_id"]) for h in guns["hits"]["items"]] == [
        ("grown", ids.story_second)]
    older = client.get("/api/v1/watchlists/guns/hits",
                       params={"limit": 1, "cursor": guns["hits"]["next"]}).json()
    assert [(h["event"], h["article_id"], h["title"]) for h in older["items"]] == [
        ("new", ids.story_first, "Army orders new howitzers")]
    assert older["next"] is None and older["items"][0]["story_id"] == ids.story_id
    deliveries, cursor = guns["deliveries"]["items"], guns["deliveries"]["next"]
    while cursor is not None:
        page = client.get("/api/v1/watchlists/guns/deliveries",
                          params={"limit": 1, "cursor": cursor}).json()
        deliveries += page["items"]
        cursor = page["next"]
    assert [(d["event"], d["target"], d["channel"], d["status"], d["attempts"])
            for d in deliveries] == [
        ("grown", "dead", "webhook", "failed", 1), ("grown", "hook", "webhook", "sent", 1),
        ("new", "dead", "webhook", "failed", 1), ("new", "hook", "webhook", "sent", 1)]
    assert all("Connection refused" in d["last_error"] for d in deliveries
               if d["target"] == "dead")
    assert all(d["last_error"] is None and d["sent_at"] for d in deliveries
               if d["target"] == "hook")
    hostile = client.get("/api/v1/watchlists/hostile").json()["hits"]["items"]
    assert [h["article_id"] for h in hostile] == [ids.hostile]
    assert hostile[0]["title"].startswith("<script>")  # JSON carries the text as it is
    assert client.get("/api/v1/watchlists/nope").status_code == 404
    assert client.get("/api/v1/watchlists/nope/hits").status_code == 404
    bad = client.get("/api/v1/watchlists/guns/hits", params={"cursor": "x"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]
    bad_name = client.get("/api/v1/watchlists/Not%20A%20Name")
    assert bad_name.status_code == 400 and "name" in bad_name.json()["error"]


def test_etag_gives_304(client: httpx.Client) -> None:
    first = client.get("/api/v1/stories")
    tag = first.headers["etag"]
    again = client.get("/api/v1/stories", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/api/v1/stories", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()


@pytest.mark.parametrize(("path", "params", "names"), [
    ("/api/v1/articles", {"limit": "0"}, "limit"),
    ("/api/v1/articles", {"limit": "lots"}, "limit"),
    ("/api/v1/articles", {"cursor": "-3"}, "cursor"),
    ("/api/v1/articles", {"since": "yesterday"}, "since"),
    ("/api/v1/articles", {"source": "x' OR 1=1 --"}, "source"),
    ("/api/v1/articles", {"since": "2026-11-26", "until": "2026-11-25"}, "since"),
    ("/api/v1/search", {"q": '"unclosed phrase'}, "q"),
    ("/api/v1/search", {"sort": "random"}, "sort"),
    ("/api/v1/search", {"q": "tariff", "cursor": "20"}, "cursor"),
    ("/api/v1/search", {"q": "tariff", "cursor": "not a cursor"}, "cursor"),
    ("/api/v1/search", {"q": "tariff", "cursor": "eyJvIjoicmFuayJ9"}, "cursor"),
    ("/api/v1/stats", {"by": "week"}, "by"),
    ("/api/v1/articles/abc", {}, "article_id"),
    ("/feeds/search.atom", {}, "q"),
])
def test_bad_parameters_are_400_naming_them(client: httpx.Client, path: str,
                                            params: dict[str, str], names: str) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 400, r.text
    assert names in r.json()["error"]


@pytest.mark.parametrize(("path", "names"), [
    ("/?day=25-11-2026", "day"),
    ("/search?p=0", "p"),
    ("/search?q=tariff&since=soon", "since"),
    ("/search?q=tariff&cursor=20", "cursor"),
    ("/search?q=tariff&cursor=abc&back=%3Cb%3E", "back"),
    ("/articles/0", "article_id"),
    ("/articles/1/diff?version=x", "version"),
    ("/watchlists/Not%20A%20Name", "name"),
    ("/watchlists/guns?hits_before=0", "hits_before"),
])
def test_bad_page_parameters_are_a_400_page(client: httpx.Client, path: str,
                                            names: str) -> None:
    r = client.get(path)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert f'<p class="error" id="error">{names}: ' in r.text
    assert r.headers["content-security-policy"] == CSP


def test_missing_things_are_404(client: httpx.Client) -> None:
    assert client.get("/api/v1/articles/999999").status_code == 404
    assert client.get("/api/v1/stories/999999").status_code == 404
    assert client.get("/watchlists/nope").status_code == 404


def test_no_write_endpoints(client: httpx.Client, ids: Seeded) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, f"/api/v1/articles/{ids.revised}")
        assert r.status_code == 405, method
    spec = client.get("/api/v1/openapi.json").json()
    methods = {m for ops in spec["paths"].values() for m in ops}
    assert methods == {"get"}
    for path in ("/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/stories",
                 "/api/v1/stories/{story_id}", "/api/v1/search", "/api/v1/sources",
                 "/api/v1/runs", "/api/v1/stats", "/feeds/search.atom",
                 "/api/v1/watchlists", "/api/v1/watchlists/{name}",
                 "/api/v1/watchlists/{name}/hits", "/api/v1/watchlists/{name}/deliveries"):
        assert path in spec["paths"], path


def test_sources_runs_and_stats(client: httpx.Client) -> None:
    sources = {s["name"]: s for s in client.get("/api/v1/sources").json()["items"]}
    assert set(sources) == {"wire", "agency", "mirror", "trade-daily"}
    assert sources["wire"]["last_run"]["status"] == "failed"
    assert sources["trade-daily"]["articles"] == TARIFF_ARTICLES
    runs = client.get("/api/v1/runs", params={"limit": 1}).json()
    assert runs["items"][0]["status"] == "failed" and runs["next"] is not None
    older = client.get("/api/v1/runs", params={"limit": 1, "cursor": runs["next"]}).json()
    assert older["items"][0]["status"] == "ok" and older["next"] is None
    by_topic = {r["topic"]: r for r in client.get("/api/v1/stats",
                                                  params={"by": "topic"}).json()["items"]}
    assert by_topic["trade"]["articles"] == TARIFF_ARTICLES


def test_atom_feeds(client: httpx.Client, ids: Seeded) -> None:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    r = client.get("/feeds/topics/trade.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(r.content)
    assert len(feed.findall("a:entry", ns)) == TARIFF_ARTICLES
    hostile = ElementTree.fromstring(client.get("/feeds/search.atom",
                                                params={"q": "hostile"}).content)
    entries = hostile.findall("a:entry", ns)
    assert len(entries) == 1
    title = entries[0].find("a:title", ns)
    assert title is not None and title.text is not None and "<script>" in title.text
    assert entries[0].find("a:link", ns) is None  # a javascript: URL is no link


def test_healthz_metrics_and_headers(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.json() == {"status": "ok"}
    client.get("/api/v1/stories")
    metrics = client.get("/metrics").text
    assert f"newsmon_articles {float(TOTAL_ARTICLES)}" in metrics
    assert "newsmon_failed_runs 1.0" in metrics
    assert 'newsmon_web_requests_total{route="/api/v1/stories",status="200"}' in metrics
    assert health.headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "default-src 'none'" in CSP


def test_a_secret_is_required_when_set(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store.from_url(url)
    try:
        with live_server(store, settings_for(url), env={"NEWSMON_WEB_TOKEN": "s3cret",
                                                        "NEWSMON_WEB_PASSWORD": "pw"}) as live:
            with httpx.Client(base_url=live.base_url) as c:
                assert c.get("/api/v1/stats").status_code == 401
                assert c.get("/").status_code == 401
                assert c.get("/healthz").status_code == 200
                bearer = {"Authorization": "Bearer s3cret"}
                assert c.get("/api/v1/stats", headers=bearer).status_code == 200
                assert c.get("/api/v1/stats", headers={"Authorization": "Bearer nope"}
                             ).status_code == 401
                basic = base64.b64encode(b"anyone:pw").decode()
                assert c.get("/", headers={"Authorization": f"Basic {basic}"}
                             ).status_code == 200
    finally:
        store.close()


def test_bind_policy() -> None:
    check_bind("127.0.0.1", access_from_env({}))
    check_bind("::1", access_from_env({}))
    with pytest.raises(AccessError, match="NEWSMON_WEB_TOKEN"):
        check_bind("0.0.0.0", access_from_env({}))
    check_bind("0.0.0.0", access_from_env({"NEWSMON_WEB_TOKEN": "t"}))
    check_bind("0.0.0.0", access_from_env({"NEWSMON_WEB_PASSWORD": "p"}))


def test_serve_refuses_a_public_address_without_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NEWSMON_WEB_TOKEN", "NEWSMON_WEB_PASSWORD")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", "serve", "--host", "0.0.0.0",
                           "--port", "1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert "refusing to listen on 0.0.0.0" in done.stderr
    assert "NEWSMON_WEB_TOKEN" in done.stderr


@pytest.mark.postgres
def test_api_on_postgresql(pg_database: str) -> None:
    from conftest import _reset_pg

    _reset_pg(pg_database)
    store = Store.from_url(pg_database)
    try:
        ids = seed(store)
        with live_server(store, settings_for(pg_database)) as live, \
                httpx.Client(base_url=live.base_url, timeout=30) as c:
            story = c.get(f"/api/v1/stories/{ids.story_id}").json()
            assert [e["kind"] for e in story["entries"]] == ["first", "report", "copy"]
            hits = c.get("/api/v1/search", params={"q": "tariff", "limit": 20}).json()
            assert len(hits["items"]) == 20 and hits["next"] is not None
            rest = c.get("/api/v1/search", params={"q": "tariff", "limit": 20,
                                                   "cursor": hits["next"]}).json()
            assert sorted(h["id"] for h in hits["items"] + rest["items"]) == ids.tariffs
            assert rest["next"] is None
            page = c.get("/api/v1/articles", params={"limit": 10}).json()
            rest = c.get("/api/v1/articles", params={"limit": 100,
                                                     "cursor": page["next"]}).json()
            assert len(page["items"]) + len(rest["items"]) == TOTAL_ARTICLES
            versions = c.get(f"/api/v1/articles/{ids.revised}").json()["versions"]
            diff = c.get(f"/articles/{ids.revised}/diff", params={"version": versions[1]["id"]})
            assert diff.status_code == 200 and "Saturday" in diff.text
            assert c.get(f"/stories/{ids.story_id}").status_code == 200
    finally:
        store.close()


def test_newsmon_serve_answers_on_loopback(tmp_path: Path) -> None:
    import time

    import yaml

    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store.from_url(url)
    seed(store)
    store.close()
    config = tmp_path / "settings.yaml"
    config.write_text(yaml.safe_dump({"database_url": url, "data_dir": str(tmp_path)}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "serve", "--port", str(port),
                             "--config", str(config)], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "newsmon serve did not answer in 60 s"
                time.sleep(0.2)
        assert r.json() == {"status": "ok"}
        stats = httpx.get(f"http://127.0.0.1:{port}/api/v1/stats").json()
        assert stats["items"][0]["articles"] == TOTAL_ARTICLES
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_search_page_links_back_through_every_page(tmp_path: Path) -> None:
    import html
    import re

    from newsfactory import Newsroom

    url = f"sqlite:///{tmp_path / 'n.db'}"
    store = Store.from_url(url)
    room = Newsroom(store)
    for i in range(45):  # three pages of 20
        room.one(f"Harbour notice {i}", body=f"Dredging round {i}. " * 3)
    try:
        with live_server(store, settings_for(url)) as live, \
                httpx.Client(base_url=live.base_url, timeout=30) as c:
            def hits_and_links(path: str) -> tuple[list[str], dict[str, str]]:
                page = c.get(path)
                assert page.status_code == 200, page.text
                titles = re.findall(r'class="hit-link">([^<]*)<', page.text)
                links = {rel: html.unescape(href) for href, rel in re.findall(
                    r'<a href="([^"]*)" rel="(prev|next)"', page.text)}
                return titles, links

            first, links = hits_and_links("/search?q=harbour&sort=date")
            assert len(first) == 20 and "prev" not in links
            second, links = hits_and_links(links["next"])
            assert links["next"].endswith("&p=3") and "back=" in links["next"]
            third, links = hits_and_links(links["next"])
            assert len(third) == 5 and "next" not in links
            assert len(set(first + second + third)) == 45
            back, links = hits_and_links(links["prev"])
            assert back == second
            again, links = hits_and_links(links["prev"])
            assert again == first and "prev" not in links
    finally:
        store.close()
