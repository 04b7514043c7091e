"""A hundred DHCP hosts in one lab (the shipped scale topology): up with a
lease each, every address distinct and in the pool, as the server's own
lease database says too; nothing of it left afterwards."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from orchestrator.lab import Lab, LabSettings
from orchestrator.model import TopologyOptions, registry
from topologies import scale

pytestmark = pytest.mark.root


def test_a_hundred_dhcp_hosts_come_up_each_with_its_lease(untouched_machine):
    topo = registry.load("scale", TopologyOptions(guests=100))
    with Lab(topo, settings=LabSettings()) as lab:
        leases = lab.leases()
        assert len(leases) == 100, sorted(set(f"g{i}" for i in range(1, 101)) -
                                          {node for node, _ in leases})
        addresses = {lease.ip for lease in leases.values()}
        assert len(addresses) == 100
        low, high = (IPv4Address(a) for a in scale.POOL)
        assert all(low <= IPv4Address(a) <= high for a in addresses)
        served = (lab.run.path / "nodes" / "srv" / "dhcp-server" / "leases").read_text()
        assert {line.split()[2] for line in served.splitlines()} == addresses
