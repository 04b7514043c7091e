"""The checkpoint ``exercise reset`` returns to: the lab's state before the
fault, whatever the student changed since.

What a student changes while investigating is the network's state in the
nodes and the switches: routes, addresses of statically configured
interfaces, iptables rules, the VLAN tags of access ports.  A checkpoint
records them per node when the exercise starts (before the fault); a
restore puts back exactly that, by difference (routes and addresses the
student added are deleted, those removed are added again) and by
``iptables-restore`` of the saved rules.  What DHCP configures is not
recorded: a reset restarts the DHCP clients, which configure it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import LabError
from ..model import Port, Switch
from ..network import ovs
from . import actions

DROPPED_WORDS = ("linkdown",)


def _rules(text: str) -> list[str]:
    """iptables-save without its comments and counters: the rules alone."""
    return [line.split(" [", 1)[0] if line.startswith(":") else line
            for line in text.splitlines() if line and not line.startswith("#")]


BUILT_IN = {"filter": ("INPUT", "FORWARD", "OUTPUT"),
            "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
            "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
            "raw": ("PREROUTING", "OUTPUT"), "security": ("INPUT", "FORWARD", "OUTPUT")}


def tables(text: str) -> list[str]:
    return [line[1:].strip() for line in text.splitlines() if line.startswith("*")]


def restoring(saved: str, now: str) -> str:
    """The input of iptables-restore that brings ``now`` back to ``saved``:
    the saved tables, and each table that exists now but did not then
    (iptables-save lists only tables in use) emptied, its chains ACCEPT."""
    extra = [t for t in tables(now) if t not in tables(saved)]
    emptied = "".join(f"*{t}\n" + "".join(f":{c} ACCEPT [0:0]\n" for c in BUILT_IN.get(t, ()))
                      + "COMMIT\n" for t in extra)
    return saved + ("" if saved.endswith("\n") or not saved else "\n") + emptied


@dataclass
class NodeState:
    routes: set[str] = field(default_factory=set)       # "10.9.1.0/24 via 10.9.255.2 dev r1-eth1"
    addresses: set[tuple[str, str]] = field(default_factory=set)   # (interface, address/prefix)
    iptables: str = ""

    def iptables_rules(self) -> list[str]:
        return _rules(self.iptables)


@dataclass
class Checkpoint:
    nodes: dict[str, NodeState] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)     # access port -> its VLAN tag


def dhcp_interfaces(topo, node: str) -> set[str]:
    return {i.name for i in topo.interfaces(node) if i.dhcp is not None}


def parse_routes(text: str, skip_devices: set[str]) -> set[str]:
    """``ip -4 route show`` lines that a person or the model put there: not
    the kernel's connected routes, not those of DHCP interfaces."""
    found = set()
    for line in text.splitlines():
        words = [w for w in line.split() if w not in DROPPED_WORDS]
        if not words or "proto" in words and words[words.index("proto") + 1] == "kernel":
            continue
        device = words[words.index("dev") + 1] if "dev" in words else None
        if device in skip_devices:
            continue
        found.add(" ".join(words))
    return found


def parse_addresses(text: str, skip_devices: set[str]) -> set[tuple[str, str]]:
    """(interface, address/prefix) of ``ip -4 -o addr show`` lines, but lo's
    and the DHCP interfaces'."""
    found = set()
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and words[2] == "inet" and words[1] != "lo" \
                and words[1] not in skip_devices:
            found.add((words[1], words[3]))
    return found


def node_state(lab, node: str) -> NodeState:
    skip = dhcp_interfaces(lab.topo, node)
    return NodeState(parse_routes(actions.run(lab, node, ["ip", "-4", "route", "show"]), skip),
                     parse_addresses(actions.run(lab, node, ["ip", "-4", "-o", "addr", "show"]),
                                     skip),
                     actions.run(lab, node, ["iptables-save"]))


def access_ports(topo) -> list[Port]:
    return [end for switch in topo.switches() if isinstance(switch, Switch) and switch.vlans
            for end in topo.ends_of(switch.name)
            if isinstance(end, Port) and end.vlan is not None and end.trunk is None]


def take(lab) -> Checkpoint:
    return Checkpoint({h.name: node_state(lab, h.name) for h in lab.topo.hosts()},
                      {p.name: ovs.vlan_tag(p.name) for p in access_ports(lab.topo)})


def restore(lab, saved: Checkpoint) -> list[str]:
    """Put every node and port back as saved; returns what was changed, in words."""
    changed = []
    for node, want in saved.nodes.items():
        now = node_state(lab, node)
        for route in sorted(now.routes - want.routes):
            actions.run(lab, node, ["ip", "route", "del", *route.split()], ok_codes=(0, 2))
            changed.append(f"{node}: route {route} removed")
        for iface, address in sorted(now.addresses - want.addresses):
            actions.run(lab, node, ["ip", "addr", "del", address, "dev", iface], ok_codes=(0, 2))
            changed.append(f"{node}: address {address} on {iface} removed")
        for iface, address in sorted(want.addresses - now.addresses):
            actions.run(lab, node, ["ip", "addr", "add", address, "dev", iface])
            changed.append(f"{node}: address {address} on {iface} put back")
        for route in sorted(want.routes - node_state(lab, node).routes):
            actions.run(lab, node, ["ip", "route", "replace", *route.split()])
            changed.append(f"{node}: route {route} put back")
        if now.iptables_rules() != want.iptables_rules():
            done = lab.run_in(node, ["iptables-restore"],
                              input=restoring(want.iptables, now.iptables))
            if done.returncode != 0:
                raise LabError(f"{node}: iptables-restore: {done.stderr.strip()}")
            changed.append(f"{node}: iptables rules restored")
    for port, tag in saved.tags.items():
        if ovs.vlan_tag(port) != tag:
            ovs.set_vlan_tag(port, tag)
            changed.append(f"port {port}: VLAN tag {tag} put back")
    return changed


