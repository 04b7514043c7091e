"""l2-scope: a broadcast is heard by exactly its broadcast domain, as the model declares it.

Which interfaces hear each other's broadcasts is the whole meaning of
VLANs, trunks and flat switches, and it is where a misconfigured port
hides: a host plugged into the wrong VLAN, a port that also carries another
VLAN, a trunk that does not carry one.  From the model,
:func:`orchestrator.model.domains.broadcast_domains` says who must hear whom.

Each end host sends one ARP request (``arping -c1``) from each addressed
interface for an address of its own subnet that nobody has, all at once,
while every interface of every host and router is captured.  A sender's
broadcast must be heard on every other interface of its domain and on no
interface outside it.  Requests are told apart by the sender's MAC and the
address asked for; frames that arrive with an 802.1Q tag (a port leaking
another VLAN) are captured too.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Mapping, Sequence

from ...capture.tcpdump import point_label
from ...model import Topology
from ...model.domains import broadcast_domains, declared_subnet
from ...model.paths import Network
from ...packets import ExpectationFailed, Packet, Packets
from ...packets.failure import listing
from ..base import Check, CheckContext
from .common import at_once
from .facts import end_host_names, macs, network

PROBE_SOURCE = "0.0.0.0"       # an unaddressed sender's ARP probe (arping -D)
ARPING_WAIT = 1               # seconds arping waits for a reply that will not come
BPF = "arp or (vlan and arp)"


@dataclass(frozen=True)
class Sender:
    """One broadcast: who sends it (node, interface, capture point, MAC,
    address), the unused address it asks for, and the domain the model
    puts the sender in with the capture points that must hear it."""

    node: str
    iface: str
    point: str
    mac: str
    ip: str
    target: str
    domain: str
    members: tuple[str, ...]


def sending_network(net: Network, node: str, iface: str):
    """The network an interface broadcasts on: its address's, or for a DHCP
    client holding no lease, its port's declared subnet (it can still send
    an ARP probe, from 0.0.0.0)."""
    address = net.address(node, iface)
    if address is not None:
        return address.network
    iface_obj = next(i for i in net.topo.interfaces(node) if i.name == iface)
    subnet = declared_subnet(net.topo, iface_obj) if iface_obj.dhcp else None
    return subnet.network if subnet is not None else None


def unused_address(net: Network, node: str, iface: str) -> IPv4Address | None:
    """The highest address of the interface's network that no interface
    has and that is not its gateway, outside the DHCP pool if the network
    has room (else a pool address nobody leased): nobody answers for it."""
    network = sending_network(net, node, iface)
    if network is None:
        return None
    iface_obj = next(i for i in net.topo.interfaces(node) if i.name == iface)
    subnet = declared_subnet(net.topo, iface_obj)
    taken = {a.ip for a in net.plan.values()}
    if subnet is not None and subnet.gateway is not None:
        taken.add(subnet.gateway)
    free = [c for c in reversed(list(network.hosts())) if c not in taken]
    pool = subnet.pool if subnet is not None else None
    outside = [c for c in free if pool is None or not pool[0] <= c <= pool[1]]
    return (outside or free or [None])[0]


def plan_senders(net: Network, hosts: Sequence[str],
                 mac: Mapping[tuple[str, str], str]) -> tuple[list[Sender], list[str]]:
    """Every interface of every end host as a sender (one without an address
    yet, a DHCP client holding no lease, sends an ARP probe from 0.0.0.0:
    its layer 2 is not the dhcp check's business), and the interfaces left
    out (no network to send on, or no free address)."""
    senders, skipped = [], []
    for host in hosts:
        for iface in net.topo.interfaces(host):
            address = net.address(host, iface.name)
            target = unused_address(net, host, iface.name)
            if target is None:
                why = "no address" if sending_network(net, host, iface.name) is None \
                    else "no free address"
                skipped.append(f"{iface.name} ({why})")
                continue
            domain = net.domain_of(host, iface.name)
            members = tuple(point_label(i.node, i.name) for i in domain.interfaces
                            if (i.node, i.name) != (host, iface.name))
            senders.append(Sender(host, iface.name, point_label(host, iface.name),
                                  mac[(host, iface.name)],
                                  str(address.ip) if address else PROBE_SOURCE, str(target),
                                  domain.name, members))
    return senders, skipped


def _requests(wires: Mapping[str, Packets]) -> dict[tuple[str, str], dict[str, list[Packet]]]:
    """ARP requests by (sender MAC, address asked for), then by point."""
    found: dict[tuple[str, str], dict[str, list[Packet]]] = {}
    for point, packets in wires.items():
        for packet in packets:
            asked = packet.arp
            if asked is not None and asked.op == "request":
                found.setdefault((asked.sender_mac, asked.target_ip), {}) \
                    .setdefault(point, []).append(packet)
    return found


def _names(points) -> str:
    return ", ".join(sorted(points)) or "none"


def judge_l2_scope(wires: Mapping[str, Packets], senders: Sequence[Sender]) -> str:
    """``wires``: capture point -> packets, on every host and router
    interface, while each sender broadcast one ARP request.  Each must be
    heard by exactly the other members of its domain."""
    heard_by = _requests(wires)
    t0 = min((w.start for w in wires.values() if len(w)), default=0.0)
    failures: list[str] = []
    shown: list[Packet] = []
    domains: dict[str, int] = {}
    for sender in senders:
        heard = heard_by.get((sender.mac, sender.target), {})
        what = (f"{sender.node}'s broadcast who-has {sender.target} tell {sender.ip} "
                f"from {sender.iface}")
        if sender.point not in heard:
            failures.append(f"{what}: not seen leaving {sender.point}")
            continue
        expected = set(sender.members)
        others = set(heard) - {sender.point}
        extra, missing = others - expected, expected - others
        if not extra and not missing:
            domains[sender.domain] = len(expected) + 1
            continue
        parts = []
        if extra:
            parts.append(f"heard on {_names(extra)}, outside its broadcast domain")
            shown += [heard[p][0] for p in sorted(extra)]
        if missing:
            parts.append(f"not heard on {_names(missing)}, inside it")
        failures.append(f"{what}: {' and '.join(parts)}; the model's domain "
                        f"{sender.domain} is {_names(expected | {sender.point})}")
    if failures:
        detail = "\n".join(f"  {line}" for line in failures)
        if shown:
            detail += "\n" + listing("heard outside the domain:", shown, t0, macs=True)
        raise ExpectationFailed(f"{len(failures)} of {len(senders)} broadcasts left their "
                                f"broadcast domain or missed part of it: {failures[0]}",
                                detail, shown)
    summary = ", ".join(f"{name} ({size} interfaces)" for name, size in domains.items())
    return (f"{len(senders)} ARP broadcasts, each heard by exactly its broadcast domain "
            f"and nowhere else: {summary}")


def arping_all(ctx: CheckContext, senders: Sequence[Sender]) -> None:
    """One ARP request from every sender at once, each host's in one shell."""
    by_node: dict[str, list[str]] = {}
    for s in senders:
        by_node.setdefault(s.node, []).append(
            f"arping -q -c1 -w{ARPING_WAIT} {'-D ' if s.ip == PROBE_SOURCE else ''}"
            f"-I {s.iface} {s.target}")
    at_once(ctx, by_node, ARPING_WAIT + 30)


class L2Scope(Check):
    """Each end host's ARP broadcast is heard by exactly the interfaces of
    its broadcast domain (VLANs, trunks, flat switches) and nowhere else."""

    name = "l2-scope"
    summary = "each host's ARP broadcast heard by exactly its broadcast domain"

    def applies_to(self, topo: Topology) -> bool:
        hosts = set(end_host_names(topo))
        return any(len(d.interfaces) > 1 and any(i.node in hosts for i in d.interfaces)
                   for d in broadcast_domains(topo))

    def why_not(self, topo: Topology) -> str:
        return "no end host shares a broadcast domain with another interface"

    def run(self, ctx: CheckContext) -> str:
        net = network(ctx.lab)
        keys = [(i.node, i.name) for i in net.topo.interfaces()]
        senders, skipped = plan_senders(net, end_host_names(net.topo), macs(ctx.lab, keys))
        with ctx.capture(keys, BPF) as captured:
            arping_all(ctx, senders)
        evidence = judge_l2_scope(captured.by_point, senders)
        return evidence + (f"; not sent from {', '.join(skipped)}" if skipped else "")


CHECKS = [L2Scope]
