"""The evidence pack in a real browser: the system's Chromium, headless, driven by Playwright,
from the file system at a desktop and a phone width.

No console error, no request that leaves the pack, every link inside the pack followed to an
existing page (and element, for a fragment), the timeline drawn; one screenshot per width is
kept in SCREENSHOTS (CI uploads it) and must not be blank. Playwright never downloads a
browser here: it launches /usr/bin/chromium (`.ci/run` installs Debian's `chromium`). Under CI a
missing Chromium fails the test (CI=true, or the ci lane); elsewhere it is skipped, saying why.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from generator import cli
from tests import lanes
from tests.evidence_world import build

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".ci" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
GRANT = "grants/pci-prod.inc-4512-settlement-batch.html"

pytestmark = pytest.mark.browser


def chromium_or_skip() -> None:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return
    why = f"{CHROMIUM} is missing: install Debian's chromium package (`.ci/run` does)"
    if os.environ.get("CI") == "true" or lanes.FULL:
        pytest.fail(why)
    pytest.skip(why)


def pixels(png: bytes) -> list[int]:
    """The grey level of every pixel of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", b""
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        header = data if kind == b"IHDR" else header
        idat += data if kind == b"IDAT" else b""
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    size = 3 if colour == 2 else 4
    raw, stride, previous, grey = zlib.decompress(idat), width * size, bytearray(width * size), []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up))
                near = min(near, (abs(guess - corner), 2, corner))
                line[i] = (line[i] + near[2]) & 0xFF
        grey += [sum(line[p : p + 3]) // 3 for p in range(0, stride, size)]
        previous = line
    return grey


def variance(values: list[int]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def test_variance_tells_a_blank_image_from_a_drawn_one() -> None:
    def png(rows: list[bytes]) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + b"\0\0\0\0"

        header = struct.pack(">IIBBBBB", 2, len(rows), 8, 2, 0, 0, 0)
        data = zlib.compress(b"".join(b"\x00" + row for row in rows))
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)

    assert variance(pixels(png([b"\xff" * 6, b"\xff" * 6]))) == 0
    assert variance(pixels(png([b"\xff" * 6, b"\x00" * 6]))) > 1000


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("evidence")
    root = build(base)
    out = base / "pack"
    period = ["--from", "2026-11-01T00:00:00Z", "--to", "2026-12-07T00:00:00Z"]
    assert cli.main(["-C", str(root), "evidence", *period, str(out)]) == 0
    return out


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_pack_opens_from_the_file_system(pack: Path, width: str, tmp_path: Path) -> None:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport=dict(zip(("width", "height"), WIDTHS[width], strict=True)),
            offline=True,
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.route("**/*", lambda route: _only_the_pack(route, pack, problems))
            visited = _follow_every_link(page, pack, problems)
            assert len(visited) == len(list(pack.rglob("*.html"))), visited

            page.goto((pack / GRANT).as_uri())
            svg = page.locator("#timeline-svg")
            box = svg.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 30
            assert page.locator("#timeline-svg rect.action").count() == 2
            assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[width][0] + 1
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"evidence-grant-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert variance(pixels(shot.read_bytes())) > 100


def _only_the_pack(route: Any, pack: Path, problems: list[str]) -> None:
    url = route.request.url
    if url.startswith("file://") and _inside(pack, Path(unquote(urlsplit(url).path))):
        route.continue_()
    else:
        problems.append(f"left the pack: {url}")
        route.abort()


def _inside(pack: Path, path: Path) -> bool:
    return path.resolve() == pack.resolve() or pack.resolve() in path.resolve().parents


def _follow_every_link(page: Any, pack: Path, problems: list[str]) -> set[str]:
    """Visit index.html and every page its links reach; each link must name a file of the
    pack, and its fragment an element of that page."""
    todo, visited = [(pack / "index.html").as_uri()], set()
    while todo:
        url = todo.pop()
        address, _, fragment = url.partition("#")
        path = Path(unquote(urlsplit(address).path))
        if not address.startswith("file://") or not _inside(pack, path) or not path.is_file():
            problems.append(f"broken link: {url}")
            continue
        if path.suffix != ".html":
            continue
        page.goto(url)
        if fragment and page.evaluate("id => !document.getElementById(id)", fragment):
            problems.append(f"no element {fragment!r} in {path.name}")
        if address not in visited:
            visited.add(address)
            todo += page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    return visited


def test_under_ci_a_missing_chromium_fails_never_skips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = __import__(__name__, fromlist=["CHROMIUM"])
    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install Debian's chromium"):
        chromium_or_skip()
    monkeypatch.setenv("CI", "false")
    monkeypatch.setattr(lanes, "FULL", False)
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        chromium_or_skip()
