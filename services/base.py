"""What every daemon class shares: its context, its templates, its launch.

As IPMininet's daemons do, a daemon class here names itself and its
binary, turns the topology model into plain data, renders its config from
one jinja2 template, and says how to check that config and how to know the
daemon is ready.  It never starts anything: it returns a :class:`Launch`,
plain data that :mod:`orchestrator.processes.supervisor` carries out inside the node.
That keeps configuration flowing one way (model -> config -> process) and
lets tests render every config without root.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from orchestrator.model import Host, Service, Topology

TEMPLATES = Path(__file__).resolve().parent / "templates"

_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_char(char: str) -> str:
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04X}"
    return char


def toml_value(value: Any) -> str:
    """A TOML literal for a string, integer, float, boolean, path or list of
    them: the ``toml`` filter of the templates of our own daemons."""
    if isinstance(value, jinja2.Undefined):
        str(value)                      # StrictUndefined raises, naming the variable
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} in TOML")
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise ValueError(f"cannot write {value!r} in TOML")


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
_environment.filters["toml"] = toml_value


def render(template: str, **data: Any) -> str:
    """Render a template of ``services/templates``; a missing value raises
    ``jinja2.UndefinedError`` naming it."""
    return _environment.get_template(template).render(**data)


# Stages: a daemon starts only when everything of earlier stages is ready.
STAGE_SERVERS = 10        # authoritative DNS, web
STAGE_RESOLVERS = 20      # the public recursive resolver
STAGE_ENTERPRISE = 30     # DHCP servers, the enterprise forwarder
STAGE_RELAYS = 40         # DHCP relays: their server must be listening
STAGE_CACHES = 50         # PCs' local DNS caches
STAGE_CLIENTS = 60        # DHCP clients: servers and relays must be up


@dataclass(frozen=True)
class LogLine:
    """Ready when a line matching ``pattern`` (a regex) is in the log."""

    pattern: str


@dataclass(frozen=True)
class FileAppears:
    """Ready when ``path`` exists (a lease written by a client's hook)."""

    path: str


Readiness = LogLine | FileAppears


@dataclass
class Launch:
    """Everything needed to run one daemon in one node, as plain data."""

    name: str                     # unique in the lab: "dnsmasq-dhcp@srv"
    node: str
    argv: list[str]
    log: str                      # stdout and stderr go here
    ready: Readiness
    stage: int
    files: dict[str, str] = field(default_factory=dict)   # path -> content to write first
    executables: tuple[str, ...] = ()                     # of ``files``: made executable
    check: list[str] | None = None                        # the config's dry run
    binary: str = ""                                      # looked up before anything starts
    deadline: float = 10.0                                # seconds to become ready


@dataclass
class Context:
    """Where a daemon runs: the whole model, its node, its declaration and
    the directory of the run where its files go."""

    topo: Topology
    host: Host
    service: Service | None
    directory: Path
    etc_dir: Path

    @property
    def params(self) -> dict:
        return dict(self.service.params) if self.service else {}

    def path(self, name: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        return str(self.directory / name)


class Daemon:
    """Base class: subclasses set ``name``, ``binary`` and ``stage`` and
    implement :meth:`launch`."""

    name = "daemon"
    binary = ""
    stage = STAGE_SERVERS

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def label(self) -> str:
        return f"{self.name}@{self.ctx.host.name}"

    def launch(self) -> Launch:
        raise NotImplementedError

    def make_launch(self, **fields: Any) -> Launch:
        """A Launch named after this daemon and its node, at its stage."""
        fields.setdefault("binary", self.binary)
        return Launch(name=self.label, node=self.ctx.host.name, stage=self.stage, **fields)


# What our own Python daemons (services.dns, services.web) print once serving.
READY_LINE = r"(?m)^ready "


def python_module(module: str, *args: str) -> list[str]:
    """argv running one of our own Python daemons with this interpreter
    (the venv's, which has dnslib and the project installed)."""
    return [sys.executable, "-m", module, *args]
