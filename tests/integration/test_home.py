"""The home LAN: the router serves DHCP itself (no relay) for a /25, and
the PC reaches the internet through the router's NAT."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

import pytest

from orchestrator.lab import Lab
from orchestrator.model import TopologyOptions, registry

from .labtools import captured_while, dhcp_messages, ping

pytestmark = pytest.mark.root


@pytest.fixture(scope="module", params=["dnsmasq", "isc"])
def lab(request, untouched_machine_module):
    with Lab(registry.load("home", TopologyOptions(dhcp_server=request.param))) as running:
        yield running


def test_the_router_itself_answers_dhcp(lab):
    pcaps = captured_while(lab, [("homegw", "homegw-eth0")], "udp port 67 or udp port 68",
                           lambda: lab.restart_dhcp_client("pc"))
    messages = dhcp_messages(pcaps[("homegw", "homegw-eth0")])
    assert [m["type"] for m in messages] == ["DISCOVER", "OFFER", "REQUEST", "ACK"]
    assert all(m["giaddr"] == "0.0.0.0" for m in messages)
    offer, ack = messages[1], messages[3]
    assert offer["src"] == ack["src"] == "192.168.1.129"
    assert ack["options"]["subnet_mask"] == "255.255.255.128"
    assert ack["options"]["router"] == "192.168.1.129"
    leased = ip_address(ack["yiaddr"])
    assert ip_address("192.168.1.130") <= leased <= ip_address("192.168.1.254")


def test_the_pc_computes_its_network_from_the_mask(lab):
    lease = lab.leases()[("pc", "pc-eth0")]
    route = lab.run_in("pc", ["ip", "-4", "route"]).stdout
    assert "192.168.1.128/25 dev pc-eth0" in route
    addr = lab.run_in("pc", ["ip", "-4", "-o", "addr", "show", "dev", "pc-eth0"]).stdout
    assert f"{lease.address} brd 192.168.1.255" in addr
    # 192.168.1.100 is off-link for a /25: the PC goes through its gateway.
    assert "via 192.168.1.129" in lab.run_in("pc", ["ip", "route", "get", "192.168.1.100"]).stdout
    assert ping(lab, "pc", "192.168.1.100")


def test_the_pc_reaches_the_web_through_the_home_nat(lab):
    result = lab.run_in("pc", ["curl", "-sS", "-m", "5", "http://www.baidu.com/"])
    assert result.returncode == 0 and "www.baidu.com" in result.stdout
    assert ip_address(lab.leases()[("pc", "pc-eth0")].ip) in ip_network("192.168.1.128/25")
