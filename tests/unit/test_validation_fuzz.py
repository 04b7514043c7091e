"""Fuzzing validation: 200 broken models, 200 clear errors.

Each model is a shipped or test-tree topology with one random mutation, of
the kinds a user gets wrong: names, addresses, prefixes, VLANs, trunks,
gateways, routes, services and their parameters, DHCP settings.  Every one
must be refused by ``validate`` with a :class:`TopologyError` naming a field
(and a node where one is to blame) — never a traceback from flowlab's own
code, and nothing is created: validation touches no system state.
"""

from __future__ import annotations

import random
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from orchestrator.errors import TopologyError
from orchestrator.model import Interface, Port, Route, Switch, TopologyOptions
from orchestrator.model.validation import validate
from tests.topologies import campus, chain, tworelays
from topologies import arp_lan, enterprise, home

pytestmark = pytest.mark.timeout(120)

BUILDS = [enterprise.build, home.build, arp_lan.build, chain.build, campus.build, tworelays.build]
MODELS = 200


def _interfaces(topo):
    return [e for link in topo.links for e in link.ends if isinstance(e, Interface)]


def _ports(topo):
    return [e for link in topo.links for e in link.ends if isinstance(e, Port)]


def _hosts(topo):
    return topo.hosts()


def mutate(topo, rng: random.Random) -> str:
    """Break ``topo`` in one random way; returns what was done."""
    choices = []
    ifaces = [i for i in _interfaces(topo) if i.address is not None]
    dhcp = [i for i in _interfaces(topo) if i.dhcp is not None]
    ports = _ports(topo)
    hosts = _hosts(topo)
    services = [(h, n) for h in hosts for n, _ in enumerate(h.services)]

    def rename_node():
        node = rng.choice(topo.nodes)
        node.name = rng.choice(["bad name", "9lives", "", "a/b", "x" * 40 if isinstance(
            node, Switch) else "ü", "-dash"])
    choices.append(rename_node)

    def duplicate_node():
        if len(topo.nodes) < 2:
            raise _Skip
        topo.nodes[rng.randrange(1, len(topo.nodes))].name = topo.nodes[0].name
    choices.append(duplicate_node)

    def broken_topology_name():
        topo.name = rng.choice(["../x", "", "a b", "/etc", "x" * 60])
    choices.append(broken_topology_name)

    if ifaces:
        def address_off_subnet():
            iface = rng.choice(ifaces)
            iface.address = IPv4Interface(f"203.0.113.{rng.randrange(1, 250)}/{rng.choice([8, 30])}")
            if iface.address.network == (topo.link_of(iface).subnet or IPv4Network("0.0.0.0/32")):
                raise _Skip
        choices.append(address_off_subnet)

        def duplicate_address():
            a, b = rng.sample(ifaces, 2) if len(ifaces) > 1 else (ifaces[0], None)
            if b is None:
                raise _Skip
            b.address = a.address
        choices.append(duplicate_address)

        def network_address():
            iface = rng.choice(ifaces)
            iface.address = IPv4Interface(f"{iface.address.network.network_address}/"
                                          f"{iface.address.network.prefixlen}")
            if iface.address.network.prefixlen >= 31:
                raise _Skip
        choices.append(network_address)

        def duplicate_mac():
            a, b = rng.sample(_interfaces(topo), 2)
            a.mac = b.mac = "02:00:00:00:00:99"
        choices.append(duplicate_mac)

    if ports:
        def bad_vlan():
            port = rng.choice(ports)
            port.vlan, port.trunk = rng.choice([0, 4095, -3, 99999]), None
        choices.append(bad_vlan)

        def empty_trunk():
            port = rng.choice(ports)
            port.vlan, port.trunk = None, ()
        choices.append(empty_trunk)

    if hosts:
        def gateway_elsewhere():
            host = rng.choice([h for h in hosts if topo.interfaces(h.name)] or [hosts[0]])
            host.gateway = IPv4Address("198.18.255.254")
        choices.append(gateway_elsewhere)

        def route_via_nowhere():
            host = rng.choice(hosts)
            host.routes.append(Route(IPv4Network("10.250.0.0/16"), IPv4Address("198.18.255.253")))
        choices.append(route_via_nowhere)

        def bad_hosts_entry():
            rng.choice(hosts).hosts["x.corp"] = rng.choice(["not-an-ip", "300.1.1.1", ""])
        choices.append(bad_hosts_entry)

    if services:
        def unknown_service():
            host, n = rng.choice(services)
            host.services[n] = replace(host.services[n], kind="ftp")
        choices.append(unknown_service)

        def missing_parameter():
            host, n = rng.choice(services)
            svc = host.services[n]
            required = sorted(_required(svc.kind))
            if not required:
                raise _Skip
            params = dict(svc.params)
            params.pop(rng.choice(required))
            host.services[n] = replace(svc, params=params)
        choices.append(missing_parameter)

        def set_param(kinds, param: str, value) -> None:
            """One service of one of ``kinds`` (None: any) gets ``param`` = ``value``."""
            found = [(h, n) for h, n in services if kinds is None or h.services[n].kind in kinds]
            if not found:
                raise _Skip
            host, n = rng.choice(found)
            svc = host.services[n]
            host.services[n] = replace(svc, params={**svc.params, param: value})

        def unknown_parameter():
            set_param(None, "colour", "blue")
        choices.append(unknown_parameter)

        def wrong_interface_parameter():
            set_param({"dhcp-relay"}, "upstream", "nosuch-eth9")
        choices.append(wrong_interface_parameter)

        def listen_elsewhere():
            set_param({"dns-resolver", "dns-authoritative"}, "listen", "192.0.2.77")
        choices.append(listen_elsewhere)

    if dhcp:
        def dhcp_server_unknown():
            iface = rng.choice(dhcp)
            iface.dhcp = replace(iface.dhcp, server="nobody")
        choices.append(dhcp_server_unknown)

        def reservation_outside():
            iface = rng.choice(dhcp)
            iface.dhcp = replace(iface.dhcp, reserve=IPv4Address("203.0.113.7"),
                                 renew_time=None)
            iface.mac = iface.mac or "02:00:00:00:00:77"
        choices.append(reservation_outside)

        def unknown_client():
            iface = rng.choice(dhcp)
            iface.dhcp = replace(iface.dhcp, client="pump")
        choices.append(unknown_client)

        def bad_lease():
            subnets = [v for v in topo.vlans if v.subnet is not None]
            if not subnets:
                raise _Skip
            vlan = rng.choice(subnets)
            topo.vlans[topo.vlans.index(vlan)] = replace(
                vlan, subnet=replace(vlan.subnet, lease_time=rng.choice([0, -60])))
        choices.append(bad_lease)

        def pool_reversed():
            subnets = [v for v in topo.vlans if v.subnet is not None and v.subnet.pool]
            if not subnets:
                raise _Skip
            vlan = rng.choice(subnets)
            low, high = vlan.subnet.pool
            topo.vlans[topo.vlans.index(vlan)] = replace(
                vlan, subnet=replace(vlan.subnet, pool=(high, low)))
        choices.append(pool_reversed)

    action = rng.choice(choices)
    action()
    return action.__name__


