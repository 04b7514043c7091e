"""Opening a page in a real, headless browser and saying what happened there.

The report must open from file:// in a course VM's browser with no internet:
no console error, no request leaving the page, every ladder drawn.  Only a
real browser can show that, so this drives Debian's chromium over the
DevTools protocol with websocket-client (python3-websocket): one small
dependency, and the protocol reports console messages, exceptions and
requests as events, which a WebDriver would not.

Each visit starts its own browser in a private profile and a process group
of its own, with ``FLOWLAB_BROWSER=<profile>`` in its environment, and
afterwards, whatever happened, kills the group (renderers, GPU, zygotes) and
any process still carrying the mark: chromium's crash handler double-forks
out of the group, and it inherits the environment, which the renderers
overwrite with their process titles.  The mark is not ``FLOWLAB_RUN``: a
visit is not a lab run, and ``clean`` must not take it for an abandoned one.

Real network is blocked during the visit, yet every attempt is still
reported, so a report that would fetch something is caught without anything
leaving the machine.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import FlowlabError, MissingBinary
from ..processes.binaries import which

BROWSERS = ("chromium", "chromium-browser")
BROWSER_PACKAGE = "chromium"
WEBSOCKET_PACKAGE = "python3-websocket"
BROWSER_ENV = "FLOWLAB_BROWSER"
STOP_WAIT = 5.0                    # SIGKILLed processes are gone well before this
VIEWPORT = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
MAX_SCREENSHOT_HEIGHT = 16384      # the picture of a very long report shows its top
SETTLE_QUIET = 0.2                 # network quiet this long after load: no late request
SETTLE_MAX = 2.0                   # a page that keeps requesting is reported, not waited on
BLOCKED_URLS = ["http://*", "https://*", "ws://*", "wss://*", "ftp://*"]
# Schemes a page resolves itself: not a request leaving the page.
INLINE_SCHEMES = ("data", "blob", "about")
# Keep chromium from contacting the network on its own, so that a request
# seen during a visit is the page's.
QUIET_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-breakpad",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--no-first-run", "--no-default-browser-check", "--no-pings", "--mute-audio",
    "--metrics-recording-only",
)


class BrowserUnavailable(MissingBinary):
    """No browser, or no websocket module to drive it: names the Debian package."""


class BrowserError(FlowlabError):
    """The browser failed to open the page.  ``browser_pid`` and
    ``browser_mark`` name the visit's browser (gone by the time this is
    raised), or are None when none was started."""

    def __init__(self, message: str, browser_pid: int | None = None,
                 browser_mark: str | None = None):
        self.browser_pid = browser_pid
        self.browser_mark = browser_mark
        super().__init__(message)


class BrowserTimeout(BrowserError):
    """A step of the visit did not finish before the visit's deadline."""


@dataclass(frozen=True)
class PageVisit:
    """What a browser saw while opening one page.

    ``requests`` are the URLs the page tried to load beyond itself, in the
    order asked: http(s), ws(s) and ftp ones (blocked, so none left) and
    other file:// paths (a report that is not self-contained).  All would
    fail or differ on a course VM.  ``inline_requests`` are data:, blob: and
    about: URLs, which never leave the page: listed apart, not as requests.
    """

    url: str
    console_errors: list[str]
    requests: list[str]
    inline_requests: list[str]
    value: Any
    screenshot: Path | None
    browser_version: str
    browser_pid: int        # its process group, killed when open_page returned
    browser_mark: str       # FLOWLAB_BROWSER value of all its processes, all gone by then


def unavailable_reason() -> str | None:
    """Why no page can be opened here, or None: for a test's skip message."""
    try:
        _require()
    except BrowserUnavailable as error:
        return str(error)
    return None


