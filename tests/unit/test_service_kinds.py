"""Service kinds: each is one class in one module plus one registry line.

A kind made up here (``echo``, registered for one test by monkeypatch) is
refused and accepted by validation and planned into a daemon without a line
of validation.py or plan.py knowing it; every real kind declares itself
fully and renders its launch from a shipped topology; and no module of
orchestrator/ or services/ spells a kind's name but the one defining it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from orchestrator.errors import TopologyError
from orchestrator.model import Topology, TopologyOptions, service
from orchestrator.model.validation import problems
from services import plan, registry
from services.base import Launch, LogLine
from services.dhcp_client import DHCP_CLIENT
from services.kind import Problems, ServiceDaemon
from topologies import enterprise

ROOT = Path(__file__).resolve().parents[2]


class EchoDaemon(ServiceDaemon):
    """A made-up kind: an echo server on one interface, UDP unless told."""

    kind = "echo"
    summary = "echoes what it is sent"
    required = ("port",)
    optional = ("interface", "transport")
    choices = {"transport": ("udp", "tcp")}
    defaults = {"transport": "udp"}
    interface_params = ("interface",)
    name = "echod"
    binary = "echod"

    @classmethod
    def problems(cls, topo, host, svc) -> Problems:
        yield from super().problems(topo, host, svc)
        port = svc.params.get("port")
        if port is not None and port not in range(1, 65536):
            yield TopologyError(host.name, f"services[{svc.kind}].port",
                                f"{port!r} is not a port number")

    def launch(self) -> Launch:
        return self.make_launch(argv=["echod", self.params["transport"], str(self.params["port"])],
                                log=self.ctx.path("echod.log"), ready=LogLine("listening"))


@pytest.fixture
def echo_registered(monkeypatch):
    monkeypatch.setitem(registry.KINDS, EchoDaemon.kind, EchoDaemon)


def host_running(*services) -> Topology:
    topo = Topology("t")
    lan = topo.switch("lan", subnet=topo.subnet("10.0.0.0/24"))
    topo.link(topo.host("h", services=list(services)), lan, ip="10.0.0.2/24")
    return topo


def found(topo: Topology) -> list[tuple[str | None, str, str]]:
    return [(p.node, p.field, p.message) for p in problems(topo)]


# -- a new kind: one class, one registry line ------------------------------------------

def test_an_unregistered_kind_is_refused_with_the_known_ones_listed():
    assert found(host_running(service("echo", port=7))) == [
        ("h", "services[echo]", "unknown service 'echo'; known: "
                                + ", ".join(registry.known_kinds()))]


def test_a_registered_kind_is_validated_by_its_own_class(echo_registered):
    assert found(host_running(service("echo", port=7, interface="h-eth0"))) == []
    assert found(host_running(service("echo", transport="sctp", interface="eth9", color=1))) == [
        ("h", "services[echo].port", "missing required parameter 'port' of echo"),
        ("h", "services[echo].color",
         "unknown parameter 'color' of echo; known: interface, port, transport"),
        ("h", "services[echo].transport", "'sctp' is not one of udp, tcp"),
        ("h", "services[echo].interface", "'eth9' is not an interface of h (h-eth0)"),
    ]
    assert found(host_running(service("echo", port=0))) == [
        ("h", "services[echo].port", "0 is not a port number")]


def test_a_registered_kind_is_planned_into_its_daemon_with_its_defaults(echo_registered,
                                                                         tmp_path):
    [daemon] = plan.daemons(host_running(service("echo", port=7)), tmp_path)
    assert isinstance(daemon, EchoDaemon)
    assert daemon.launch().argv == ["echod", "udp", "7"]
    assert daemon.launch().name == "echod@h"


def test_validation_names_no_kind():
    source = (ROOT / "orchestrator/model/validation.py").read_text()
    for kind in registry.known_kinds():
        assert repr(kind) not in source and f'"{kind}"' not in source, kind


# -- every registered kind -----------------------------------------------------------------

@pytest.mark.parametrize("kind", registry.known_kinds())
def test_every_kind_declares_itself(kind):
    cls = registry.KINDS[kind]
    assert cls.kind == kind and cls.summary
    assert not set(cls.required) & set(cls.optional)
    known = cls.known_params()
    for declared in (cls.choices, cls.defaults, cls.interface_params, cls.subnet_params):
        assert set(declared) <= known, declared
    for param, value in cls.defaults.items():
        assert value in cls.choices.get(param, (value,)), (param, value)


def enterprise_daemons(tmp_path) -> list:
    """The daemons of enterprise (which runs every kind), with both DHCP backends."""
    return [daemon for backend in ("dnsmasq", "isc")
            for daemon in plan.daemons(enterprise.build(TopologyOptions(dhcp_server=backend)),
                                       tmp_path / backend)]


@pytest.mark.parametrize("kind", registry.known_kinds())
def test_every_kind_renders_its_launch_from_a_shipped_topology(kind, tmp_path):
    daemons = [d for d in enterprise_daemons(tmp_path) if getattr(d, "kind", None) == kind]
    assert daemons, f"enterprise runs no {kind}"
    for daemon in daemons:
        launch = daemon.launch()
        assert launch.argv and launch.node == daemon.ctx.host.name
        assert all(text.strip() for text in launch.files.values() if text), launch.files


def test_the_dhcp_server_kind_runs_the_backend_asked_for(tmp_path):
    backends = {type(d).backend for d in enterprise_daemons(tmp_path)
                if getattr(d, "kind", None) == "dhcp-server"}
    assert backends == {"dnsmasq", "isc"}


# -- kind names: spelt once ---------------------------------------------------------------

# Where each name is written; "dns-resolver" and "dns-authoritative" are the
# names our DNS daemon's own config gives its two services, and the kinds take
# them from there.  "http" is left out: it is also a check's name and a URL scheme.
DEFINED_IN = {
    "dhcp-server": "services/dhcp_server.py", "dhcp-relay": "services/dhcp_relay.py",
    "dns-resolver": "services/dns/config.py", "dns-authoritative": "services/dns/config.py",
    "dns-cache": "services/dns_cache.py", "rarp-server": "services/rarp_server.py",
    DHCP_CLIENT: "services/dhcp_client.py",
}
# Modules being rewritten by others as this is written; they still spell kinds.
NOT_YET: set[str] = set()


def string_constants(path: Path) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_kind_names_are_written_only_where_the_kind_is_defined():
    assert set(DEFINED_IN) == set(registry.KINDS) - {"http"} | {DHCP_CLIENT}
    spelt = []
    for path in sorted((ROOT / "orchestrator").rglob("*.py")) + sorted(
            (ROOT / "services").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in NOT_YET:
            continue
        spelt += [f"{relative}:{line}: {value!r}" for line, value in string_constants(path)
                  if DEFINED_IN.get(value, relative) != relative]
    assert spelt == []