class _Skip(Exception):
    """This mutation does not apply to this model: draw another."""


def _required(kind: str) -> frozenset[str]:
    from services.registry import KINDS
    return frozenset(KINDS[kind].required)


def broken_models():
    rng = random.Random(20261128)
    made = 0
    while made < MODELS:
        build = rng.choice(BUILDS)
        topo = build(TopologyOptions(vlans=rng.random() < 0.8))
        try:
            what = mutate(topo, rng)
        except _Skip:
            continue
        made += 1
        yield build.__module__.rsplit(".", 1)[-1], what, topo


def machine_state() -> tuple:
    """Links and mounts of the machine: validation must create neither."""
    return (sorted(Path("/sys/class/net").iterdir()), Path("/proc/self/mounts").read_text())


def test_two_hundred_broken_models_give_two_hundred_clear_errors():
    before = machine_state()
    crashes, passed, kinds = [], [], set()
    for source, what, topo in broken_models():
        try:
            validate(topo)
        except TopologyError as error:
            assert error.field and str(error), (source, what)
            kinds.add(what)
        except Exception as exc:          # a traceback from flowlab's own code
            crashes.append(f"{source}/{what}: {type(exc).__name__}: {exc}")
        else:
            passed.append(f"{source}/{what}")
    assert not crashes, "\n".join(crashes)
    assert not passed, "validated although broken:\n" + "\n".join(passed)
    assert len(kinds) >= 15, kinds
    assert machine_state() == before
