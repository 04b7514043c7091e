"""The relay race in a user's own pytest suite, with flowlab's plugin and
assertion library: what the README shows.  One DISCOVER in the flat network
gets two OFFERs, one through each relay, for one transaction id."""

from __future__ import annotations

import pytest

from orchestrator.packets import dhcp, expect

pytestmark = [pytest.mark.root, pytest.mark.flowlab(topology="enterprise", vlans=False)]


def test_one_discover_two_offers_two_giaddrs(flowlab_lab, flowlab_capture):
    with flowlab_capture([("xiaoming", "xiaoming-eth0")], "udp port 67 or udp port 68") as cap:
        flowlab_lab.restart_dhcp_client("xiaoming")
    wire = cap["xiaoming-eth0"]
    discover = expect(wire).first(dhcp(type="DISCOVER", chaddr="02:00:0a:01:01:02"))
    offers = expect(wire).count(dhcp(type="OFFER", xid=discover.dhcp.xid), exactly=2)
    assert {offer.dhcp.giaddr for offer in offers} == {"10.1.1.1", "10.1.2.1"}
    assert {offer.dhcp.yiaddr.rsplit(".", 1)[0] for offer in offers} == {"10.1.1", "10.1.2"}
