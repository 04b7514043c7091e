"""The checkpoint of ``exercise reset``: parsing a node's routes and
addresses, and undoing a student's changes by difference (a fake node
that keeps its routes, addresses and rules as text)."""

from __future__ import annotations

import subprocess

from orchestrator.exercises import checkpoint
from orchestrator.model import registry

ROUTES = """default via 10.9.255.1 dev r2-eth0 proto static
10.9.1.0/24 dev r2-eth1 proto kernel scope link src 10.9.1.1
10.9.255.0/30 dev r2-eth0 proto kernel scope link src 10.9.255.2 linkdown
10.1.1.0/24 via 10.1.1.1 dev pc-eth0
"""

ADDRESSES = """1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever
2: r2-eth0    inet 10.9.255.2/30 scope global r2-eth0\\       valid_lft forever
3: pc-eth0    inet 10.1.1.2/24 scope global pc-eth0\\       valid_lft forever
"""


def test_routes_are_those_a_person_or_the_model_put_there():
    assert checkpoint.parse_routes(ROUTES, {"pc-eth0"}) == {
        "default via 10.9.255.1 dev r2-eth0 proto static"}


def test_addresses_leave_out_loopback_and_dhcp_interfaces():
    assert checkpoint.parse_addresses(ADDRESSES, {"pc-eth0"}) == {("r2-eth0", "10.9.255.2/30")}


def test_iptables_rules_ignore_counters_and_comments():
    a = checkpoint.NodeState(iptables="# Generated at 1\n*filter\n:FORWARD ACCEPT [3:120]\nCOMMIT\n")
    b = checkpoint.NodeState(iptables="# Generated at 2\n*filter\n:FORWARD ACCEPT [9:999]\nCOMMIT\n")
    c = checkpoint.NodeState(iptables="*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -j DROP\nCOMMIT\n")
    assert a.iptables_rules() == b.iptables_rules() != c.iptables_rules()


class FakeNodes:
    """Every node of a topology as sets of routes and addresses and a rules text."""

    def __init__(self, topo):
        self.topo = topo
        self.routes = {h.name: {f"default via 10.9.0.1 dev {h.name}-eth0"} for h in topo.hosts()}
        self.addresses = {h.name: {(f"{h.name}-eth0", "10.9.0.99/24")} for h in topo.hosts()}
        self.rules = {h.name: "*filter\nCOMMIT\n" for h in topo.hosts()}
        self.ran = []

    def run_in(self, node, argv, input=None, **_kwargs):
        self.ran.append((node, tuple(argv)))
        out = ""
        if argv[:4] == ["ip", "-4", "route", "show"]:
            out = "\n".join(sorted(self.routes[node]))
        elif argv[:4] == ["ip", "-4", "-o", "addr"]:
            out = "\n".join(f"2: {i}    inet {a} scope global {i}"
                            for i, a in sorted(self.addresses[node]))
        elif argv == ["iptables-save"]:
            out = self.rules[node]
        elif argv[:3] == ["ip", "route", "del"]:
            self.routes[node].discard(" ".join(argv[3:]))
        elif argv[:3] == ["ip", "route", "replace"]:
            self.routes[node].add(" ".join(argv[3:]))
        elif argv[:3] == ["ip", "addr", "del"]:
            self.addresses[node].discard((argv[5], argv[3]))
        elif argv[:3] == ["ip", "addr", "add"]:
            self.addresses[node].add((argv[5], argv[3]))
        elif argv == ["iptables-restore"]:
            self.rules[node] = input
        return subprocess.CompletedProcess(argv, 0, out, "")


def test_restore_undoes_what_the_student_changed_and_nothing_else():
    lab = FakeNodes(registry.load("tests/topologies/chain.py"))
    saved = checkpoint.take(lab)
    assert saved.tags == {}                      # chain has no VLANs
    lab.routes["r1"].add("10.77.0.0/16 via 10.9.0.12 dev r1-eth0")
    lab.routes["pc1"].clear()
    lab.addresses["pc2"].add(("pc2-eth0", "10.9.0.13/32"))
    lab.rules["r2"] = "*filter\n-A FORWARD -j DROP\nCOMMIT\n"
    changed = checkpoint.restore(lab, saved)
    assert sorted(changed) == ["pc1: route default via 10.9.0.1 dev pc1-eth0 put back",
                               "pc2: address 10.9.0.13/32 on pc2-eth0 removed",
                               "r1: route 10.77.0.0/16 via 10.9.0.12 dev r1-eth0 removed",
                               "r2: iptables rules restored"]
    assert checkpoint.take(lab) == saved
    assert checkpoint.restore(lab, saved) == []


def test_a_table_the_student_brought_into_use_is_emptied_on_restore():
    saved = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o e1 -j MASQUERADE\nCOMMIT\n"
    now = saved + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n" \
        "-A FORWARD -p icmp -j DROP\nCOMMIT\n"
    text = checkpoint.restoring(saved, now)
    assert text.startswith(saved)
    assert text[len(saved):] == ("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
                                 ":OUTPUT ACCEPT [0:0]\nCOMMIT\n")
    assert checkpoint.restoring(saved, saved) == saved
