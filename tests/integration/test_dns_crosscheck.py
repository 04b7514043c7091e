"""The dnslib resolver against Debian's unbound, inside the same emulated
network and from the same root hints: the same answers, name by name."""

from __future__ import annotations

import pytest

from orchestrator.lab import Lab
from orchestrator.model import registry
from services.base import Context
from services.unbound import UnboundReference
from topologies.internet import ROOT_HINTS

from .labtools import dig, records

pytestmark = pytest.mark.root

UNBOUND_PORT = 5353

NAMES = [
    ("www.baidu.com", "A"),          # an A record under a delegation
    ("news.baidu.com", "A"),         # a CNAME chain
    ("nosuch.baidu.com", "A"),       # NXDOMAIN
    ("ns1.baidu.com", "A"),          # the name server of the delegation
    ("baidu.com", "NS"),
    ("www.baidu.com", "MX"),         # NODATA
    ("many.baidu.com", "A"),         # truncated over UDP: TCP upstream
    ("nosuch.com", "A"),             # NXDOMAIN from the com. server
]


@pytest.fixture(scope="module")
def lab(untouched_machine_module):
    with Lab(registry.load("enterprise")) as running:
        pubdns = running.topo.node("pubdns")
        base = running.run.path / "nodes" / "pubdns"
        unbound = UnboundReference(Context(running.topo, pubdns, None, base / "unbound",
                                           base / "etc"),
                                   listen="8.8.8.8", port=UNBOUND_PORT, root_hints=ROOT_HINTS)
        running.services.add(unbound)
        yield running


@pytest.mark.parametrize("name,qtype", NAMES, ids=[f"{n}/{t}" for n, t in NAMES])
def test_dnslib_resolver_agrees_with_unbound(lab, name, qtype):
    ours = dig(lab, "xiaoming", "8.8.8.8", name, qtype)
    reference = dig(lab, "xiaoming", "8.8.8.8", name, qtype, port=UNBOUND_PORT)
    assert reference["status"] is not None, "unbound did not answer"
    assert ours["status"] == reference["status"]
    assert records(ours) == records(reference)
    assert {r[1] for r in ours["authority"]} <= {r[1] for r in reference["authority"]} | {"SOA"}
