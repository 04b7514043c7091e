"""Finding a lab's daemons by kind, node and interface, from the plan alone
(no lab): every catalogue kind a topology declares, plus its DHCP clients.
Controlling them (swap, clients awaited within a bound) with short real
programs run on this machine as the only node."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.errors import LabError
from orchestrator.model import TopologyOptions, registry
from orchestrator.processes.services_api import DHCP_CLIENT, Services
from orchestrator.processes.supervisor import Supervisor
from services import plan
from services.base import Daemon, FileAppears, Launch, LogLine
from services.dhcp_client import Dhclient
from services.dhcp_relay import Dhcrelay
from services.dhcp_server import IscDhcpd
from services.registry import known_kinds

from .test_supervisor_local import Here


class NoNodes:
    """Nothing here runs a program: finding needs no node."""

    def exec_argv(self, node, argv):
        raise AssertionError("finding a daemon must not run anything")

    def record(self, process):
        raise AssertionError("finding a daemon must not start anything")


@pytest.fixture
def services(tmp_path):
    topo = registry.load("enterprise", TopologyOptions(dhcp_server="isc"))
    return Services(NoNodes(), None, plan.daemons(topo, tmp_path))


def test_every_daemon_is_found_by_its_catalogue_kind_or_as_a_dhcp_client(services):
    kinds = {i.kind for i in services.all()}
    assert kinds - {DHCP_CLIENT} <= set(known_kinds())
    assert {"dhcp-server", "dhcp-relay", "dns-resolver", DHCP_CLIENT} <= kinds


def test_find_by_kind_and_node(services):
    assert isinstance(services.find("dhcp-server", "srv").daemon, IscDhcpd)
    relay = services.find("dhcp-relay", "gw1")
    assert isinstance(relay.daemon, Dhcrelay) and relay.name == "dhcrelay@gw1"
    assert relay.launch.node == "gw1" and relay.iface is None


def test_dhcp_clients_carry_their_interface_and_client_program(services):
    xiaoming = services.find(DHCP_CLIENT, "xiaoming")
    assert xiaoming.iface == "xiaoming-eth0" and isinstance(xiaoming.daemon, Dhclient)
    assert services.dhcp_client("xiaoli") is services.find(DHCP_CLIENT, "xiaoli").daemon
    assert services.find(DHCP_CLIENT, "xiaoming", "xiaoming-eth0") == xiaoming


def test_each_launch_is_rendered_once_and_kept(services):
    relay = services.find("dhcp-relay", "gw1")
    assert services.find("dhcp-relay", "gw1").launch is relay.launch


@pytest.mark.parametrize("kind,node,iface,says", [
    ("dhcp-relay", "xiaoming", None, "xiaoming runs no dhcp-relay"),
    (DHCP_CLIENT, "srv", None, "srv runs no dhcp-client"),
    (DHCP_CLIENT, "xiaoming", "xiaoming-eth9", "xiaoming:xiaoming-eth9 runs no dhcp-client"),
])
def test_what_a_node_does_not_run_is_refused_by_name(services, kind, node, iface, says):
    with pytest.raises(LabError, match=says):
        services.find(kind, node, iface)


def test_controlling_a_lab_without_daemons_says_so(services):
    with pytest.raises(LabError, match="without services"):
        services.stop(services.find("dhcp-relay", "gw1"))


# -- controlling, with programs run on this machine -------------------------------------

class Script(Daemon):
    """A daemon of ``kind`` on the only node, "here": a shell script whose
    config's dry run is ``check`` (None: none)."""

    def __init__(self, tmp_path, kind: str, script: str, check: str | None = None):
        super().__init__(SimpleNamespace(host=SimpleNamespace(name="here"),
                                         service=SimpleNamespace(kind=kind)))
        self.kind, self.script, self.check = kind, script, check
        self.log = str(tmp_path / f"{kind}.log")

    def launch(self) -> Launch:
        return Launch(name=f"{self.kind}@here", node="here", argv=["sh", "-c", self.script],
                      log=self.log, ready=LogLine(r"^ready"), stage=1,
                      check=["sh", "-c", self.check] if self.check else None)


