"""The HTML digest in a real browser: Debian's headless Chromium renders it on a phone-sized
screen, light and dark, and hostile titles stay text. Nothing is downloaded: without
/usr/bin/chromium these tests are skipped (``make browser`` installs it with apt)."""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from newsfactory import T0, Newsroom, open_newsroom

from config import Settings
from digest import build_digest, render

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium "
           "(apt-get install chromium, or: make browser)")

IST = ZoneInfo("Asia/Kolkata")
PHONE = (390, 844)
SCRIPT_TITLE = "<script>document.body.setAttribute('data-pwned', 'script')</script>Army orders"
IMG_TITLE = "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">Tariffs"
LIGHT_BG = (0xF4, 0xF5, 0xF7)
DARK_BG = (0x15, 0x17, 0x1A)


@pytest.fixture
def room(db_url: str) -> Iterator[Newsroom]:
    r = open_newsroom(db_url)
    yield r
    r.store.close()


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args],
        capture_output=True, text=True, timeout=120, check=False)


def dump_dom(tmp_path: Path, page: Path) -> str:
    done = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(tmp_path: Path, page: Path, name: str, *extra: str) -> Path:
    shot = tmp_path / name
    done = chromium(tmp_path, f"--window-size={PHONE[0]},{PHONE[1]}",
                    f"--screenshot={shot}", *extra, page.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    return shot


def read_png(path: Path) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[list[tuple[int, int, int]]] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])  # type: ignore[misc]
        prev = line
    return width, height, rows


class _Visible(HTMLParser):
    """Text a reader sees (not the contents of <style> or <title>), and body attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.body_attrs: dict[str, str | None] = {}
        self.tags: set[str] = set()
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "body":
            self.body_attrs = dict(attrs)
        if tag in ("style", "title", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(" ".join(data.split()))


def visible(dom: str) -> _Visible:
    parser = _Visible()
    parser.feed(dom)
    return parser


def write_digest(room: Newsroom, tmp_path: Path) -> Path:
    at = datetime(2026, 11, 25, 9, 12, tzinfo=IST)
    room.add(
        room.article(SCRIPT_TITLE, source="hindu", at=at, topics={"defence": 9}, story="a",
                     highlights=["<b onmouseover=alert(1)>Bold</b> claim"]),
        room.article("Same story elsewhere", source="pib", at=at, topics={"defence": 8},
                     story="a"),
        room.article(IMG_TITLE, source="reuters", at=at, topics={"trade": 8},
                     body="Duties rose. Mills protested."),
    )
    page = tmp_path / "2026-11-25.html"
    digest = build_digest(room.store, Settings(), day=date(2026, 11, 25), now=T0)
    page.write_text(render(digest, "html"), encoding="utf-8")
    return page


def test_the_control_page_does_run_scripts(tmp_path: Path) -> None:
    # Proves the check below can see an executed script or handler.
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><body>{SCRIPT_TITLE}</body></html>")
    assert visible(dump_dom(tmp_path, page)).body_attrs.get("data-pwned") == "script"
    page.write_text(f"<!DOCTYPE html><html><body>{IMG_TITLE}</body></html>")
    assert visible(dump_dom(tmp_path, page)).body_attrs.get("data-pwned") == "img"


def test_hostile_titles_show_as_text_and_never_run(room: Newsroom, tmp_path: Path) -> None:
    page = write_digest(room, tmp_path)
    seen = visible(dump_dom(tmp_path, page))
    assert "data-pwned" not in seen.body_attrs
    assert "script" not in seen.tags and "img" not in seen.tags
    text = "\n".join(seen.text)
    assert SCRIPT_TITLE in text
    assert IMG_TITLE in text
    assert "<b onmouseover=alert(1)>Bold</b> claim" in text
    assert text.splitlines()[:2] == ["Digest — Wednesday 25 November 2026",
                                     "3 articles · 2 stories · 3 sources"]
    assert "Also reported by 1 source:" in text
    assert "hindu · 09:12 IST · 2 sources" in text


def test_readable_on_a_phone_in_light_and_dark(room: Newsroom, tmp_path: Path) -> None:
    page = write_digest(room, tmp_path)
    light = read_png(screenshot(tmp_path, page, "light.png"))
    dark = read_png(screenshot(tmp_path, page, "dark.png", "--force-dark-mode"))
    for (width, height, rows), bg in ((light, LIGHT_BG), (dark, DARK_BG)):
        assert (width, height) == PHONE
        assert rows[2][2] == bg  # the page background, corner to corner
        assert rows[height - 3][width - 3] == bg
        # Text is drawn, and nothing runs off the right edge of a phone screen.
        inked = {y for y in range(0, 300) if any(p != bg for p in rows[y][20:370])}
        assert len(inked) > 50
        assert all(rows[y][width - 4] == bg for y in range(height))
