"""starvation: one host empties a DHCP pool in the name of 1,000 made-up
machines, and the reservations still work.

For every pool of the model with a host in its broadcast domain to attack
from (an end host other than the server, one without a reservation there
if it can), that host runs :mod:`services.tools.dhcp_starvation`:
DISCOVERs from 1,000 made-up MACs at a paced rate, a REQUEST for every
OFFER, so that the addresses are really leased (Yersinia's and dhcpstarv's
attack).  The verdict comes from the attacker's capture and the server's
own lease database, not from the attacker's account:

* the lease database holds every address of the pool (else the pool was
  not exhausted: N of M addresses leased, and the check fails);
* on the wire, made-up MACs went without an OFFER, the last of the attack
  among them: the server stopped OFFERing (a NAK for a REQUEST is counted
  too), and every pool address the database gives a made-up MAC was ACKed
  in the capture;
* each reserved client of the pool, restarted after the attack, is ACKed
  its reserved address: a reservation does not come from the pool.

It is **opt-in**: ``verify`` runs it only when named (``verify --check
starvation``), and it does not restore the server: the attack's leases
stay for their lease time, so later DHCP checks on the same lab would find
the pool empty.  Name it last when running it beside other checks.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from services.base import python_module
from services.dhcp_client import DHCP_CLIENT
from services.lease import ServerLease
from services.tools.dhcp_starvation import Tally, made_up_macs

from ...capture.tcpdump import point_label
from ...errors import LabError
from ...model import Interface, Router, Topology
from ...model.domains import broadcast_domains, link_subnet
from ...model.pools import Pool, held_leases, pools
from ...packets import ExpectationFailed, Packets, dhcp, expect
from ..base import Check, CheckContext
from .common import DHCP_BPF

ATTACK = 1000                    # made-up MACs
RATE = 400.0                     # DISCOVERs a second: the attack lasts 2.5 s
WAIT = 2.0                       # seconds to take OFFERs after the last DISCOVER
PREFIX = "02:5a:00:00"           # locally administered: no real card has these
SHOWN = 5                        # made-up MACs an evidence line names


@dataclass(frozen=True)
class Reserved:
    node: str
    iface: str
    mac: str
    address: str


@dataclass(frozen=True)
class Target:
    """A pool, the host that attacks it and the reservations beside it."""

    pool: Pool
    attacker: str
    attacker_iface: str
    reserved: tuple[Reserved, ...]


def _in_domain(topo: Topology, pool: Pool) -> list[Interface]:
    """The interfaces of the broadcast domain where ``pool``'s clients sit."""
    for domain in broadcast_domains(topo):
        if any(link_subnet(topo, i) == pool.network
               or (i.address is not None and i.address.network == pool.network)
               for i in domain.interfaces):
            return domain.interfaces
    return []


def _reserved_here(iface: Interface, pool: Pool) -> bool:
    return bool(iface.dhcp and iface.dhcp.server == pool.server
                and iface.dhcp.reserve is not None and iface.dhcp.reserve in pool.network)


def targets(topo: Topology) -> list[Target]:
    """Every pool with a host to attack it from, in model order."""
    found = []
    for pool in pools(topo):
        here = _in_domain(topo, pool)
        hosts = [i for i in here if i.node != pool.server
                 and not isinstance(topo.find(i.node), Router)]
        candidates = [i for i in hosts if not _reserved_here(i, pool)] or hosts
        if not candidates:
            continue
        reserved = tuple(Reserved(i.node, i.name, i.mac.lower(), str(i.dhcp.reserve))
                         for i in here if _reserved_here(i, pool) and i.mac)
        found.append(Target(pool, candidates[0].node, candidates[0].name, reserved))
    return found


def prefix_for(topo: Topology) -> str:
    """PREFIX, unless a MAC of the model starts with it: then the next free one."""
    taken = {i.mac.lower()[:11] for i in topo.interfaces() if i.mac}
    for number in range(256):
        prefix = f"{PREFIX[:8]}:{number:02x}"
        if prefix not in taken:
            return prefix
    raise LabError("every made-up MAC prefix 02:5a:00:xx is taken by the model's MACs")


# -- the judges: packets and the lease database ----------------------------------------------

