"""The DHCP relay race: reproduce it trial by trial, measure it, show the fix.

Without VLANs, a client's DISCOVER reaches every relay of its broadcast
domain (in ``enterprise``, gw1 and gw2); each relays it with its own address
as giaddr, the server offers an address from each relay's subnet, and the
client takes whichever OFFER arrives first.  Who races is derived from the
model (:func:`plan`), on any topology, and refused before anything is built
where the client's domain holds fewer than two relays.  Each trial starts
the client from a clean state and captures on the client's wire, on both
sides of every racing relay and on the servers they forward to.  The
captures run for the whole series (no tcpdump restarts between trials),
through the same pipeline as the checks (:mod:`.recording`), and are cut
into trials by time, so a trial costs only the protocol.

From the packets alone, per trial: the xid, every OFFER (relay, giaddr,
yiaddr, arrival at the client), the gap between them, the one the client
requested, NAKs and restarts, the final address and subnet, the time to a
bound lease, and what decided the race: at which step of the path
(relaying, the server's order, the way back) the winner got ahead.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Callable

from .capture.recording import Recording
from .capture.tcpdump import describe_drops, point_label
from .errors import FlowlabError
from .lab import Lab
from .model import Interface, Topology
from .model.domains import Domain, broadcast_domains, declared_subnet, link_subnet
from .network import capabilities
from .packets import Packet, Packets, dhcp


class RaceError(FlowlabError):
    exit_status = 2


@dataclass
class Offer:
    """One OFFER and the path of the DISCOVER copy it answers, in ms after
    the client's DISCOVER: leaving the relay, reaching the server, the
    server's OFFER, the OFFER at the client."""

    relay: str                  # the gateway whose relay carried it
    giaddr: str
    yiaddr: str
    arrival_ms: float
    relayed_ms: float | None = None
    reached_server_ms: float | None = None
    served_ms: float | None = None


@dataclass
class Trial:
    index: int
    xid: str = ""
    offers: list[Offer] = field(default_factory=list)
    gap_ms: float | None = None
    first_relay: str = ""
    requested: str = ""
    requested_via: str = ""
    final_address: str = ""
    subnet: str = ""
    naks: list[str] = field(default_factory=list)       # "NAK via gw2 (giaddr 10.1.2.1)"
    restarts: int = 0
    bound_ms: float | None = None       # DISCOVER to the ACK of the final address
    applied_ms: float | None = None     # DISCOVER to the lease applied (after the ARP probe)
    wall_ms: float | None = None        # the whole trial, restart included
    decided_by: str = ""
    problems: list[str] = field(default_factory=list)
    pcaps: str = ""