def open_page(path: Path, screenshot: Path | None = None, evaluate: str | None = None,
              timeout: float = 30, *, block_network: bool = True) -> PageVisit:
    """Open ``path`` from file:// in a fresh headless chromium and report.

    ``evaluate`` (a JavaScript expression, promises awaited) runs after the
    load event and the network settled; its JSON value is ``value``.  The
    full-page PNG is written to ``screenshot`` after it.  ``timeout`` bounds
    the whole visit, browser start included.  ``block_network`` is False
    only to prove that blocking is what keeps requests in.
    """
    deadline = time.monotonic() + timeout
    page = Path(path).resolve()
    if not page.is_file():
        raise BrowserError(f"{page}: no such file to open in the browser")
    chromium, websocket = _require()
    profile = Path(tempfile.mkdtemp(prefix="flowlab-browser-"))
    mark = str(profile)
    proc = None
    try:
        with open(profile / "chromium.log", "wb") as log:
            proc = subprocess.Popen(
                [chromium, *QUIET_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                env={**os.environ, BROWSER_ENV: mark})
        url = _debugger_url(proc, profile, deadline, timeout)
        devtools = _Devtools(websocket, url, deadline, timeout, proc.pid, mark)
        try:
            return _visit(devtools, page.as_uri(), screenshot, evaluate, block_network)
        finally:
            devtools.close()
    finally:
        if proc is not None:
            _stop(proc, mark)
        shutil.rmtree(profile, ignore_errors=True)


def _require():
    chromium = next((found for name in BROWSERS if (found := which(name))), None)
    if chromium is None:
        raise BrowserUnavailable(BROWSERS[0], BROWSER_PACKAGE)
    try:
        import websocket
    except ImportError:
        raise BrowserUnavailable("python module websocket", WEBSOCKET_PACKAGE) from None
    return chromium, websocket


def _debugger_url(proc, profile: Path, deadline: float, timeout: float) -> str:
    """The browser's websocket address, from the DevToolsActivePort file that
    chromium writes once it listens (port 0: no port clash between visits)."""
    active = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        lines = active.read_text().split("\n") if active.exists() else []
        if len(lines) >= 2 and lines[0].isdigit():
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if proc.poll() is not None:
            tail = (profile / "chromium.log").read_text(errors="replace")[-2000:]
            raise BrowserError(f"chromium exited with status {proc.returncode} before "
                               f"listening:\n{tail}", proc.pid, str(profile))
        time.sleep(0.05)
    raise BrowserTimeout(f"chromium did not listen for DevTools within {timeout:g} s",
                         proc.pid, str(profile))


def _stop(proc, mark: str) -> None:
    """Kill the browser's group (renderers, GPU, zygote), then any process
    still carrying the visit's mark (the crash handler), and wait for them."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=STOP_WAIT)
    give_up = time.monotonic() + STOP_WAIT
    while (left := marked_processes(mark)) and time.monotonic() < give_up:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def marked_processes(mark: str) -> list[int]:
    """Live (not zombie) processes whose environment carries ``mark``."""
    needle = f"{BROWSER_ENV}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state != "Z":
            found.append(int(entry))
    return found


class _Devtools:
    """One DevTools connection: commands wait for their answer, events
    arriving meanwhile go to ``on_event``."""

    def __init__(self, websocket, url: str, deadline: float, timeout: float, pid: int,
                 mark: str):
        self._websocket, self.deadline, self.timeout = websocket, deadline, timeout
        self.pid, self.mark = pid, mark
        self.started = (pid, mark)
        self._ws = websocket.create_connection(url, timeout=self._left("connect"),
                                               suppress_origin=True)
        self._next_id = 0
        self.session: str | None = None
        self.page = "the page"
        self.on_event = lambda event: None

    def _left(self, what: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise BrowserTimeout(f"{self.page}: the browser did not {what} within "
                                 f"{self.timeout:g} s",
                                 *self.started)
        return left

    def receive(self, wait: float, what: str) -> dict | None:
        """The next message, or None when ``wait`` seconds pass without one."""
        self._ws.settimeout(min(wait, self._left(what)))
        try:
            return json.loads(self._ws.recv())
        except self._websocket.WebSocketTimeoutException:
            self._left(what)
            return None
        except self._websocket.WebSocketConnectionClosedException:
            raise BrowserError("the browser closed the DevTools connection",
                               *self.started) from None

    def send(self, method: str, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        self._ws.send(json.dumps(message))
        while True:
            reply = self.receive(self.timeout, f"answer {method}")
            if reply is None:
                continue
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}",
                                       *self.started)
                return reply.get("result", {})
            if "method" in reply:
                self.on_event(reply)

    def close(self) -> None:
        self._ws.close()


def _visit(devtools: _Devtools, url: str, screenshot: Path | None, evaluate: str | None,
           block_network: bool) -> PageVisit:
    version = devtools.send("Browser.getVersion")["product"]
    target = devtools.send("Target.createTarget", url="about:blank")["targetId"]
    devtools.session = devtools.send("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
    devtools.page = url
    seen = _Recorder(url)
    devtools.on_event = seen.event
    # Everything is listened to before navigating: the first request and the
    # first error are the ones a broken report makes.
    for domain in ("Runtime", "Log", "Network", "Page"):
        devtools.send(f"{domain}.enable")
    devtools.send("Network.setBlockedURLs", urls=BLOCKED_URLS if block_network else [])
    devtools.send("Emulation.setDeviceMetricsOverride", **VIEWPORT)
    devtools.send("Emulation.setScrollbarsHidden", hidden=True)  # full width in the picture
    navigated = devtools.send("Page.navigate", url=url)
    if navigated.get("errorText"):
        raise BrowserError(f"{url}: {navigated['errorText']}", *devtools.started)
    while not seen.loaded:
        if (event := devtools.receive(devtools.timeout, "fire the load event")) is not None:
            seen.event(event)
    settle_end = time.monotonic() + SETTLE_MAX
    while time.monotonic() < settle_end:
        event = devtools.receive(SETTLE_QUIET, "settle after load")
        if event is None and not seen.in_flight:
            break
        if event is not None:
            seen.event(event)
    value = None
    if evaluate is not None:
        result = devtools.send("Runtime.evaluate", expression=evaluate, awaitPromise=True,
                               returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluate raised: {_exception_text(result['exceptionDetails'])}",
                               *devtools.started)
        value = result["result"].get("value")
    if screenshot is not None:
        size = devtools.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": math.ceil(size["width"]), "scale": 1,
                "height": min(math.ceil(size["height"]), MAX_SCREENSHOT_HEIGHT)}
        png = devtools.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip=clip)["data"]
        Path(screenshot).write_bytes(base64.b64decode(png))
    return PageVisit(url=url, console_errors=seen.errors, requests=seen.requests,
                     inline_requests=seen.inline, value=value, screenshot=screenshot,
                     browser_version=version, browser_pid=devtools.pid,
                     browser_mark=devtools.mark)


class _Recorder:
    """The events of one page turned into readable errors and request URLs."""

    def __init__(self, url: str):
        self.url = url
        self.loaded = False
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.inline: list[str] = []
        self.in_flight: set[str] = set()

    def event(self, event: dict) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Page.loadEventFired":
            self.loaded = True
        elif method == "Network.requestWillBeSent":
            self.in_flight.add(params["requestId"])
            request_url = params["request"]["url"]
            if request_url != self.url:
                inline = urlsplit(request_url).scheme in INLINE_SCHEMES
                (self.inline if inline else self.requests).append(request_url)
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.in_flight.discard(params["requestId"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            frames = params.get("stackTrace", {}).get("callFrames", [])
            self.errors.append(f"console.{params['type']}: {text}"
                               + (_at(frames[0]) if frames else ""))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(f"exception: {_exception_text(params['exceptionDetails'])}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(f"{entry['source']}: {entry['text']}" + _at(entry))


def _remote_text(obj: dict) -> str:
    if "value" in obj:
        return obj["value"] if isinstance(obj["value"], str) else json.dumps(obj["value"])
    return obj.get("description") or obj.get("unserializableValue") or obj.get("type", "?")


def _exception_text(details: dict) -> str:
    described = details.get("exception", {}).get("description", "")
    text = details.get("text", "")
    if described:
        text = f"{text} {described.splitlines()[0]}" if text else described.splitlines()[0]
    return text + _at(details)


def _at(where: dict) -> str:
    """`` at URL:LINE:COLUMN`` (1-based, as editors count), when known."""
    if not where.get("url"):
        return ""
    place = f" at {where['url']}"
    if where.get("lineNumber") is not None:
        place += f":{where['lineNumber'] + 1}:{where.get('columnNumber', 0) + 1}"
    return place