def _macs_shown(macs: list[str]) -> str:
    more = len(macs) - SHOWN
    return ", ".join(macs[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def judge_starvation(wire: Packets, made_up: list[str], pool: Pool,
                     leases: list[ServerLease]) -> str:
    """The pool exhausted: from the lease database (every pool address
    held) and from the attacker's capture (the server stopped OFFERing,
    what the database gives made-up MACs was ACKed on the wire)."""
    ours = set(made_up)
    messages = [p for p in wire if p.dhcp is not None and p.dhcp.chaddr in ours]
    discovered: dict[str, float] = {}
    offered, acked, naked = set(), {}, set()
    for p in messages:
        kind, mac = p.dhcp.type, p.dhcp.chaddr
        if kind == "DISCOVER" and p.dhcp.op == "BOOTREQUEST":
            discovered.setdefault(mac, p.time)
        elif kind == "OFFER":
            offered.add(mac)
        elif kind == "ACK":
            acked[mac] = p.dhcp.yiaddr
        elif kind == "NAK":
            naked.add(mac)
    in_pool = [l for l in leases if l.address in pool]
    held = {l.address for l in in_pool}
    asked = (f"{len(discovered)} made-up MACs sent DISCOVERs, {len(offered)} were OFFERed, "
             f"{len(acked)} ACKed, {len(naked)} NAKed")
    if len(discovered) < len(made_up):
        raise ExpectationFailed(
            f"only {len(discovered)} of the {len(made_up)} made-up MACs' DISCOVERs are in the "
            f"attacker's capture: the attack did not run in full")
    if len(held) < pool.size:
        raise ExpectationFailed(
            f"{pool.describe()} was not exhausted: {len(held)} of {pool.size} addresses "
            f"leased after the attack ({asked})")
    unanswered = [mac for mac in sorted(discovered, key=discovered.get) if mac not in offered]
    if not unanswered:
        raise ExpectationFailed(
            f"the server OFFERed to every one of the {len(discovered)} made-up MACs, though "
            f"its lease database holds all {pool.size} addresses of {pool.describe()}")
    last = max(discovered, key=discovered.get)
    if last in offered:
        raise ExpectationFailed(
            f"the server still OFFERed at the end of the attack (to {last}, the last made-up "
            f"MAC): the pool did not run dry on the wire ({asked})")
    taken = sorted(l.address for l in in_pool if l.mac in ours)
    unseen = [a for a in taken if str(a) not in set(acked.values())]
    if unseen:
        raise ExpectationFailed(
            f"the lease database gives made-up MACs {', '.join(map(str, unseen[:SHOWN]))}, "
            f"which no ACK in the attacker's capture gave")
    tail = 0
    for mac in sorted(discovered, key=discovered.get, reverse=True):
        if mac in offered:
            break
        tail += 1
    return (f"{pool.describe()} exhausted: {asked}; the last {tail} DISCOVERs got no OFFER "
            f"(from {_macs_shown(unanswered[-tail:])}); the lease database holds all "
            f"{pool.size} ({len(taken)} taken by the attack)")


def judge_reserved(wires: dict[str, Packets], reserved: tuple[Reserved, ...]) -> str:
    """Each reserved client, restarted after the attack, ACKed its address."""
    if not reserved:
        return "no reservation beside the pool to renew"
    said = []
    for r in reserved:
        ack = expect(wires[r.node]).first(dhcp(type="ACK", chaddr=r.mac, yiaddr=r.address))
        said.append(f"{r.node} ACKed {ack.dhcp.yiaddr}")
    return "after it " + ", ".join(said)


# -- the check --------------------------------------------------------------------------------

class Starvation(Check):
    """DHCP starvation from a host of each pool's broadcast domain (opt-in)."""

    name = "starvation"
    summary = ("1,000 made-up MACs empty each DHCP pool (no OFFER for the last, every address "
               "in the lease database); reserved clients still get their addresses")
    opt_in = True

    def applies_to(self, topo: Topology) -> bool:
        return bool(targets(topo))

    def why_not(self, topo: Topology) -> str:
        if not pools(topo):
            return "no DHCP server of it declares a pool"
        return "no pool has a host in its broadcast domain to attack from"

    def run(self, ctx: CheckContext) -> str:
        prefix = prefix_for(ctx.lab.topo)
        made_up = made_up_macs(ATTACK, prefix)
        said = []
        for target in targets(ctx.lab.topo):
            with ctx.capture([(target.attacker, target.attacker_iface)], DHCP_BPF) as attack:
                tally = run_attack(ctx, target, prefix)
            _path, leases = held_leases(ctx.lab, target.pool.server)
            points = [(r.node, r.iface) for r in target.reserved]
            wires = {}
            if points:
                with ctx.capture(points, DHCP_BPF) as renewal:
                    instances = [ctx.lab.services.find(DHCP_CLIENT, r.node, r.iface)
                                 for r in target.reserved]
                    ctx.lab.services.restart_dhcp_clients(instances, fresh=True)
                wires = {r.node: renewal[point_label(r.node, r.iface)]
                         for r in target.reserved}
            wire = attack[point_label(target.attacker, target.attacker_iface)]
            said.append(f"from {target.attacker} ({tally.seconds:.1f} s): "
                        f"{judge_starvation(wire, made_up, target.pool, leases)}; "
                        f"{judge_reserved(wires, target.reserved)}")
        return "; ".join(said)


def run_attack(ctx: CheckContext, target: Target, prefix: str) -> Tally:
    """The attacker's module inside its node; its one JSON line of counts
    (the attacker's own account: the verdict is the capture's)."""
    argv = python_module("services.tools.dhcp_starvation", target.attacker_iface, str(ATTACK),
                         str(RATE), str(WAIT), prefix)
    done = subprocess.run(ctx.lab.exec_argv(target.attacker, argv), capture_output=True,
                          text=True, timeout=ATTACK / RATE + WAIT + 90)
    if done.returncode != 0:
        raise LabError(f"the starvation attack on {target.attacker} failed: "
                       f"{done.stderr.strip()[-500:]}")
    return Tally(**json.loads(done.stdout.strip().splitlines()[-1]))


CHECKS = [Starvation]
