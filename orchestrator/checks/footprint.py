"""What a check touches while it runs, so that verify can run the checks
whose waits are idle (a lease's T1, TCP's back-off and keepalive) beside
others, and why that is safe.

A footprint names, before the check runs:

* ``changes``: what it changes that another check could notice.  A node's
  name stands for its network state (addresses, routes, neighbours,
  leases: restarting a DHCP client or flushing ARP changes it); a
  ``kind@node`` for one daemon (restarting a resolver cold changes
  ``dns@srv``).
* ``uses``: what it relies on staying as it is: the nodes it sends from or
  to, the routers between them, the nodes it captures on, the daemons it
  asks.
* ``hears``: the traffic its captures admit, as classes: ``dhcp@xiaoli``
  (DHCP whose chaddr is that node's), ``arp@xiaoli`` (ARP about that node's
  addresses), ``tcp/5101-5105``, ``dns``; a class without a qualifier
  (``dhcp``, ``arp``, ``tcp``) admits all of it.  The check's capture
  filters must admit no more than this (:func:`dhcp_filter` writes the
  DHCP one).
* ``makes``: the traffic it sends; ARP about each node it uses or changes
  is implied, since any packet may need a neighbour resolved.

Two checks may run at once when neither changes what the other uses or
changes, and, if they share a node, neither hears a class the other makes.
A check without a footprint (``None``: the default, and any check whose
captures admit everything, such as l2-scope) runs alone.  What the packets
then show is checked again after the run (:mod:`.alongside`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from services.dns_authoritative import DNS_AUTHORITATIVE
from services.dns_cache import DNS_CACHE
from services.dns_resolver import DNS_RESOLVER

from ..model.paths import Network


@dataclass(frozen=True)
class Footprint:
    changes: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    hears: frozenset[str] = frozenset()
    makes: frozenset[str] = frozenset()
    nodes: frozenset[str] = field(init=False)

    def __post_init__(self):
        # the nodes it works on (a daemon's resource names its node)
        names = {r.split("@", 1)[-1] for r in self.changes | self.uses}
        object.__setattr__(self, "nodes", frozenset(names))

    @classmethod
    def of(cls, changes=(), uses=(), hears=(), makes=()) -> "Footprint":
        return cls(frozenset(changes), frozenset(uses), frozenset(hears), frozenset(makes))

    def made(self) -> frozenset[str]:
        """What it sends, with the ARP its packets may need."""
        return self.makes | {f"arp@{node}" for node in self.nodes}


def _split(traffic: str) -> tuple[str, str]:
    kind, _, qualifier = traffic.replace("/", "@", 1).partition("@")
    return kind, qualifier


def _ports(qualifier: str) -> tuple[int, int]:
    low, _, high = qualifier.partition("-")
    return int(low), int(high or low)


def overlaps(a: str, b: str) -> bool:
    """Whether a packet can be of both classes: same protocol, and the
    same node, or overlapping ports, or either unqualified."""
    (kind_a, q_a), (kind_b, q_b) = _split(a), _split(b)
    if kind_a != kind_b:
        return False
    if not q_a or not q_b:
        return True
    if q_a[0].isdigit() and q_b[0].isdigit():
        (low_a, high_a), (low_b, high_b) = _ports(q_a), _ports(q_b)
        return low_a <= high_b and low_b <= high_a
    return q_a == q_b


def _hears_any(hears: frozenset[str], makes: frozenset[str]) -> str | None:
    return next((f"{h} hears {m}" for h in sorted(hears) for m in sorted(makes)
                 if overlaps(h, m)), None)


def conflict(a: Footprint | None, b: Footprint | None) -> str | None:
    """Why two checks may not run at once (None: they may)."""
    if a is None or b is None:
        return "runs alone"
    for one, other in ((a, b), (b, a)):
        touched = one.changes & (other.changes | other.uses)
        touched |= {r for r in one.changes if "@" not in r and r in other.nodes}
        if touched:
            return f"changes {', '.join(sorted(touched))}"
    if a.nodes & b.nodes:
        why = _hears_any(a.hears, b.made()) or _hears_any(b.hears, a.made())
        if why:
            return why
    return None


def route_nodes(net: Network, source: str, destination: str) -> set[str]:
    """The nodes a round trip from ``source`` to ``destination`` (its first
    address with a path) crosses, both ends included."""
    for address in sorted(net.addresses(destination)):
        trip = net.round_trip(source, IPv4Address(address))
        if trip.ok:
            return {h.node for h in trip.there.hops} | {h.node for h in trip.back.hops}
    return {source, destination}


def dhcp_filter(mac: str, address: str | None = None, arp: bool = False) -> str:
    """A capture filter for one client's DHCP (by chaddr, bytes 28-33 of the
    BOOTP message: UDP payload offset 36) and, with ``arp``, the ARP about
    its address (``dhcp@node``, ``arp@node``)."""
    octets = mac.lower().split(":")
    chaddr = (f"udp[36:4] = 0x{''.join(octets[:4])} and udp[40:2] = 0x{''.join(octets[4:])}")
    text = f"((udp port 67 or udp port 68) and {chaddr})"
    if arp:
        text += f" or (arp and host {address})" if address else " or arp"
    return text


DNS_KINDS = (DNS_CACHE, DNS_RESOLVER, DNS_AUTHORITATIVE)


def name_lookups(net: Network, client: str) -> set[str]:
    """What looking a name up from ``client`` may touch, caches being what
    they are: its own cache, every resolver and authoritative server of the
    model (``dns@node``), and the nodes on the way from the client to each."""
    touched: set[str] = set()
    for host in net.topo.hosts():
        kinds = {s.kind for s in host.services} & set(DNS_KINDS)
        if host.name != client:
            kinds.discard(DNS_CACHE)            # another PC's cache is not asked
        if kinds:
            touched |= {f"dns@{host.name}"} | route_nodes(net, client, host.name)
    return touched
