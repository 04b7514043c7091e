"""``--no-vlan``: the access switch is flat, and the five of the texts share
one broadcast domain (the relay race set-up)."""

from __future__ import annotations

import pytest

from orchestrator.lab import Lab
from orchestrator.model import TopologyOptions, registry

from .labtools import broadcast_from_xiaoming

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def flat_enterprise():
    with Lab(registry.load("enterprise", TopologyOptions(vlans=False))) as lab:
        yield lab


def test_no_vlan_joins_one_broadcast_domain(flat_enterprise):
    heard = broadcast_from_xiaoming(flat_enterprise)
    assert heard["xiaomei"] >= 1 and heard["xiaoli"] >= 1 and heard["gw2"] >= 1