class Client(Dhclient):
    """A DHCP client on "here" that binds (writes its lease record) or not."""

    def __init__(self, tmp_path, name: str, binds: bool):
        self.ctx = SimpleNamespace(host=SimpleNamespace(name="here"), service=None,
                                   path=lambda file: str(tmp_path / f"{name}-{file}"))
        self.iface = SimpleNamespace(name=f"{name}-eth0")
        self.binds = binds

    def launch(self) -> Launch:
        record = self.lease_record
        script = (f"echo {{}} > {record}; " if self.binds else "") + "exec sleep 30"
        return Launch(name=self.label, node="here", argv=["sh", "-c", script],
                      log=self.ctx.path("log"), ready=FileAppears(record), stage=2, deadline=30)


def controlled(*daemons) -> Services:
    return Services(Here(), Supervisor(Here()), list(daemons))


@pytest.fixture
def stop_later():
    made = []
    yield made.append
    for services in made:
        services.supervisor.stop_all()


def test_a_swapped_daemon_runs_in_place_of_the_old_and_is_the_one_restarted(tmp_path,
                                                                         stop_later):
    services = controlled(Script(tmp_path, "dns-cache", "echo ready old; exec sleep 30"))
    stop_later(services)
    old = services.find("dns-cache", "here")
    services.start(old)
    first = services.supervisor.running[old.name].proc
    new = Script(tmp_path, "dns-cache", "echo ready new; exec sleep 30")
    swapped = services.swap(old, new)
    assert first.poll() is not None and services.is_running(swapped)
    assert services.find("dns-cache", "here") == swapped and swapped.daemon is new
    services.restart(services.find("dns-cache", "here"))
    assert Path(new.log).read_text().count("ready new") == 2


def test_a_swap_refused_by_its_dry_run_leaves_the_old_daemon_running(tmp_path, stop_later):
    services = controlled(Script(tmp_path, "dns-cache", "echo ready; exec sleep 30"))
    stop_later(services)
    old = services.find("dns-cache", "here")
    services.start(old)
    broken = Script(tmp_path, "dns-cache", "echo ready; exec sleep 30",
                    check="echo 'line 3: bad option'; exit 1")
    with pytest.raises(LabError, match="dns-cache@here: its configuration was refused.*bad "
                                       "option"):
        services.swap(old, broken)
    assert services.is_running(old) and services.find("dns-cache", "here") == old


def test_a_daemon_is_swapped_only_for_one_of_its_kind_and_node(tmp_path):
    services = controlled(Script(tmp_path, "dns-cache", "exec sleep 30"))
    with pytest.raises(LabError, match="dns-cache@here can only be swapped for a dns-cache of "
                                       "here, not a http of here"):
        services.swap(services.find("dns-cache", "here"), Script(tmp_path, "http", "true"))


def test_clients_awaited_within_a_bound_time_return_the_unbound_still_trying(tmp_path,
                                                                            stop_later):
    services = controlled(Client(tmp_path, "a", binds=True), Client(tmp_path, "b", binds=False))
    stop_later(services)
    clients = services.all(DHCP_CLIENT)
    began = time.monotonic()
    late = services.restart_dhcp_clients(clients, fresh=False, within=1.0)
    assert time.monotonic() - began < 5          # not the clients' own 30 s
    assert [(u.node, u.iface) for u in late] == [("here", "b-eth0")]
    assert "held no lease after 1 s" in late[0].reason
    assert all(services.is_running(c) for c in clients)


def test_a_running_daemon_has_its_pid_and_a_stopped_one_none(tmp_path, stop_later):
    services = controlled(Script(tmp_path, "dns-cache", "echo ready; exec sleep 30"))
    stop_later(services)
    daemon = services.find("dns-cache", "here")
    assert services.pid(daemon) is None
    services.start(daemon)
    pid = services.pid(daemon)
    assert pid and Path(f"/proc/{pid}").is_dir()
    services.stop(daemon)
    assert services.pid(daemon) is None
