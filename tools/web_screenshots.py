"""Screenshots of each web page into docs/screenshots/, on a phone-sized and a desktop screen.

Fills a fresh SQLite database with ``newsmon demo`` (the real pipeline over the bundled sample
site), serves it with ``newsmon serve`` on 127.0.0.1, and photographs Today, the story with the
most sources, one of its articles, a search, the sources page and the watchlists (the demo's
two, with their hits) with Debian's headless
Chromium (/usr/bin/chromium) driven by Playwright. Not run by the tests; run it by hand (or
``make screenshots``) after changing a template:

    .venv/bin/python tools/web_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _newsmon(*args: str, env: dict[str, str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "newsmon.cli", *args], env=env,
                            stdin=subprocess.DEVNULL, text=True, **kw)  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium (or make browser)")
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        demo = _newsmon("demo", "--database", url, "--folder", tmp, env=env,
                        stdout=subprocess.DEVNULL)
        if demo.wait(timeout=600) != 0:
            raise SystemExit("newsmon demo failed")
        config = Path(tmp) / "settings.yaml"  # the demo's: its sources and watchlists
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = _newsmon("serve", "--port", str(port), "--config", str(config), env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(base + "/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            stories = httpx.get(base + "/api/v1/stories", params={"limit": 200}).json()["items"]
            top = max(stories, key=lambda s: (s["source_count"], s["article_count"]))
            story = httpx.get(f"{base}/api/v1/stories/{top['id']}").json()
            newest = story["last_report_at"][:10]
            word = top["title"].split()[0]
            pages = {"today": f"/?day={newest}", "story": f"/stories/{top['id']}",
                     "article": f"/articles/{top['primary_article_id']}",
                     "search": f"/search?q={word}", "sources": "/sources",
                     "watchlists": "/watchlists"}
            args.out.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                            args=["--no-sandbox", "--disable-gpu"])
                for screen, size in SCREENS.items():
                    page = browser.new_context(viewport=size).new_page()
                    for name, path in pages.items():
                        page.goto(base + path)
                        shot = args.out / f"{name}-{screen}.png"
                        page.screenshot(path=str(shot), full_page=False)
                        print(shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
