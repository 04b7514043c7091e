"""Faults of the network itself: a port on the wrong VLAN, a static route
missing or pointing nowhere, NAT off, a firewall dropping SYN-ACKs, a
duplicate address.  All are live: commands in the lab's nodes (or OVS in
the machine's namespace), undone by their inverse.

Routes are chosen with the model's own path prediction
(:mod:`orchestrator.model.paths`): a route is a variant only when taking it out
makes some pair of end hosts unreachable, and the symptom names that pair.
"""

from __future__ import annotations

import copy
from ipaddress import IPv4Network

from ..checks.derived.http import sites
from ..checks.derived.nat import crossings
from ..model import Interface, Port, Router, Switch, Topology
from ..model.paths import Network
from ..network import ovs
from . import actions
from .faults import Fault, Variant
from .where import free_address, model_address, network_of, same_domain, users

LAYER2 = "l2-scope"


# -- a port on the wrong VLAN ------------------------------------------------------

class PortWrongVlan(Fault):
    name = "port-wrong-vlan"
    title = "a host's switch port is in another VLAN"
    why = "no switch with VLANs has an end host's access port and a second VLAN to move it to"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for switch in topo.switches():
            if not switch.vlans:
                continue
            ports = [e for e in topo.ends_of(switch.name) if isinstance(e, Port)]
            vlans = sorted({p.vlan for p in ports if p.vlan is not None and p.trunk is None})
            for port in ports:
                if port.vlan is None or port.trunk is not None:
                    continue
                iface = topo.link_of(port).other(port)
                node = topo.find(iface.node)
                if not isinstance(iface, Interface) or isinstance(node, (Router, Switch)):
                    continue
                for other in vlans:
                    if other == port.vlan:
                        continue
                    breaks = (LAYER2, "dhcp") if iface.dhcp else (LAYER2,)
                    found.append(Variant(
                        self.name, {"switch": switch.name, "port": port.name,
                                    "host": iface.node, "interface": iface.name,
                                    "vlan": str(port.vlan), "to": str(other)},
                        f"{switch.name}'s port {port.name} ({iface.node}) is in VLAN {other}, "
                        f"not {port.vlan}", _port_symptom(topo, iface), breaks))
        return found

    def apply(self, lab, variant: Variant) -> None:
        ovs.set_vlan_tag(variant.target["port"], variant.target["to"])
        self._renew(lab, variant, wait=False)

    def solve(self, lab, variant: Variant) -> None:
        ovs.set_vlan_tag(variant.target["port"], variant.target["vlan"])
        self._renew(lab, variant, wait=True)

    def _renew(self, lab, variant: Variant, wait: bool) -> None:
        iface = next(i for i in lab.topo.interfaces(variant.target["host"])
                     if i.name == variant.target["interface"])
        if iface.dhcp is not None:
            actions.restart_clients(lab, [(iface.node, iface.name)], wait=wait)
        else:
            lab.run_in(iface.node, ["ip", "neigh", "flush", "dev", iface.name])


def _port_symptom(topo: Topology, iface: Interface) -> str:
    if iface.dhcp is not None:
        usual = f" {iface.dhcp.reserve}" if iface.dhcp.reserve else ""
        return f"{iface.node} no longer gets its usual address{usual}"
    peers = [(i, model_address(topo, i)) for i in same_domain(topo, iface)
             if i.node != iface.node and model_address(topo, i) is not None]
    if not peers:
        return f"{iface.node} cannot reach anything on its LAN"
    peer, address = peers[0]
    return f"{iface.node} cannot reach {peer.node} ({address}) on its own LAN"


# -- static routes ---------------------------------------------------------------------

def model_routes(topo: Topology) -> list[tuple[str, str, str]]:
    """(node, destination, via) of every route the model gives a node: its
    static routes, and the default route of a host configured by hand."""
    found = []
    for host in topo.hosts():
        dhcp = any(i.dhcp for i in topo.interfaces(host.name))
        if host.gateway is not None and not dhcp:
            found.append((host.name, "default", str(host.gateway)))
        for route in host.routes:
            dest = "default" if route.destination.prefixlen == 0 else str(route.destination)
            found.append((host.name, dest, str(route.via)))
    return found