@dataclass(frozen=True)
class Gateway:
    """A relay the client's DISCOVER reaches: one downstream interface of a
    node running a ``dhcp-relay`` service, in the client's broadcast domain."""

    name: str             # the relay's node
    inside: str           # its interface in the client's broadcast domain
    outside: str          # the interface it relays out of (the service's upstream)
    address: str          # its address on the client side: the giaddr it relays with
    server: tuple[str, str] | None = None
    """Where the DHCP server it relays to is captured: the node and interface
    owning the service's ``server`` address (None: no node of the model owns it)."""
    alias: str = ""       # how the race names it, when the node relays on several of the domain

    @property
    def label(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class RaceSetup:
    """Who races, derived from the model: the client's DHCP interface, the
    relays its broadcast domain holds, their servers and subnets."""

    client: str
    client_iface: str
    client_mac: str
    own_gateway: str               # the giaddr of the client's own relay (its subnet's)
    gateways: list[Gateway]
    subnets: list[IPv4Network]     # the declared subnets of the relays' interfaces
    domain: str = ""               # the client's broadcast domain without VLANs

    @property
    def servers(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys(gw.server for gw in self.gateways if gw.server))

    @property
    def points(self) -> list[tuple[str, str]]:
        points = [(self.client, self.client_iface)]
        for gw in self.gateways:
            points += [(gw.name, gw.inside), (gw.name, gw.outside)]
        return list(dict.fromkeys(points + self.servers))


# -- who races: from the model alone, before anything is built --------------------------

def dhcp_interface(topo: Topology, node: str) -> Interface:
    """The node's first interface that takes its address by DHCP."""
    if topo.find(node) is None:
        raise RaceError(f"{topo.name} has no node {node}")
    for iface in topo.interfaces(node):
        if iface.dhcp is not None:
            return iface
    raise RaceError(f"{node} takes no address by DHCP")


def domain_of(topo: Topology, iface: Interface) -> Domain:
    for domain in broadcast_domains(topo):
        if any(i is iface for i in domain.interfaces):
            return domain
    raise RaceError(f"{iface.node}:{iface.name} is on no link of {topo.name}")


def relays_in(topo: Topology, domain: Domain) -> list[Gateway]:
    """Every downstream interface of a ``dhcp-relay`` service that sits in
    ``domain``: each relays a broadcast DISCOVER it hears, with its own
    address as giaddr (a node relaying on two interfaces of one domain
    relays it twice)."""
    here = {(i.node, i.name): i for i in domain.interfaces}
    found = []
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind != "dhcp-relay":
                continue
            for name in svc.params.get("downstream", ()):
                iface = here.get((host.name, name))
                if iface is not None:
                    found.append(Gateway(host.name, name, svc.params["upstream"],
                                         str(iface.ip) if iface.ip else "",
                                         server_point(topo, svc.params["server"])))
    several = {gw.name for gw in found if sum(g.name == gw.name for g in found) > 1}
    return [replace(gw, alias=point_label(gw.name, gw.inside)) if gw.name in several else gw
            for gw in found]


def server_point(topo: Topology, address) -> tuple[str, str] | None:
    """The node and interface owning ``address``: where a DHCP server that
    a relay forwards to is captured."""
    for iface in topo.interfaces():
        if iface.ip is not None and str(iface.ip) == str(address):
            return iface.node, iface.name
    return None


def _count(n: int) -> str:
    return {0: "no", 1: "one", 2: "two", 3: "three"}.get(n, str(n))


def why_no_race(topo: Topology, client: str) -> str:
    """Why ``client`` cannot race in ``topo`` (empty: it can)."""
    try:
        domain = domain_of(topo, dhcp_interface(topo, client))
    except RaceError as refused:
        return str(refused)
    relays = relays_in(topo, domain)
    if len(relays) >= 2:
        return ""
    names = f" ({', '.join(gw.label for gw in relays)})" if relays else ""
    return (f"{client}'s broadcast domain {domain.name} holds {_count(len(relays))} DHCP "
            f"relay{'' if len(relays) == 1 else 's'}{names}: a race needs two")


def default_client(flat: Topology) -> str:
    """The first DHCP client (in the model's order) whose broadcast domain
    holds two relays without VLANs: xiaoming in enterprise."""
    clients = list(dict.fromkeys(i.node for i in flat.interfaces() if i.dhcp is not None))
    if not clients:
        raise RaceError(f"{flat.name} has no DHCP client: nothing to race")
    for client in clients:
        if not why_no_race(flat, client):
            return client
    raise RaceError(f"no DHCP client of {flat.name} has two DHCP relays in its broadcast "
                    f"domain without VLANs ({why_no_race(flat, clients[0])}; "
                    "--client NODE says it for another)")


def plan(topo: Topology, client: str | None = None, flat: Topology | None = None) -> RaceSetup:
    """The race of ``client`` in ``topo``, refused (RaceError) before
    anything is built when there is none.

    The rule: the contenders are the relays of the client's broadcast
    domain in the flat build (``flat``, the same topology without VLANs;
    ``topo`` itself when it is flat), and there must be two.  With VLANs
    the same relays are captured, and the verdict is whether exactly one of
    them, the client's own, answered: VLANs fix a race, so they are run
    only where the flat network has one."""
    flat = flat if flat is not None else topo
    client = client or default_client(flat)
    iface = dhcp_interface(topo, client)
    refusal = why_no_race(flat, client)
    if refusal:
        raise RaceError(refusal if flat is topo else
                        f"no race for VLANs to fix: without them, {refusal}")
    domain = domain_of(flat, dhcp_interface(flat, client))
    gateways = [_in_build(topo, gw) for gw in relays_in(flat, domain)]
    subnets: list[IPv4Network] = []
    for gw in gateways:
        declared = _declared(topo, gw.name, gw.inside)
        if declared is not None and declared.network not in subnets:
            subnets.append(declared.network)
    return RaceSetup(client, iface.name, iface.mac or "", own_giaddr(topo, iface, gateways),
                     gateways, subnets, domain.name)


def _interface(topo: Topology, node: str, name: str) -> Interface | None:
    return next((i for i in topo.interfaces(node) if i.name == name), None)


def _declared(topo: Topology, node: str, name: str):
    iface = _interface(topo, node, name)
    return declared_subnet(topo, iface) if iface is not None else None


def _in_build(topo: Topology, gw: Gateway) -> Gateway:
    """A contender of the flat build as the built topology has it (its
    address and its server's interface there)."""
    iface = _interface(topo, gw.name, gw.inside)
    node = topo.find(gw.name)
    svc = next((s for s in getattr(node, "services", ()) if s.kind == "dhcp-relay"), None)
    if iface is None or svc is None:
        return gw
    return replace(gw, address=str(iface.ip) if iface.ip else gw.address,
                   server=server_point(topo, svc.params["server"]))


def own_giaddr(topo: Topology, iface: Interface, gateways: list[Gateway]) -> str:
    """The giaddr the client's own relay uses: the relay named by its DHCP
    declaration, else any, whose address lies in the client's subnet; else
    the subnet's gateway."""
    network = link_subnet(topo, iface)
    mine = [gw for gw in gateways
            if network is not None and gw.address and IPv4Address(gw.address) in network]
    mine.sort(key=lambda gw: gw.name != iface.dhcp.relay)
    if mine:
        return mine[0].address
    subnet = declared_subnet(topo, iface)
    return str(subnet.gateway) if subnet and subnet.gateway else ""


def setup_for(lab: Lab, setup: RaceSetup) -> RaceSetup:
    """The plan with the client's MAC as the running lab has it."""
    return replace(setup, client_mac=lab.node(setup.client).intf(setup.client_iface).mac)


def slow_relay(lab: Lab, setup: RaceSetup, spec: str) -> str:
    """``gw1=5ms``: delay what the gateway relays, where the kernel has netem."""
    node, _, delay = spec.partition("=")
    netem = capabilities.netem()
    if not netem:
        return f"--slow-relay {spec} ignored: {netem.reason}"
    gw = slow_relay_gateway(setup, spec)
    result = lab.run_in(node, ["tc", "qdisc", "replace", "dev", gw.outside, "root", "netem",
                               "delay", delay])
    if result.returncode != 0:
        raise RaceError(f"--slow-relay {spec}: {result.stderr.strip()}")
    return f"{node} relays {delay} late (netem on {gw.outside})"


def slow_relay_gateway(setup: RaceSetup, spec: str) -> Gateway:
    """The relay ``--slow-relay NODE=DELAY`` names, refused unless it races."""
    node, _, delay = spec.partition("=")
    gw = next((g for g in setup.gateways if g.name == node), None)
    if gw is None or not delay:
        relays = ", ".join(dict.fromkeys(g.name for g in setup.gateways))
        raise RaceError(f"--slow-relay {spec}: give NODE=DELAY with NODE one of the racing "
                        f"relays ({relays})")
    return gw


# -- analysis: from packets to a trial ---------------------------------------------

def _ms(packet: Packet | None, t0: float) -> float | None:
    return None if packet is None else round((packet.time - t0) * 1000, 3)


def _first(packets: Packets, matcher) -> Packet | None:
    for packet in packets:
        if matcher(packet):
            return packet
    return None


def judge_trial(trial: Trial, packets: Packets, setup: RaceSetup, final_address: str) -> Trial:
    """Fill ``trial`` from the packets of its time window (all points merged)."""
    mine = packets.filter(dhcp(chaddr=setup.client_mac))
    at_client = mine.filter(lambda p: p.point == point_label(setup.client, setup.client_iface))
    discover = _first(at_client, dhcp(type="DISCOVER"))
    if discover is None:
        trial.problems.append("no DISCOVER from the client")
        return trial
    xid = discover.dhcp.xid
    t0 = discover.time
    trial.xid = f"0x{xid:08x}"
    by_giaddr = {gw.address: gw for gw in setup.gateways}
    for offer in at_client.filter(dhcp(type="OFFER", xid=xid)):
        giaddr = offer.dhcp.giaddr
        gw = by_giaddr.get(giaddr)
        copy = dhcp(type="DISCOVER", xid=xid, giaddr=giaddr)
        left = _first(mine.filter(lambda p, g=gw: g is not None and
                                  p.point == point_label(g.name, g.outside)), copy)
        # Where the server this relay forwards to was captured (none: unknown).
        server_side = mine.filter(lambda p, g=gw: g is not None and g.server is not None
                                  and p.point == point_label(*g.server))
        trial.offers.append(Offer(
            gw.label if gw else giaddr, giaddr, offer.dhcp.yiaddr, _ms(offer, t0),
            relayed_ms=_ms(left, t0), reached_server_ms=_ms(_first(server_side, copy), t0),
            served_ms=_ms(_first(server_side, dhcp(type="OFFER", xid=xid, giaddr=giaddr)), t0)))
    if len(trial.offers) >= 2:
        trial.gap_ms = round(trial.offers[1].arrival_ms - trial.offers[0].arrival_ms, 3)
    if trial.offers:
        trial.first_relay = trial.offers[0].relay
    request = _first(at_client, dhcp(type="REQUEST", xid=xid))
    if request is not None:
        trial.requested = request.dhcp.requested_ip or ""
        chosen = next((o for o in trial.offers if o.yiaddr == trial.requested), None)
        trial.requested_via = chosen.relay if chosen else ""
    for nak in at_client.filter(dhcp(type="NAK")):
        gw = by_giaddr.get(nak.dhcp.giaddr)
        trial.naks.append(f"NAK via {gw.label if gw else nak.dhcp.giaddr} "
                          f"(giaddr {nak.dhcp.giaddr}) at +{_ms(nak, t0)} ms")
    xids = {p.dhcp.xid for p in at_client.filter(dhcp(type="DISCOVER"))}
    trial.restarts = len(xids) - 1
    trial.final_address = final_address
    trial.subnet = next((str(n) for n in setup.subnets
                         if final_address and IPv4Address(final_address) in n), "")
    ack = _first(at_client.filter(lambda p: p.time >= t0),
                 dhcp(type="ACK", yiaddr=final_address)) if final_address else None
    trial.bound_ms = _ms(ack, t0)
    trial.decided_by = decided_by(trial)
    return trial


STAGES = (("relayed_ms", "relayed"), ("reached_server_ms", "reached the server"),
          ("served_ms", "was answered"))


def decided_by(trial: Trial) -> str:
    """Where on the path the winning OFFER got ahead: the order of the two
    copies at each step (leaving the relays, reaching the server, the
    server's answers), naming the step where the order changed."""
    if len(trial.offers) < 2:
        return "one OFFER only: no race" if trial.offers else "no OFFER"
    winner, loser = trial.offers[0], trial.offers[1]
    steps = []
    for attr, verb in STAGES:
        won, lost = getattr(winner, attr), getattr(loser, attr)
        if won is None or lost is None:
            continue
        ahead = winner.relay if won <= lost else loser.relay
        steps.append(f"{ahead}'s copy {verb} first ({abs(lost - won):.3f} ms)")
    if not steps:
        return f"{winner.relay}'s OFFER reached the client {trial.gap_ms:.3f} ms first"
    return "; ".join(steps) + f"; {winner.relay}'s OFFER reached the client first"


# -- running the trials ------------------------------------------------------------------

@dataclass
class RaceReport:
    topology: str
    backend: str
    vlans: bool
    client: str
    trials: list[Trial]
    seconds: float
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    """Packets the kernel dropped per capture point: an OFFER could be
    among them, so no verdict of "exactly one OFFER" stands on such captures."""
    guard: str = ""
    """The controller app that confines DHCP on the flat network
    ("dhcp-guard"): then the flat run is judged as a fix, like VLANs."""
    spec: str = ""
    """Where the topology came from (a name or a file), for ``report DIR``."""

    @property
    def distribution(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            key = trial.subnet or "no lease"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def first_offer(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            if trial.first_relay:
                counts[trial.first_relay] = counts.get(trial.first_relay, 0) + 1
        return dict(sorted(counts.items()))

    def gap_stats(self) -> dict[str, float] | None:
        gaps = sorted(t.gap_ms for t in self.trials if t.gap_ms is not None)
        if not gaps:
            return None
        return {"min": gaps[0], "median": statistics.median(gaps), "max": gaps[-1]}

    def time_budget(self) -> dict[str, float] | None:
        """Where a trial's time goes, medians in ms: the DHCP exchange itself,
        the client's ARP probe and applying the lease, and the rest (stopping
        and starting the client)."""
        done = [t for t in self.trials if None not in (t.bound_ms, t.applied_ms, t.wall_ms)]
        if not done:
            return None
        wall = statistics.median(t.wall_ms for t in done)
        dora = statistics.median(t.bound_ms for t in done)
        applied = statistics.median(t.applied_ms for t in done)
        return {"trial": wall, "dora": dora, "probe_and_apply": round(applied - dora, 1),
                "restart": round(wall - applied, 1)}

    @property
    def trials_per_minute(self) -> float:
        return round(len(self.trials) / self.seconds * 60, 1) if self.seconds else 0.0

    def verdict(self, own_gateway: str) -> tuple[bool, str]:
        if not self.vlans and not self.guard:
            subnets = [s for s in self.distribution if s != "no lease"]
            if len(subnets) >= 2:
                return True, f"race reproduced: the client ended in {len(subnets)} subnets"
            return False, ("race not reproduced: every trial ended in "
                           f"{subnets[0] if subnets else 'no lease'}")
        if self.dropped:
            return False, ("captures incomplete, the kernel dropped packets at "
                           + describe_drops(self.dropped))
        wrong = [t for t in self.trials
                 if len(t.offers) != 1 or t.offers[0].giaddr != own_gateway]
        if wrong:
            return False, (f"{len(wrong)} trial(s) had an OFFER other than exactly one from "
                           f"{own_gateway}: trial {wrong[0].index}")
        by = f" by {self.guard}" if self.guard else ""
        return True, (f"fixed{by}: exactly one OFFER per DISCOVER, from {own_gateway}, "
                      "every trial")

    def as_dict(self, own_gateway: str) -> dict:
        passed, reason = self.verdict(own_gateway)
        return {"topology": self.topology, "spec": self.spec, "backend": self.backend,
                "vlans": self.vlans, "guard": self.guard, "controller": self.guard,
                "client": self.client, "passed": passed, "verdict": reason,
                "distribution": self.distribution, "first_offer": self.first_offer,
                "gap_ms": self.gap_stats(), "seconds": round(self.seconds, 3),
                "trials_per_minute": self.trials_per_minute,
                "time_budget_ms": self.time_budget(), "notes": self.notes,
                "dropped": self.dropped,
                "trials": [asdict(t) for t in self.trials]}


def run_race(lab: Lab, setup: RaceSetup, trials: int, out: Path,
             progress: Callable[[str], None] = lambda message: None
             ) -> tuple[RaceReport, RaceSetup]:
    """Run the trials of ``setup`` (from :func:`plan`) with one recording
    for the whole series (the check pipeline), then cut it into trials."""
    setup = setup_for(lab, setup)
    windows: list[tuple[float, float, str, float]] = []
    start = time.monotonic()
    with Recording(lab, setup.points, "udp port 67 or udp port 68",
                   out / "pcaps" / "all") as captured:
        for index in range(1, trials + 1):
            progress(f"trial {index} of {trials}")
            began = time.time()
            lease = lab.restart_dhcp_client(setup.client, fresh=True)
            windows.append((began, time.time(), str(lease.ip) if lease else "",
                            lease.time if lease else 0.0))
    seconds = time.monotonic() - start
    report = RaceReport(lab.topo.name, lab.topo.options.dhcp_server or "dnsmasq",
                        lab.topo.options.vlans, setup.client, [], seconds,
                        dropped=captured.dropped)
    if report.dropped:
        report.notes.append("the kernel dropped packets before tcpdump read them at "
                            + captured.incomplete()
                            + ": the trials' evidence may lack packets")
    for index, (began, ended, address, applied) in enumerate(windows, start=1):
        # A trial owns everything up to the next trial's start: late packets
        # of its own, never the next one's DISCOVER.
        until = windows[index][0] if index < len(windows) else ended + 0.5
        part = captured.between(began, until)
        trial_dir = out / "pcaps" / f"trial-{index:02d}"
        part.save(trial_dir)
        trial = judge_trial(Trial(index), part.all, setup, address)
        trial.pcaps = str(trial_dir)
        trial.wall_ms = round((ended - began) * 1000, 1)
        first = part.all.filter(dhcp(type="DISCOVER", chaddr=setup.client_mac))
        if applied and len(first):
            trial.applied_ms = round((applied - first[0].time) * 1000, 1)
        report.trials.append(trial)
    return report, setup


def write_report(report: RaceReport, setup: RaceSetup, out: Path) -> Path:
    path = out / "race.json"
    path.write_text(json.dumps(report.as_dict(setup.own_gateway), indent=2))
    return path
