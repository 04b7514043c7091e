"""inform: a host with an address configured by hand asks only for its
configuration parameters (DHCPINFORM) and gets an ACK without a lease.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from services.base import python_module

from ...errors import LabError
from ...lab import Lab
from ...packets import (
    Packets,
    absent,
    dhcp,
    expect,
)
from ..base import Check, CheckContext
from ..footprint import Footprint
from .common import (
    BROADCAST_IP,
    HAND_OCTET,
    INFORMING,
    ZERO,
    Client,
    client_bpf,
    client_footprint,
    client_plan,
    wire_points,
)


def inform_argv(c: Client, address: str, xid: int) -> list[str]:
    """The DHCPINFORM sender (:mod:`services.tools.dhcp_inform`) run in the PC."""
    return python_module("services.tools.dhcp_inform", c.iface, address, c.mac, f"{xid:08x}")


def hand_address(c: Client) -> str:
    """The hand-configured address: host .50 of the client's subnet, outside
    its pool and reservations (validation keeps reservations out of pools)."""
    return str(c.subnet.network.network_address + HAND_OCTET)


@contextlib.contextmanager
def configured_by_hand(lab: Lab, c: Client, address: str) -> Iterator[None]:
    """``address`` added by hand beside the PC's lease, removed afterwards with
    what the neighbours learned of it."""
    prefix = c.subnet.network.prefixlen
    added = lab.run_in(c.node, ["ip", "-4", "addr", "add", f"{address}/{prefix}",
                                "dev", c.iface])
    if added.returncode != 0:
        raise LabError(f"cannot add {address} to {c.node}: {added.stderr.strip()}")
    try:
        yield
    finally:
        lab.run_in(c.node, ["ip", "-4", "addr", "del", f"{address}/{prefix}", "dev", c.iface])
        near, iface = (c.relay.node, c.relay.lan) if c.relay else (c.server, c.server_iface)
        lab.run_in(near, ["ip", "neigh", "del", address, "dev", iface])


def judge_inform(host_wire: Packets, server_wire: Packets, c: Client, address: str) -> str:
    """DHCPINFORM with ciaddr from a configured host, and an ACK with the
    configuration but no yiaddr and no lease time, back on the host's wire."""
    inform = expect(host_wire).first(
        dhcp(type="INFORM", chaddr=c.mac, ciaddr=address, yiaddr=ZERO, src=address,
             sport=68, dport=67))
    xid = inform.dhcp.xid
    arrived = expect(server_wire).first(dhcp(type="INFORM", xid=xid, ciaddr=address,
                                             dst=c.server_id, dport=67))
    config = {"xid": xid, "ciaddr": address, "yiaddr": ZERO, "lease_time": absent,
              "subnet_mask": c.mask, "router": c.router, "dns_servers": c.dns,
              "server_id": c.server_id}
    sent = expect(server_wire).first(dhcp(type="ACK", src=c.server_id, sport=67, **config))
    got = expect(host_wire).first(dhcp(type="ACK", dport=68, dst={address, BROADCAST_IP},
                                       **config))
    via = (f"relayed by {c.relay.node} (giaddr {arrived.dhcp.giaddr})"
           if c.relay and arrived.dhcp.giaddr != ZERO else "straight to the server")
    if sent.ip.dst == address:
        path = f"the server answered ciaddr straight: {sent.ip.src} > {sent.ip.dst}"
    else:
        path = f"the server answered the relay ({sent.ip.dst}), which sent it to {got.ip.dst}"
    return (f"INFORM from {address} (ciaddr {address}, chaddr {c.mac}) {via}; ACK with "
            f"yiaddr 0.0.0.0, no lease time, mask {c.mask} router {c.router} dns "
            f"{' '.join(c.dns)}; {path}")


class Inform(Check):
    """A hand-configured host asks for configuration only."""

    name = "inform"
    summary = "DHCPINFORM with ciaddr; ACK with configuration, yiaddr 0.0.0.0 and no lease time"
    topologies = ("enterprise",)
    vlans = True

    def footprint(self, lab: Lab) -> Footprint:
        # the hand-configured address is added beside the PC's lease: a change
        return client_footprint([client_plan(lab, INFORMING)])

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, INFORMING)
        address = hand_address(c)
        xid = int.from_bytes(os.urandom(4), "big")
        with configured_by_hand(ctx.lab, c, address), \
                ctx.capture(wire_points(c), client_bpf(c)) as cap:
            ctx.lab.run_in(c.node, inform_argv(c, address, xid), timeout=20)
        return judge_inform(cap[c.iface], cap[c.server_iface], c, address)