def _without(topo: Topology, node: str, dest: str, via: str, new_via: str | None) -> Topology:
    """A copy of ``topo`` with the route removed (``new_via`` None) or sent via ``new_via``."""
    changed = copy.deepcopy(topo)
    host = changed.node(node)
    network = IPv4Network("0.0.0.0/0" if dest == "default" else dest)
    if dest == "default" and host.gateway is not None and str(host.gateway) == via:
        host.gateway = None
        if new_via is not None:
            host.route("default", new_via)
        return changed
    kept = [r for r in host.routes if not (r.destination == network and str(r.via) == via)]
    host.routes = kept
    if new_via is not None:
        host.route(dest, new_via)
    return changed


def broken_pairs(before: Topology, after: Topology) -> list[tuple[str, str, str]]:
    """(source, destination, its address) of the end-host pairs the model
    predicts reachable in ``before`` and not in ``after``."""
    ok_net, broken_net = Network(before), Network(after)
    hosts = [h for h in users(before)]
    found = []
    for a in hosts:
        for b in hosts:
            if a == b:
                continue
            target = next((ok_net.address(b, i.name).ip for i in before.interfaces(b)
                           if ok_net.address(b, i.name) is not None), None)
            if target is None or ok_net.source_address(a, target) is None:
                continue
            if ok_net.nat_between(b, ok_net.source_address(a, target)):
                continue            # one-way by NAT: reach does not expect it
            if ok_net.round_trip(a, target).ok and not broken_net.round_trip(a, target).ok:
                found.append((a, b, str(target)))
    return found


class _RouteFault(Fault):
    def replacement(self, topo: Topology, via: str) -> str | None:
        """The next hop the fault puts in place (None: the route is deleted)."""
        return None

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for node, dest, via in model_routes(topo):
            wrong = self.replacement(topo, via)
            if wrong == "":
                continue
            pairs = broken_pairs(topo, _without(topo, node, dest, via, wrong))
            if not pairs:
                continue
            source, destination, address = pairs[0]
            target = {"node": node, "destination": dest, "via": via}
            if wrong is not None:
                target["wrong"] = wrong
            found.append(Variant(self.name, target, self.describe(node, dest, via, wrong),
                                 f"{source} cannot reach {destination} ({address})",
                                 ("reach",), (LAYER2,)))
        return found

    def describe(self, node, dest, via, wrong) -> str:
        raise NotImplementedError

    def solve(self, lab, variant: Variant) -> None:
        t = variant.target
        actions.run(lab, t["node"], ["ip", "route", "replace", t["destination"], "via", t["via"]])


class RouteMissing(_RouteFault):
    name = "route-missing"
    title = "a static route is missing"
    why = "no static route of the model is needed by a pair of end hosts"

    def describe(self, node, dest, via, wrong) -> str:
        return f"{node} lacks its route to {dest} via {via}"

    def apply(self, lab, variant: Variant) -> None:
        t = variant.target
        actions.run(lab, t["node"], ["ip", "route", "del", t["destination"], "via", t["via"]])


class RouteWrongVia(_RouteFault):
    name = "route-wrong-via"
    title = "a static route points to a next hop nobody answers for"
    why = ("no static route of the model is needed by a pair of end hosts and has a free "
           "address beside its next hop")

    def replacement(self, topo: Topology, via: str) -> str | None:
        from ipaddress import IPv4Address
        network = network_of(topo, IPv4Address(via))
        wrong = free_address(topo, network) if network is not None else None
        return str(wrong) if wrong is not None else ""

    def describe(self, node, dest, via, wrong) -> str:
        return f"{node}'s route to {dest} goes via {wrong}, not {via}"

    def apply(self, lab, variant: Variant) -> None:
        t = variant.target
        actions.run(lab, t["node"], ["ip", "route", "replace", t["destination"], "via",
                                     t["wrong"]])


# -- NAT off -----------------------------------------------------------------------------

def _masquerade(action: str, iface: str) -> list[str]:
    return ["iptables", "-w", "-t", "nat", action, "POSTROUTING", "-o", iface,
            "-j", "MASQUERADE"]


