"""release: the client gives its lease back (unicast to the server) and the
server's lease database frees it.
"""

from __future__ import annotations

import re
from pathlib import Path

from services.dhcp_client import DHCP_CLIENT

from ...errors import LabError
from ...lab import Lab
from ...model import pools
from ...packets import (
    ExpectationFailed,
    Packets,
    dhcp,
    expect,
)
from ..base import Check, CheckContext
from ..footprint import Footprint
from .common import (
    RELEASING,
    ZERO,
    Client,
    client_bpf,
    client_footprint,
    client_plan,
    copies_note,
    relayed_copies,
    wire_points,
)


def judge_release(client_wire: Packets, server_wire: Packets, c: Client) -> str:
    """DHCPRELEASE: ciaddr and server identifier set, unicast from the
    client's address to the server (through its gateway), and no answer."""
    release = expect(client_wire).first(
        dhcp(type="RELEASE", chaddr=c.mac, ciaddr=c.address, yiaddr=ZERO,
             server_id=c.server_id, src=c.address, dst=c.server_id, sport=68, dport=67,
             mac_dst=c.gateway_mac))
    xid = release.dhcp.xid
    expect(server_wire).first(dhcp(type="RELEASE", xid=xid, ciaddr=c.address, src=c.address,
                                   giaddr=ZERO, dst=c.server_id))
    for wire in (client_wire, server_wire):
        expect(wire).none(dhcp(xid=xid, op="BOOTREPLY"))
    copies = relayed_copies(server_wire, "RELEASE", c, xid)
    return (f"RELEASE ciaddr {c.address} server id {c.server_id}, {release.ip.src}:68 > "
            f"{release.ip.dst}:67 via {release.eth.dst}, unanswered"
            + copies_note(copies, c, False))


def lease_state(kind: str, text: str, address: str) -> str | None:
    """What a server's lease database says of ``address``: "active", "free"
    (dhcpd's binding states), or None when it holds no entry."""
    if kind == "dnsmasq":       # expiry mac address name client-id, one lease a line
        held = any(line.split()[2:3] == [address] for line in text.splitlines())
        return "active" if held else None
    state = None                # dhcpd.leases: the last block of an address wins
    blocks = re.compile(rf"^lease {re.escape(address)} \{{(.*?)^\}}", re.MULTILINE | re.DOTALL)
    for block in blocks.finditer(text):
        found = re.search(r"^\s*binding state (\w+);", block.group(1), re.MULTILINE)
        state = found.group(1) if found else state
    return state


def judge_lease_freed(kind: str, before_text: str, after_text: str, address: str) -> str:
    """Supplemental: the server's lease database no longer holds the lease."""
    was, now = lease_state(kind, before_text, address), lease_state(kind, after_text, address)
    if now == "active":
        raise ExpectationFailed(f"the server's lease database still holds {address} as active "
                                "after the RELEASE")
    if kind == "dnsmasq":
        if was != "active":
            raise ExpectationFailed(f"dnsmasq's lease file held no lease of {address} before "
                                    "the RELEASE")
        return f"dnsmasq's lease file held {address} before, not after"
    if now is None:
        return (f"dhcpd.leases holds no lease of {address} before or after: ISC dhcpd keeps "
                f"none for a fixed-address host")
    return f"dhcpd.leases: {address} binding state {was or 'none'} -> {now}"


def lease_database(lab: Lab, server: str) -> tuple[str, str]:
    """(backend, text of its lease database) of the DHCP server on ``server``."""
    backend, path = pools.lease_database(lab, server)
    return backend, path.read_text()


def release_lease(lab: Lab, node: str) -> None:
    """Stop the PC's dhclient and run ``dhclient -r`` with its own files: it
    sends DHCPRELEASE for the lease in its lease file, and its hook takes the
    address away.  The pid file goes first, so that -r signals nobody."""
    client = lab.services.find(DHCP_CLIENT, node)
    if client.daemon.name != "dhclient":
        raise LabError(f"release runs 'dhclient -r'; {node} runs {client.daemon.name}")
    lab.services.stop(client)
    argv = list(client.launch.argv)
    Path(argv[argv.index("-pf") + 1]).unlink(missing_ok=True)
    argv[argv.index("-d")] = "-r"
    done = lab.run_in(node, argv, timeout=20)
    if done.returncode != 0:
        raise LabError(f"dhclient -r on {node} failed: {done.stderr.strip()[-300:]}")


class Release(Check):
    """A PC gives its lease back; then it binds again, as it was."""

    name = "release"
    summary = "DHCPRELEASE (ciaddr, server id, unicast to the server) frees the lease"
    topologies = ("enterprise",)
    vlans = True

    def footprint(self, lab: Lab) -> Footprint:
        return client_footprint([client_plan(lab, RELEASING)], arp=True)

    def run(self, ctx: CheckContext) -> str:
        c = client_plan(ctx.lab, RELEASING)
        kind, held = lease_database(ctx.lab, c.server)
        try:
            with ctx.capture(wire_points(c), client_bpf(c, arp=True)) as cap:
                release_lease(ctx.lab, c.node)
            _, freed = lease_database(ctx.lab, c.server)
        finally:
            ctx.lab.restart_dhcp_client(c.node, fresh=True)
        evidence = judge_release(cap[c.iface], cap[c.server_iface], c)
        return f"{c.node}: {evidence}; {judge_lease_freed(kind, held, freed, c.address)}"
