"""renew: at T1 the client asks its server again, unicast and without the
relay, and keeps its address.
"""

from __future__ import annotations

from ...packets import (
    ExpectationFailed,
    Packets,
    absent,
    dhcp,
    expect,
)
from ..base import Check, CheckContext
from ..footprint import Footprint
from .common import (
    RENEW_POLL,
    ZERO,
    Client,
    after,
    client_bpf,
    client_footprint,
    copies_note,
    lease_up_to,
    relayed_copies,
    renewing_client,
    wire_points,
)


def renew_window(t1: int) -> tuple[float, float]:
    """When a renewal may come after the ACK.  ISC dhclient fuzzes T1: it
    renews (3 T1 + 3) / 4 + (random % T1 + 3) / 4 whole seconds after the
    second it got the ACK in, at a random microsecond of that second
    (client/dhclient.c, dhcpack and bind_lease): so 7 to 12 s after the ACK
    for T1 = 10, a quarter of a second either side for latency."""
    base = (3 * t1 + 3) // 4
    return base - 1 - 0.25, base + (t1 - 1 + 3) // 4 + 1 + 0.25


def judge_renew(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """At T1 the client unicasts REQUEST with ciaddr straight to the server
    (not broadcast, not through the relay), the server ACKs it straight back,
    and the lease runs from then on."""
    bound = expect(client_wire).first(dhcp(type="ACK", chaddr=c.mac, yiaddr=c.address,
                                           ciaddr=ZERO, t1=c.renew_time))
    request = expect(after(client_wire, bound)).first(
        dhcp(type="REQUEST", chaddr=c.mac, ciaddr=c.address, src=c.address, dst=c.server_id,
             sport=68, dport=67, giaddr=ZERO, mac_dst=c.gateway_mac, broadcast=False,
             requested_ip=absent, server_id=absent))
    low, high = renew_window(c.renew_time)
    waited = request.time - bound.time
    if not low <= waited <= high:
        raise ExpectationFailed(f"the renewal came {waited:.1f} s after the ACK with T1 "
                                f"{c.renew_time} s, outside {low:g}-{high:g} s",
                                f"  {bound.describe()}\n  {request.describe()}")
    xid = request.dhcp.xid
    straight = {"xid": xid, "giaddr": ZERO}
    _arrived, answer = expect(server_wire).in_order(
        [dhcp(type="REQUEST", ciaddr=c.address, src=c.address, dst=c.server_id, **straight),
         dhcp(type="ACK", yiaddr=c.address, src=c.server_id, dst=c.address, dport=68,
              lease_time=lease_up_to(c), **straight)])
    ack = expect(after(client_wire, request)).first(
        dhcp(type="ACK", yiaddr=c.address, src=c.server_id, dst=c.address, dport=68,
             **straight))
    old_end = bound.time + bound.dhcp.lease_time
    new_end = ack.time + ack.dhcp.lease_time
    if new_end <= old_end:
        raise ExpectationFailed(f"the renewal did not extend the lease: it ends {new_end:.0f}, "
                                f"the first one {old_end:.0f}")
    copies = relayed_copies(server_wire, "REQUEST", c, xid)
    return (f"{c.node}: ACK with T1 {c.renew_time} s, then {waited:.1f} s later REQUEST "
            f"ciaddr {c.address} {request.ip.src} > {request.ip.dst} (to {request.eth.dst}, "
            f"giaddr 0), ACK {answer.ip.src} > {answer.ip.dst} lease {ack.dhcp.lease_time} s: "
            f"extended by {new_end - old_end:.1f} s" + copies_note(copies, c, True))


def wait_for_renewal(ctx: CheckContext, c: Client, since: float) -> None:
    """Wait (protocol time) until the client's hook records a renewal, at most
    to the end of the window its T1 allows; the packets judge the rest."""
    client = ctx.lab.services.dhcp_client(c.node)
    _, high = renew_window(c.renew_time)
    while ctx.protocol_wait - since < high + 1.0:
        record = client.lease()
        if record and record.event == "renew":
            return
        ctx.wait(RENEW_POLL)


class Renew(Check):
    """The PC with a short T1 renews by unicast straight to the server."""

    name = "renew"
    summary = "at T1 a unicast REQUEST with ciaddr straight to the server, ACK, lease extended"
    topologies = ("enterprise",)
    vlans = True

    idle_wait = 8.0

    def footprint(self, lab) -> Footprint:
        return client_footprint([renewing_client(lab)], arp=True)

    def run(self, ctx: CheckContext) -> str:
        c = renewing_client(ctx.lab)
        with ctx.capture(wire_points(c), client_bpf(c, arp=True)) as cap:
            ctx.lab.restart_dhcp_client(c.node, fresh=True)
            wait_for_renewal(ctx, c, ctx.protocol_wait)
        return judge_renew(cap[c.iface], cap[c.server_iface], c)
