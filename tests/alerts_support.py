"""A fixture news site for alert tests (two wires, one story copied between them) and a local
webhook receiver that records bodies and headers and can fail on purpose."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STORIES = {
    "brahmos": ("BrahMos export contract signed with Manila for coastal batteries", [
        "The BrahMos missile will be exported to the Philippines under a contract for three "
        "coastal defence batteries, officials in New Delhi and Manila said on Tuesday.",
        "The deal, valued at about 375 million dollars, covers launchers, mobile command "
        "posts and a training package for Philippine marines at a facility near Nagpur.",
        "BrahMos Aerospace, the Indo-Russian joint venture, said deliveries would begin "
        "within eighteen months and that talks with two Southeast Asian navies continue.",
        "Analysts in Manila described the purchase as the largest single acquisition of the "
        "Philippine modernisation programme since the frigate order of 2016."]),
    "dac": ("Defence Acquisition Council clears new artillery proposals", [
        "The Defence Acquisition Council cleared proposals for towed artillery guns and "
        "ammunition on Wednesday, the ministry said in a statement.",
        "The council, chaired by the defence minister, accorded acceptance of necessity to "
        "307 advanced towed gun systems to be built by two private manufacturers.",
        "Officials said field trials in Pokhran and Sikkim had been completed last winter and "
        "that the first regiment would be equipped before the end of the decade.",
        "The approvals also include night sights for infantry rifles and a batch of "
        "surveillance radars for the mountain divisions along the northern border."]),
    "tariff": ("Washington extends tariff exclusions on industrial components", [
        "The trade representative extended tariff exclusions on industrial components for "
        "another ninety days, citing supply chain concerns.",
        "The exclusions cover 178 product lines, from electric motors to printed circuit "
        "assemblies, that importers said could not yet be sourced elsewhere.",
        "Business groups welcomed the extension but asked for a longer horizon, arguing that "
        "quarterly renewals make planning for factory investment nearly impossible.",
        "Labour unions criticised the decision and urged the administration to let the "
        "exclusions lapse for goods made with subsidised steel."]),
}
B = "{{BASE}}"  # the SampleSite server puts its base URL here


def _page(title: str, paras_: list[str], published: datetime, outlet: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in paras_)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} | "
            f"{outlet}</title><meta property='article:published_time' "
            f"content='{published.isoformat()}'></head><body><header><nav>{outlet} Home News "
            f"About</nav></header><main><article><h1>{title}</h1><p class='byline'>By Staff "
            f"Reporter</p>{paras}</article></main><footer>© {outlet}</footer></body></html>")


def write_site(root: Path, wires: dict[str, list[str]], *, edited: set[str] = frozenset()
               ) -> None:
    """``wires``: wire name -> the stories (keys of STORIES) it carries, each as its own page.
    A story in ``edited`` gets a changed last paragraph (a material revision)."""
    published = datetime.now(UTC) - timedelta(hours=1)
    for wire, stories in wires.items():
        folder = root / wire
        folder.mkdir(parents=True, exist_ok=True)
        items = []
        for key in stories:
            title, paras = STORIES[key]
            if key in edited:
                paras = [*paras, "Update: the first battery is now due to be delivered in "
                         "March, the ministry said in a revised statement on Thursday."]
            (folder / f"{key}.html").write_text(_page(title, paras, published, wire))
            items.append(f"<item><title>{title}</title><link>{B}/{wire}/{key}.html</link>"
                         f"<guid>{wire}-{key}</guid>"
                         f"<pubDate>{format_datetime(published)}</pubDate></item>")
        (folder / "feed.xml").write_text(
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
            f"<title>{wire}</title><link>{B}/{wire}/</link>"
            f"<description>revised: {','.join(sorted(edited)) or 'none'}</description>"
            + "".join(items) + "</channel></rss>")


class Receiver:
    """A webhook receiver on 127.0.0.1: answers 500 to its first ``fail`` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answered: list[int] = []
        self.received_at: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 500 if len(receiver.answered) < receiver.fail else 204
                receiver.answered.append(status)
                if status == 204:
                    receiver.requests.append((dict(self.headers.items()), body))
                    receiver.received_at.append(time.time())
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.requests]
