"""The enterprise lab's daemons, for real, with both DHCP backends: leases as
reserved and from the pools, the relay path on the wire, both DHCP clients
with their ARP probe, the DNS chain, and the web page through the NAT."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from orchestrator.lab import Lab
from orchestrator.model import Dhcp, TopologyOptions, registry

from .labtools import captured_while, dhcp_messages, dig, packets

pytestmark = pytest.mark.root

GARBAGE_QUERY = Path(__file__).with_name("garbage_dns_query.py")     # run inside xiaoming

MACS = {"xiaoming": "02:00:0a:01:01:02", "xiaomei": "02:00:0a:01:01:03",
        "xiaoli": "02:00:0a:01:02:02", "guest": "02:00:0a:01:02:99"}
RESERVED = {"xiaoming": "10.1.1.2", "xiaomei": "10.1.1.3", "xiaoli": "10.1.2.2"}
GATEWAY = {"xiaoming": "10.1.1.1", "xiaomei": "10.1.1.1", "xiaoli": "10.1.2.1",
           "guest": "10.1.2.1"}


def enterprise_with_a_guest(backend: str):
    """enterprise, xiaomei on udhcpc, and a guest on VLAN 20 with no reservation."""
    topo = registry.load("enterprise", TopologyOptions(dhcp_server=backend))
    for iface in topo.interfaces("xiaomei"):
        iface.dhcp = dataclasses.replace(iface.dhcp, client="udhcpc")
    guest = topo.host("guest", description="a visitor's laptop: no reservation")
    topo.link(guest, "access", vlan=20, mac=MACS["guest"], dhcp=Dhcp(server="srv", relay="gw2"))
    return topo


@pytest.fixture(scope="module", params=["dnsmasq", "isc"])
def lab(request, untouched_machine_module):
    with Lab(enterprise_with_a_guest(request.param)) as running:
        yield running


def test_pcs_hold_their_reserved_addresses_and_the_guest_one_from_the_pool(lab):
    leases = {node: lease for (node, _iface), lease in lab.leases().items()}
    assert {n: leases[n].ip for n in RESERVED} == RESERVED
    assert ip_address(leases["guest"].ip) in [
        ip_address("10.1.2.100") + i for i in range(100)]
    assert leases["xiaomei"].client == "udhcpc" and leases["xiaoming"].client == "dhclient"


@pytest.mark.parametrize("node", ["xiaoming", "xiaomei", "xiaoli", "guest"])
def test_the_lease_is_applied_inside_the_node_only(lab, node):
    address = lab.leases()[(node, f"{node}-eth0")].ip
    addr = lab.run_in(node, ["ip", "-4", "-o", "addr", "show", "dev", f"{node}-eth0"]).stdout
    assert f"{address}/24" in addr
    route = lab.run_in(node, ["ip", "route", "show", "default"]).stdout
    assert f"default via {GATEWAY[node]}" in route
    if node == "guest":        # no local cache: the lease goes to its own resolv.conf
        resolv = lab.run_in(node, ["cat", "/etc/resolv.conf"]).stdout
    else:
        resolv = (lab.run.path / f"nodes/{node}/dns-cache/upstream-resolv.conf").read_text()
    assert resolv == "nameserver 10.10.10.10\n"
    assert address not in lab.run_in("srv", ["ip", "-4", "-o", "addr"]).stdout


def test_the_relay_carries_dora_between_vlan_and_server(lab):
    points = [("gw1", "gw1-eth0"), ("gw1", "gw1-eth1")]
    pcaps = captured_while(lab, points, "udp port 67 or udp port 68",
                           lambda: lab.restart_dhcp_client("xiaoming"))
    client_side = dhcp_messages(pcaps[("gw1", "gw1-eth0")])
    server_side = dhcp_messages(pcaps[("gw1", "gw1-eth1")])
    discover = next(m for m in client_side if m["type"] == "DISCOVER")
    assert (discover["src"], discover["sport"], discover["dst"], discover["dport"]) == \
        ("0.0.0.0", 68, "255.255.255.255", 67)
    assert discover["chaddr"] == MACS["xiaoming"] and discover["giaddr"] == "0.0.0.0"
    xid = discover["xid"]
    relayed = next(m for m in server_side if m["type"] == "DISCOVER" and m["xid"] == xid)
    # Erratum: dhcrelay sends from its upstream address; giaddr carries 10.1.1.1.
    assert (relayed["src"], relayed["dst"], relayed["dport"]) == ("10.10.10.1", "10.10.10.10", 67)
    assert relayed["giaddr"] == "10.1.1.1"
    offer = next(m for m in server_side if m["type"] == "OFFER" and m["xid"] == xid)
    assert (offer["src"], offer["dst"], offer["dport"], offer["yiaddr"]) == \
        ("10.10.10.10", "10.1.1.1", 67, "10.1.1.2")
    delivered = next(m for m in client_side if m["type"] == "OFFER" and m["xid"] == xid)
    assert delivered["dport"] == 68 and delivered["yiaddr"] == "10.1.1.2"
    request = next(m for m in client_side if m["type"] == "REQUEST" and m["xid"] == xid)
    assert request["options"]["requested_addr"] == "10.1.1.2"
    assert request["options"]["server_id"] == "10.10.10.10"
    ack = next(m for m in client_side if m["type"] == "ACK" and m["xid"] == xid)
    assert ack["yiaddr"] == "10.1.1.2"
    assert ack["options"]["subnet_mask"] == "255.255.255.0"
    assert ack["options"]["router"] == "10.1.1.1"
    assert ack["options"]["name_server"] == "10.10.10.10"
    assert ack["options"]["lease_time"] == 3600


@pytest.mark.parametrize("node", ["xiaoming", "xiaomei"], ids=["dhclient", "udhcpc"])
def test_the_client_probes_its_address_with_arp_before_using_it(lab, node):
    iface = f"{node}-eth0"
    pcaps = captured_while(lab, [(node, iface)], "arp or udp port 67 or udp port 68 or icmp",
                           lambda: lab.restart_dhcp_client(node))
    captured = packets(pcaps[(node, iface)])
    address = RESERVED[node]
    from scapy.layers.inet import IP
    from scapy.layers.l2 import ARP
    probes = [i for i, p in enumerate(captured) if ARP in p and p[ARP].op == 1
              and p[ARP].psrc == "0.0.0.0" and p[ARP].pdst == address]
    assert probes, f"no ARP probe for {address} from {node}"
    first_use = [i for i, p in enumerate(captured)
                 if (IP in p and p[IP].src == address) or (ARP in p and p[ARP].psrc == address)]
    assert not first_use or probes[0] < first_use[0]


def test_pubdns_resolves_iteratively(lab):
    reply = dig(lab, "xiaoming", "8.8.8.8", "www.baidu.com")
    assert reply["status"] == "NOERROR" and "ra" in reply["flags"]
    assert [(r[0], r[1], r[3]) for r in reply["answer"]] == [
        ("www.baidu.com.", "A", "61.135.169.125")]


def test_srv_forwards_to_8_8_8_8_and_answers_repeats_from_its_cache(lab):
    def two_lookups():
        first.update(dig(lab, "xiaoming", "10.10.10.10", "news.baidu.com"))
        time.sleep(1.2)          # let the cached TTL count down
        second.update(dig(lab, "xiaomei", "10.10.10.10", "news.baidu.com"))
    first, second = {}, {}
    pcaps = captured_while(lab, [("srv", "srv-eth0")], "udp port 53", two_lookups)
    from scapy.layers.dns import DNS
    from scapy.layers.inet import IP
    upstream = [p for p in packets(pcaps[("srv", "srv-eth0")])
                if DNS in p and p[IP].src == "10.10.10.10" and p[IP].dst == "8.8.8.8"]
    assert len(upstream) == 1, "the second lookup must come from srv's cache"
    assert upstream[0][DNS].rd == 1
    assert [(r[0], r[1], r[3]) for r in first["answer"]] == [
        ("news.baidu.com.", "CNAME", "www.baidu.com."), ("www.baidu.com.", "A", "61.135.169.125")]
    assert all(b[2] < a[2] for a, b in zip(first["answer"], second["answer"]))


def test_nxdomain_carries_the_zones_soa(lab):
    reply = dig(lab, "xiaoming", "10.10.10.10", "nosuch.baidu.com")
    assert reply["status"] == "NXDOMAIN"
    assert [(r[0], r[1]) for r in reply["authority"]] == [("baidu.com.", "SOA")]


def test_a_truncated_answer_is_fetched_again_over_tcp(lab):
    reply = {}
    pcaps = captured_while(lab, [("auth", "auth-eth0")], "port 53",
                           lambda: reply.update(dig(lab, "xiaoming", "10.10.10.10",
                                                    "many.baidu.com")))
    assert reply["status"] == "NOERROR" and len(reply["answer"]) == 40
    from scapy.layers.inet import TCP
    assert any(TCP in p and p[TCP].dport == 53 and p[TCP].flags.S
               for p in packets(pcaps[("auth", "auth-eth0")]))


def test_clients_may_ask_over_tcp(lab):
    reply = dig(lab, "xiaoming", "10.10.10.10", "www.baidu.com", tcp=True)
    assert reply["status"] == "NOERROR" and reply["answer"][0][3] == "61.135.169.125"


def test_garbage_gets_formerr_and_the_resolver_carries_on(lab):
    asked = lab.run_in("xiaoming", [sys.executable, str(GARBAGE_QUERY), "10.10.10.10"])
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout) == {"id": "1234", "rcode": 1}, \
        "FORMERR (rcode 1) with the query's id"
    assert dig(lab, "xiaoming", "10.10.10.10", "www.baidu.com")["status"] == "NOERROR"


def test_the_web_page_comes_through_the_edge_nat(lab):
    result = {}
    pcaps = captured_while(lab, [("web", "web-eth0")], "tcp port 80",
                           lambda: result.update(out=lab.run_in(
                               "xiaoming", ["curl", "-sS", "-m", "5", "http://www.baidu.com/"])))
    assert result["out"].returncode == 0 and "<title>www.baidu.com</title>" in result["out"].stdout
    from scapy.layers.inet import IP, TCP
    syns = [p for p in packets(pcaps[("web", "web-eth0")]) if TCP in p and p[TCP].flags == "S"]
    assert syns and {p[IP].src for p in syns} == {"203.0.113.2"}


def test_pools_live_in_their_subnets(lab):
    guest = lab.leases()[("guest", "guest-eth0")]
    assert ip_address(guest.ip) in ip_network("10.1.2.0/24")
