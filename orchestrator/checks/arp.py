"""ARP and forwarding: the checks arp-same-subnet, cross-subnet and arp-cache."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from orchestrator.model import Router as RouterNode

from ..packets import (ExpectationFailed, Packet, Packets, arp, eth, expect, icmp, merge)
from ..packets.failure import listing, short
from .base import Check, CheckContext, Demonstrated, record_erratum

BROADCAST = "ff:ff:ff:ff:ff:ff"


@dataclass(frozen=True)
class Station:
    """A host as a check sees it: where it is captured, its MAC and address."""

    node: str
    iface: str
    mac: str
    ip: str


def station(ctx: CheckContext, node: str) -> Station:
    """The node's first interface, with its leased (or static) address."""
    iface = ctx.lab.topo.interfaces(node)[0]
    lease = ctx.lab.leases().get((node, iface.name))
    address = lease["address"] if lease else str(iface.address.ip)
    return Station(node, iface.name, ctx.lab.node(node).intf(iface.name).mac, address)


def judge_arp_same_subnet(sender: Packets, same_vlan: list[Packets], other_vlan: list[Packets],
                          repeat: Packets, a: Station, b: Station,
                          errata: list[Demonstrated]) -> str:
    """``sender``: a's wire during the first ping; ``same_vlan``/``other_vlan``:
    wires that must / must not hear the broadcast; ``repeat``: a's wire
    during a second ping, which must need no ARP."""
    who_has = arp(op="request", sender_ip=a.ip, target_ip=b.ip, sender_mac=a.mac)
    request, _reply, _echo, _echo_reply = expect(sender).sequence(
        [who_has & arp(eth_dst="ff:ff:ff:ff:ff:ff"),
         arp(op="reply", sender_ip=b.ip, sender_mac=b.mac, target_mac=a.mac, eth_dst=a.mac),
         icmp(type=8, src=a.ip, dst=b.ip), icmp(type=0, src=b.ip, dst=a.ip)],
        kind=arp() | icmp())
    for wire in same_vlan:
        expect(wire).count(who_has, exactly=1)
    for wire in other_vlan:
        expect(wire).none(who_has)
    record_erratum(errata, "arp-ethertype", f"who-has frame type 0x{request.eth.type:04x}")
    expect(repeat).none(arp())
    expect(repeat).count(icmp(type=8, dst=b.ip), exactly=1)
    return (f"who-has {b.ip} tell {a.ip} broadcast, heard by {len(same_vlan)} in its VLAN and "
            f"none of {len(other_vlan)} outside; reply from {b.mac} unicast; second ping: no ARP")


class ArpSameSubnet(Check):
    """xiaoming pings xiaomei: ARP request broadcast (heard all over VLAN 10,
    nowhere in VLAN 20), unicast reply, then ICMP; a second ping sends no ARP."""

    name = "arp-same-subnet"
    summary = "ARP who-has as broadcast in VLAN 10 only, unicast reply, then ICMP; cache hit"
    topologies = ("enterprise",)
    vlans = True

    def run(self, ctx: CheckContext) -> str:
        lab = ctx.lab
        a, b = station(ctx, "xiaoming"), station(ctx, "xiaomei")
        for s in (a, b):
            lab.run_in(s.node, ["ip", "neigh", "flush", "dev", s.iface])
        points = [("xiaoming", "xiaoming-eth0"), ("xiaomei", "xiaomei-eth0"),
                  ("gw1", "gw1-eth0"), ("xiaoli", "xiaoli-eth0"), ("gw2", "gw2-eth0")]
        with ctx.capture(points, "arp or icmp") as first:
            lab.run_in(a.node, ["ping", "-c1", "-W2", b.ip])
        learned = lab.run_in(b.node, ["ip", "neigh", "show", a.ip]).stdout
        with ctx.capture([(a.node, a.iface)], "arp or icmp") as second:
            lab.run_in(a.node, ["ping", "-c1", "-W2", b.ip])
        cached = lab.run_in(a.node, ["ip", "neigh", "show", b.ip]).stdout.strip()
        evidence = judge_arp_same_subnet(
            first["xiaoming-eth0"], [first["xiaomei-eth0"], first["gw1-eth0"]],
            [first["xiaoli-eth0"], first["gw2-eth0"]], second.all, a, b, ctx.errata)
        if a.mac not in learned.lower():
            raise ExpectationFailed(f"xiaomei did not learn xiaoming's mapping from the request: "
                                 f"ip neigh shows {learned.strip()!r}")
        return f"{evidence} (ip neigh: {cached})"


CHECKS = [ArpSameSubnet]
