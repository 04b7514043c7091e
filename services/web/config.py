"""The web server's configuration: a TOML file, rendered from plain data by
``services/templates/web.toml.j2`` and checked before the server starts.

Example (what the template renders)::

    listen = "61.135.169.125"
    port = 80
    mode = "textbook"            # or "normal"
    log = "/path/to/run/web/access.log"
    idle_timeout_s = 10          # optional

    [document]                   # the page every site serves, unless it overrides
    title = "www.baidu.com"      # optional: default is the site's name
    body = "Hello from the emulated Baidu."   # optional: text, HTML-escaped

    [[site]]
    name = "www.baidu.com"       # the first site is also the default vhost
    [[site]]
    name = "baidu.com"
    title = "baidu.com"          # optional per-site overrides of [document]

    [textbook]                   # optional, only with mode = "textbook"
    response_pause_ms = 20

Every error is a ``ConfigError`` whose ``field`` names the offending key
(``port``, ``site[1].name``, ``textbook.response_pause_ms``); an unknown key is
an error too, so a typo never becomes a setting that nothing reads.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..base import render
from .pages import DEFAULT_BODY, TEXTBOOK_PAGE_LIMIT, Site

MODES = ("normal", "textbook")
TEMPLATE_NAME = "web.toml.j2"

_TOP_KEYS = {"listen", "port", "mode", "log", "idle_timeout_s", "document", "site", "textbook"}
_PAGE_KEYS = {"title", "body"}
_TEXTBOOK_KEYS = {"response_pause_ms"}
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ConfigError(ValueError):
    """An invalid configuration; ``field`` names the key at fault."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class TextbookTiming:
    """The server's pause between reading the whole request and writing the
    response, so that the kernel's pure ACK of the request (segment 5) is
    on the wire before the response (segment 6)."""

    response_pause: float = 0.020


@dataclass(frozen=True)
class WebConfig:
    listen: str
    port: int
    mode: str
    log: Path
    sites: tuple[Site, ...]
    idle_timeout: float = 10.0
    textbook: TextbookTiming = field(default_factory=TextbookTiming)


def load_config(path: str | Path) -> WebConfig:
    """Read and check a TOML config file (the file's own problems, unreadable
    or not TOML, are reported with the field ``file``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("file", f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("file", f"{path} is not valid TOML: {exc}") from None
    return parse_config(data)


def parse_config(data: Mapping[str, object]) -> WebConfig:
    """Check the parsed TOML document and build a ``WebConfig``."""
    _no_unknown(data, _TOP_KEYS, "")
    for key in ("listen", "log", "site"):
        if key not in data:
            raise ConfigError(key, "is required")
    listen = _address(data["listen"])
    port = _integer(data.get("port", 80), "port", 0, 65535)
    mode = data.get("mode", "normal")
    if mode not in MODES:
        raise ConfigError("mode", f"must be one of {', '.join(MODES)}, not {mode!r}")
    log = _string(data["log"], "log")
    idle = _number(data.get("idle_timeout_s", 10), "idle_timeout_s", 0.1, 3600)
    document = _table(data.get("document", {}), "document")
    _no_unknown(document, _PAGE_KEYS, "document.")
    sites = _sites(data["site"], document)
    timing = TextbookTiming()
    if "textbook" in data:
        if mode != "textbook":
            raise ConfigError("textbook", f"is read only in mode 'textbook', not {mode!r}")
        table = _table(data["textbook"], "textbook")
        _no_unknown(table, _TEXTBOOK_KEYS, "textbook.")
        pause = _number(table.get("response_pause_ms", 20), "textbook.response_pause_ms", 0, 1000)
        timing = TextbookTiming(response_pause=pause / 1000)
    config = WebConfig(listen, port, mode, Path(log), sites, idle, timing)
    if mode == "textbook":
        _fits_one_segment(config, document, data["site"])
    return config


def check_paths(config: WebConfig) -> None:
    """The checks that look at the file system (kept apart so that a config
    can be rendered and checked before its run directory exists)."""
    parent = config.log.parent
    if not parent.is_dir():
        raise ConfigError("log", f"directory {parent} does not exist")


def render_config(data: Mapping[str, object]) -> str:
    """Render ``web.toml.j2`` from plain data and check the result.

    ``data`` has ``listen``, ``port``, ``mode``, ``log``, ``sites`` (a list of
    mappings with ``name`` and optional ``title``/``body``) and ``document``
    (a mapping, possibly empty, with optional ``title``/``body``); optional
    ``idle_timeout_s`` and ``textbook`` (a mapping with
    ``response_pause_ms``).  A missing value raises ``jinja2.UndefinedError``;
    a rendered config that does not check raises ``ConfigError``.
    """
    text = render(TEMPLATE_NAME, **data)
    parse_config(tomllib.loads(text))
    return text


def _sites(value: object, document: Mapping[str, object]) -> tuple[Site, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError("site", "needs at least one [[site]] table")
    doc_title = _string(document["title"], "document.title") if "title" in document else None
    doc_body = _string(document.get("body", DEFAULT_BODY), "document.body")
    sites: list[Site] = []
    for i, entry in enumerate(value):
        where = f"site[{i}]"
        entry = _table(entry, where)
        _no_unknown(entry, {"name"} | _PAGE_KEYS, f"{where}.")
        if "name" not in entry:
            raise ConfigError(f"{where}.name", "is required")
        name = _hostname(entry["name"], f"{where}.name")
        if any(site.name == name for site in sites):
            raise ConfigError(f"{where}.name", f"{name!r} is listed twice")
        title = _string(entry["title"], f"{where}.title") if "title" in entry else doc_title
        body = _string(entry["body"], f"{where}.body") if "body" in entry else doc_body
        sites.append(Site(name, title if title is not None else name, body))
    return tuple(sites)


def _fits_one_segment(config: WebConfig, document: Mapping, raw_sites: list) -> None:
    for i, site in enumerate(config.sites):
        size = len(site.page)
        if size <= TEXTBOOK_PAGE_LIMIT:
            continue
        own = raw_sites[i]
        where = (f"site[{i}].body" if "body" in own else
                 f"site[{i}].title" if "title" in own else
                 "document.body")
        raise ConfigError(where, f"the page of {site.name} is {size} bytes; in textbook mode "
                                 f"the response must fit one TCP segment, so the page may be "
                                 f"at most {TEXTBOOK_PAGE_LIMIT} bytes")


def _no_unknown(table: Mapping, known: set[str], prefix: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _table(value: object, where: str) -> Mapping:
    if not isinstance(value, dict):
        raise ConfigError(where, f"must be a table, not {value!r}")
    return value


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(where, f"must be a non-empty string, not {value!r}")
    return value


def _integer(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, f"must be an integer, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(where, f"{value} is out of range {low}-{high}")
    return value


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(where, f"must be a number, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(where, f"{value} is out of range {low}-{high}")
    return float(value)


def _address(value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError("listen", f"must be an IP address string, not {value!r}")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ConfigError("listen", f"{value!r} is not an IP address") from None


def _hostname(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(where, f"must be a host name string, not {value!r}")
    name = value.lower().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ConfigError(where, f"{value!r} is not a host name")
    return name
