"""A real headless chromium opening small pages written here.

What the report's browser test relies on, each shown to catch its fault: a
clean page has no console error and no request, and its arrows are counted;
console errors, exceptions and requests are reported, blocked, and would have
left without the block; a missing page and a hung page fail readably; and no
process of a visit survives it.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestrator.report import browser
from orchestrator.report.browser import BrowserError, BrowserTimeout, BrowserUnavailable, open_page

if (reason := browser.unavailable_reason()) is not None:
    pytest.skip(f"no browser to drive here: {reason}", allow_module_level=True)

COUNT_ARROWS = 'document.querySelectorAll("svg g.arrow").length'
DOT_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
           "2mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def write_page(directory: Path, body: str, name: str = "page.html") -> Path:
    page = directory / name
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><style>"
                    f"body {{ font: 14px sans-serif }} .arrow line {{ stroke: #333 }}"
                    f"</style></head><body>{body}</body></html>")
    return page


def ladder(arrows: int, height: int = 300) -> str:
    lines = "".join(f'<g class="arrow"><line x1="20" y1="{20 + 30 * i}" x2="300" '
                    f'y2="{40 + 30 * i}"/></g>' for i in range(arrows))
    return (f'<svg class="ladder" data-arrows="{arrows}" data-missing="0" width="400" '
            f'height="{height}">{lines}</svg>')


def live_processes(group: int, mark: str) -> list[int]:
    """Processes (not zombies) in ``group`` or carrying the visit's mark,
    read from /proc independently of the module under test."""
    needle = f"{browser.BROWSER_ENV}={mark}".encode()
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if state != "Z" and (pgrp == group or needle in environ):
            found.append(int(entry))
    return found


def assert_browser_gone(group: int, mark: str) -> None:
    left = live_processes(group, mark)
    assert not left, f"processes of the visit still running: {left}"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG: {data[:8]!r}"
    return struct.unpack(">II", data[16:24])


def test_clean_page_has_no_error_no_request_and_its_arrows_are_counted(tmp_path):
    page = write_page(tmp_path, "<h1>dhcp</h1>" + ladder(3, height=2000) + f'<img src="{DOT_PNG}">'
                      "<script>console.log('drawn'); console.warn('only a warning');"
                      "document.querySelector('svg').addEventListener('mouseover', () => 0)"
                      "</script>")
    shot = tmp_path / "shot.png"
    visit = open_page(page, screenshot=shot, evaluate=COUNT_ARROWS)
    assert visit.console_errors == []
    assert visit.requests == []
    assert visit.inline_requests == [DOT_PNG]
    assert visit.value == 3
    assert visit.url == page.as_uri()
    assert visit.browser_version.split("/")[0] in ("Chrome", "HeadlessChrome")
    assert visit.screenshot == shot
    width, height = png_size(shot)
    assert width == browser.VIEWPORT["width"]
    assert height >= 2000, "the screenshot stops at the viewport, not the page's end"
    assert shot.stat().st_size > 2000
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_arrow_count_follows_the_page(tmp_path):
    visit = open_page(write_page(tmp_path, ladder(2) + ladder(0)), evaluate=COUNT_ARROWS)
    assert visit.value == 2
    assert visit.screenshot is None
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_console_error_and_assert_are_reported_with_their_place(tmp_path):
    page = write_page(tmp_path, "<script>\nconsole.error('x');\nconsole.assert(false, 'bad');"
                      "\n</script>")
    visit = open_page(page)
    assert len(visit.console_errors) == 2, visit.console_errors
    error, failed_assert = visit.console_errors
    assert error.startswith("console.error: x at ")
    assert f"{page.as_uri()}:2:" in error
    assert failed_assert.startswith("console.assert: ") and "bad" in failed_assert
    assert visit.requests == []
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_thrown_exception_is_reported_readably(tmp_path):
    page = write_page(tmp_path, "<script>\n\nthrow new TypeError('no ladder for dhcp');</script>")
    visit = open_page(page)
    assert len(visit.console_errors) == 1, visit.console_errors
    assert "Uncaught TypeError: no ladder for dhcp" in visit.console_errors[0]
    assert f"{page.as_uri()}:3:" in visit.console_errors[0]
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_image_from_the_network_and_a_sibling_file_are_requests(tmp_path):
    (tmp_path / "style.css").write_text("h1 { color: red }")
    page = write_page(tmp_path, '<link rel="stylesheet" href="style.css">'
                      f'<img src="http://192.0.2.1/x.png"><img src="{DOT_PNG}">')
    visit = open_page(page)
    assert sorted(visit.requests) == sorted(["http://192.0.2.1/x.png",
                                             (tmp_path / "style.css").as_uri()])
    assert visit.inline_requests == [DOT_PNG]
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_fetch_is_a_request_and_is_blocked(tmp_path):
    visit = open_page(write_page(tmp_path, "<script>fetch('https://example.invalid/')</script>"))
    assert visit.requests == ["https://example.invalid/"]
    assert any("Failed to fetch" in error for error in visit.console_errors), visit.console_errors
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


@pytest.fixture
def local_server():
    """An HTTP server on loopback that records what reaches it."""
    arrived: list[str] = []

    class Recording(BaseHTTPRequestHandler):
        def do_GET(self):
            arrived.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", arrived
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("block", [True, False], ids=["blocked", "unblocked-control"])
def test_blocking_keeps_requests_from_leaving(tmp_path, local_server, block):
    """Unblocked, the same page does reach the server: the blocked case
    passing is the block's doing, not the page failing on its own."""
    base, arrived = local_server
    page = write_page(tmp_path, f'<img src="{base}/img.png">'
                      f"<script>fetch('{base}/fetched').catch(() => 0)</script>")
    visit = open_page(page, block_network=block)
    assert sorted(visit.requests) == [f"{base}/fetched", f"{base}/img.png"]
    if block:
        assert arrived == []
    else:
        assert sorted(arrived) == ["/fetched", "/img.png"]
    assert_browser_gone(visit.browser_pid, visit.browser_mark)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BrowserError, match="no-report.html: no such file to open"):
        open_page(tmp_path / "no-report.html")


