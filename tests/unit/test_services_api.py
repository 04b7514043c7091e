"""Finding a lab's daemons by kind, node and interface, from the plan alone
(no lab): every catalogue kind a topology declares, plus its DHCP clients."""

from __future__ import annotations

import pytest

from orchestrator.errors import LabError
from orchestrator.model import TopologyOptions, registry
from orchestrator.processes.services_api import DHCP_CLIENT, Services
from services import plan
from services.dhcp_client import Dhclient
from services.dhcp_relay import Dhcrelay
from services.dhcp_server import IscDhcpd
from services.registry import known_kinds


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