class NatOff(Fault):
    """Breaks reach too: the inside user's echo leaves untranslated and no
    reply can come back (the outside knows no route inside)."""

    name = "nat-off"
    title = "a router's source NAT is off"
    why = "no link has nat=True with an end host on both sides"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        for c in crossings(topo):
            server = next((i.ip for i in topo.interfaces(c.server) if i.ip), None)
            what = (f"open http://{server}:{c.port}/" if c.port is not None
                    else f"ping {c.server} ({server})")
            found.append(Variant(self.name, {"router": c.router, "interface": c.outside.name},
                                 f"{c.router} does not masquerade out of {c.outside.name}",
                                 f"{c.client} cannot {what}", ("reach", "nat"), (LAYER2,)))
        return found

    def apply(self, lab, variant: Variant) -> None:
        router, iface = variant.target["router"], variant.target["interface"]
        actions.run(lab, router, _masquerade("-D", iface))
        _forget_connections(lab, router)

    def solve(self, lab, variant: Variant) -> None:
        router, iface = variant.target["router"], variant.target["interface"]
        if lab.run_in(router, _masquerade("-C", iface)).returncode != 0:
            actions.run(lab, router, _masquerade("-A", iface))
        _forget_connections(lab, router)


def _forget_connections(lab, router: str) -> None:
    """Translated connections outlive a rule change in connection tracking:
    forget them, so the next packet meets the rules as they are now."""
    lab.run_in(router, ["conntrack", "-F"])


# -- a firewall dropping SYN-ACKs --------------------------------------------------------

def _synack_rule(action: str, port: str) -> list[str]:
    return ["iptables", "-w", action, "FORWARD", "-p", "tcp", "--sport", port,
            "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP"]


class FirewallDropsSynAck(Fault):
    name = "firewall-drop-synack"
    title = "a router's firewall drops the server's SYN-ACKs"
    why = "no HTTP site is reached by a user through a router"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        net = Network(topo)
        for site in sites(topo):
            trip = net.round_trip(site.client, site.address)
            if not trip.ok:
                continue
            url = f"http://{site.name}/" if site.port == 80 else \
                f"http://{site.name}:{site.port}/"
            for router in dict.fromkeys(trip.back.routers):
                found.append(Variant(
                    self.name, {"router": router, "server": site.server,
                                "port": str(site.port)},
                    f"{router}'s firewall drops SYN-ACKs from port {site.port}",
                    f"{site.client} cannot open {url}: the page never loads",
                    ("http",), (LAYER2, "reach")))
        return found

    def apply(self, lab, variant: Variant) -> None:
        actions.run(lab, variant.target["router"], _synack_rule("-I", variant.target["port"]))

    def solve(self, lab, variant: Variant) -> None:
        router, port = variant.target["router"], variant.target["port"]
        while lab.run_in(router, _synack_rule("-C", port)).returncode == 0:
            actions.run(lab, router, _synack_rule("-D", port))


# -- a duplicate address -----------------------------------------------------------------

class DuplicateAddress(Fault):
    name = "duplicate-address"
    title = "a host also holds another host's address"
    why = "no broadcast domain has two end hosts with an address known to the model"

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        ends = set(users(topo))
        for holder in topo.interfaces():
            if holder.node not in ends:
                continue
            for victim in same_domain(topo, holder):
                address = model_address(topo, victim)
                if victim.node == holder.node or victim.node not in ends or address is None:
                    continue
                found.append(Variant(
                    self.name, {"holder": holder.node, "interface": holder.name,
                                "victim": victim.node, "address": str(address)},
                    f"{holder.node} also holds {victim.node}'s address {address}",
                    f"{holder.node} cannot reach {victim.node} ({address})",
                    ("reach",), (LAYER2,)))
        return found

    def apply(self, lab, variant: Variant) -> None:
        t = variant.target
        actions.run(lab, t["holder"], ["ip", "addr", "add", f"{t['address']}/32", "dev",
                                       t["interface"]])

    def solve(self, lab, variant: Variant) -> None:
        t = variant.target
        actions.run(lab, t["holder"], ["ip", "addr", "del", f"{t['address']}/32", "dev",
                                       t["interface"]], ok_codes=(0, 2))


FAULTS = [PortWrongVlan, RouteMissing, RouteWrongVia, NatOff, FirewallDropsSynAck,
          DuplicateAddress]