def test_evaluate_that_throws_is_a_clear_error(tmp_path):
    with pytest.raises(BrowserError, match="evaluate raised: .*ReferenceError: ladders") as error:
        open_page(write_page(tmp_path, ladder(1)), evaluate="ladders.length")
    assert_browser_gone(error.value.browser_pid, error.value.browser_mark)


def test_hung_page_times_out_and_leaves_no_browser(tmp_path):
    with pytest.raises(BrowserTimeout, match="within 4 s") as error:
        open_page(write_page(tmp_path, ladder(1)), evaluate="new Promise(() => {})", timeout=4)
    assert error.value.browser_mark
    assert_browser_gone(error.value.browser_pid, error.value.browser_mark)


def test_leftover_check_sees_a_marked_process():
    """The check used after every visit finds a process that is still there."""
    mark = "test-leftover-check"
    sleeper = subprocess.Popen(["sleep", "60"],
                               env={**os.environ, browser.BROWSER_ENV: mark},
                               start_new_session=True)
    try:
        with pytest.raises(AssertionError, match=f"still running: \\[{sleeper.pid}\\]"):
            assert_browser_gone(sleeper.pid, mark)
    finally:
        os.killpg(sleeper.pid, signal.SIGKILL)
        sleeper.wait()
    assert_browser_gone(sleeper.pid, mark)


def test_missing_browser_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setattr(browser, "which", lambda name: None)
    with pytest.raises(BrowserUnavailable, match="apt-get install chromium"):
        open_page(write_page(tmp_path, ladder(1)))
    assert "chromium" in browser.unavailable_reason()


def test_missing_websocket_module_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "websocket", None)
    with pytest.raises(BrowserUnavailable, match="apt-get install python3-websocket"):
        open_page(write_page(tmp_path, ladder(1)))
