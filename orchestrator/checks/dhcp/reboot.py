"""init-reboot: a client that remembers its lease asks for it again with a
REQUEST and no DISCOVER; and its NAK case, a remembered address of another
subnet, refused, after which the client starts over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from services.dhcp_server import DHCP_SERVER

from ...errors import LabError
from ...lab import Lab
from ...packets import (
    ExpectationFailed,
    Matcher,
    Packets,
    absent,
    dhcp,
    expect,
)
from ..base import Check, CheckContext
from ..footprint import Footprint
from .common import (
    HAND_OCTET,
    REBOOTING,
    ZERO,
    Client,
    client_bpf,
    client_footprint,
    client_plan,
    delivered,
    from_unconfigured,
    relayed,
    to_relay,
)


def reboot_request(c: Client, address: str) -> Matcher:
    """INIT-REBOOT: a broadcast REQUEST for the address it remembers, option 50,
    and no server identifier (it is not answering an OFFER)."""
    return from_unconfigured(type="REQUEST", chaddr=c.mac, requested_ip=address,
                             server_id=absent)


def judge_init_reboot(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """A client with a valid lease: REQUEST (option 50) and ACK, no DISCOVER."""
    flag = expect(client_wire).first(reboot_request(c, c.address)).dhcp.broadcast
    request, _ack = expect(client_wire).sequence(
        [reboot_request(c, c.address),
         delivered(c, flag, type="ACK", yiaddr=c.address, server_id=c.server_id)],
        kind=dhcp(chaddr=c.mac), only=True)
    xid = request.dhcp.xid
    if c.relay:
        expect(server_wire).sequence([relayed(c, type="REQUEST", requested_ip=c.address),
                                      to_relay(c, type="ACK", yiaddr=c.address)],
                                     kind=dhcp(xid=xid))
    return (f"REQUEST xid 0x{xid:08x} for {c.address} (option 50, no server id) and ACK, "
            f"no DISCOVER")


def judge_init_reboot_nak(client_wire: Packets, server_wire: Packets, c: Client,
                          claimed: str) -> str:
    """A client remembering an address that is not valid on its subnet: its
    REQUEST is NAKed, and it starts over with DISCOVER and gets its own."""
    request, nak, discover, *_ = expect(client_wire).sequence(
        [reboot_request(c, claimed),
         dhcp(type="NAK", yiaddr=ZERO, server_id=c.server_id, sport=67, dport=68),
         from_unconfigured(type="DISCOVER", chaddr=c.mac),
         dhcp(type="OFFER", yiaddr=c.address),
         from_unconfigured(type="REQUEST", requested_ip=c.address, server_id=c.server_id),
         dhcp(type="ACK", yiaddr=c.address)],
        kind=dhcp(chaddr=c.mac), only=True)
    if nak.dhcp.xid != request.dhcp.xid:
        raise ExpectationFailed(f"the NAK (xid 0x{nak.dhcp.xid:08x}) does not answer the "
                                f"REQUEST (xid 0x{request.dhcp.xid:08x})")
    if c.relay:
        expect(server_wire).sequence([relayed(c, type="REQUEST", requested_ip=claimed),
                                      to_relay(c, type="NAK")],
                                     kind=dhcp(xid=request.dhcp.xid))
    reason = f" ({nak.dhcp.message!r})" if nak.dhcp.message else ""
    return (f"claiming {claimed}: REQUEST, NAK{reason} to {nak.ip.dst}, then DISCOVER xid "
            f"0x{discover.dhcp.xid:08x} and ACK of {c.address}")


def other_subnet_address(c: Client, lab: Lab) -> str:
    """An address of another subnet the same server serves (host .50): valid
    there, not on the client's subnet."""
    params = next(s.params for s in lab.topo.node(c.server).services
                  if s.kind == DHCP_SERVER)
    for subnet in params["subnets"]:
        if subnet.network != c.subnet.network:
            return str(subnet.network.network_address + HAND_OCTET)
    raise LabError(f"{c.server} serves no subnet besides {c.subnet.network}")


@contextlib.contextmanager
def remembering(lab: Lab, c: Client, claimed: str) -> Iterator[None]:
    """Make the client's lease file remember ``claimed`` instead of its
    address, as if it had moved from another VLAN; afterwards start it over
    (fresh), which leaves it bound to its reservation with a clean lease file."""
    client = lab.services.dhcp_client(c.node)
    if client.name != "dhclient":
        raise LabError(f"init-reboot edits dhclient's lease file; {c.node} runs {client.name}")
    path = Path(client.lease_file)
    text = path.read_text()
    held = f"fixed-address {c.address};"
    if held not in text:
        raise LabError(f"{path} holds no lease of {c.address}")
    try:
        path.write_text(text.replace(held, f"fixed-address {claimed};"))
        yield
    finally:
        lab.restart_dhcp_client(c.node, fresh=True)


class InitReboot(Check):
    """A PC restarts with its lease: REQUEST with option 50, no DISCOVER, ACK;
    with a lease of another VLAN: NAK, then DISCOVER."""

    name = "init-reboot"
    summary = "INIT-REBOOT: REQUEST (option 50), ACK, no DISCOVER; a moved address: NAK, DISCOVER"
    topologies = ("enterprise",)
    vlans = True

    def footprint(self, lab: Lab) -> Footprint:
        return client_footprint([client_plan(lab, REBOOTING)])

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, REBOOTING)
        points = [(c.node, c.iface), (c.server, c.server_iface)]
        with ctx.capture(points, client_bpf(c)) as kept:
            ctx.lab.restart_dhcp_client(c.node, fresh=False)
        held = judge_init_reboot(kept[c.iface], kept[c.server_iface], c)
        claimed = other_subnet_address(c, ctx.lab)
        with remembering(ctx.lab, c, claimed), ctx.capture(points, client_bpf(c)) as moved:
            ctx.lab.restart_dhcp_client(c.node, fresh=False)
        nak = judge_init_reboot_nak(moved[c.iface], moved[c.server_iface], c, claimed)
        return f"{c.node}: {held}; {nak}"
