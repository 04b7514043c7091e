"""The DHCP relay race: reproduce it trial by trial, measure it, show the fix.

Without VLANs, a client's DISCOVER reaches both gateways; both relay it
(giaddr 10.1.1.1 and 10.1.2.1), the server offers an address from each
subnet, and the client takes whichever OFFER arrives first.  Each trial
starts the client from a clean state and captures on the client's wire, on
both sides of both gateways and on the server.  The captures run for the
whole series (no tcpdump restarts between trials) and are cut into trials by
time, so a trial costs only the protocol.

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
from dataclasses import asdict, dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Callable

from . import capabilities
from .capture import Capture, describe_drops, dropped_at, point_label
from .errors import FlowlabError
from .lab import Lab
from .model import Router
from .packets import Packet, Packets, dhcp, merge, read, write_pcap
from .segments import declared_subnet


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


@dataclass
class Gateway:
    name: str
    inside: str           # interface on the client side
    outside: str          # interface on the server side
    address: str          # its address on the client side: the giaddr it relays with


def gateways(lab: Lab) -> list[Gateway]:
    """Every router running a DHCP relay, with its downstream and upstream."""
    found = []
    for host in lab.topo.hosts():
        for svc in host.services:
            if svc.kind == "dhcp-relay" and isinstance(host, Router):
                inside = svc.params["downstream"][0]
                iface = next(i for i in lab.topo.interfaces(host.name) if i.name == inside)
                found.append(Gateway(host.name, inside, svc.params["upstream"], str(iface.ip)))
    return found


def dhcp_server_point(lab: Lab) -> tuple[str, str]:
    for host in lab.topo.hosts():
        for svc in host.services:
            if svc.kind == "dhcp-server":
                iface = svc.params.get("interface") or lab.topo.interfaces(host.name)[0].name
                return host.name, iface
    raise RaceError(f"{lab.topo.name} has no DHCP server")


@dataclass
class RaceSetup:
    client: str
    client_iface: str
    client_mac: str
    own_gateway: str               # the client's gateway address (its subnet's)
    gateways: list[Gateway]
    server: tuple[str, str]
    subnets: list[IPv4Network]

    @property
    def points(self) -> list[tuple[str, str]]:
        points = [(self.client, self.client_iface)]
        for gw in self.gateways:
            points += [(gw.name, gw.inside), (gw.name, gw.outside)]
        return points + [self.server]


def setup_for(lab: Lab, client: str) -> RaceSetup:
    dhcp_client = lab.dhcp_client(client)
    iface = dhcp_client.iface
    subnet = declared_subnet(lab.topo, iface)
    subnets = [v.subnet.network for v in lab.topo.vlans if v.subnet is not None]
    gws = gateways(lab)
    if len(gws) < 2:
        raise RaceError(f"{lab.topo.name} has {len(gws)} DHCP relay(s): a race needs two")
    return RaceSetup(client, iface.name, lab.node(client).intf(iface.name).mac,
                     str(subnet.gateway) if subnet and subnet.gateway else "",
                     gws, dhcp_server_point(lab), subnets)


def slow_relay(lab: Lab, spec: str) -> str:
    """``gw1=5ms``: delay what the gateway relays, where the kernel has netem."""
    node, _, delay = spec.partition("=")
    netem = capabilities.netem()
    if not netem:
        return f"--slow-relay {spec} ignored: {netem.reason}"
    gw = next((g for g in gateways(lab) if g.name == node), None)
    if gw is None:
        raise RaceError(f"--slow-relay: {node} is not a DHCP relay of {lab.topo.name}")
    result = lab.run_in(node, ["tc", "qdisc", "replace", "dev", gw.outside, "root", "netem",
                               "delay", delay])
    if result.returncode != 0:
        raise RaceError(f"--slow-relay {spec}: {result.stderr.strip()}")
    return f"{node} relays {delay} late (netem on {gw.outside})"


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
    server_side = mine.filter(lambda p: p.point == point_label(*setup.server))
    for offer in at_client.filter(dhcp(type="OFFER", xid=xid)):
        giaddr = offer.dhcp.giaddr
        gw = by_giaddr.get(giaddr)
        copy = dhcp(type="DISCOVER", xid=xid, giaddr=giaddr)
        left = _first(mine.filter(lambda p, g=gw: g is not None and
                                  p.point == point_label(g.name, g.outside)), copy)
        trial.offers.append(Offer(
            gw.name if gw else giaddr, giaddr, offer.dhcp.yiaddr, _ms(offer, t0),
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
        trial.naks.append(f"NAK via {gw.name if gw else nak.dhcp.giaddr} "
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
        if not self.vlans:
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
        return True, f"fixed: exactly one OFFER per DISCOVER, from {own_gateway}, every trial"

    def as_dict(self, own_gateway: str) -> dict:
        passed, reason = self.verdict(own_gateway)
        return {"topology": self.topology, "backend": self.backend, "vlans": self.vlans,
                "client": self.client, "passed": passed, "verdict": reason,
                "distribution": self.distribution, "first_offer": self.first_offer,
                "gap_ms": self.gap_stats(), "seconds": round(self.seconds, 3),
                "trials_per_minute": self.trials_per_minute,
                "time_budget_ms": self.time_budget(), "notes": self.notes,
                "dropped": self.dropped,
                "trials": [asdict(t) for t in self.trials]}


def run_race(lab: Lab, client: str, trials: int, out: Path,
             progress: Callable[[str], None] = lambda message: None) -> tuple[RaceReport, RaceSetup]:
    setup = setup_for(lab, client)
    capture_dir = out / "pcaps" / "all"
    capture_dir.mkdir(parents=True, exist_ok=True)
    captures = [Capture(lab, node, iface, "udp port 67 or udp port 68",
                        path=capture_dir / f"{node}-{iface}.pcap") for node, iface in setup.points]
    windows: list[tuple[float, float, str]] = []
    start = time.monotonic()
    try:
        for capture in captures:
            capture.start()
        for index in range(1, trials + 1):
            progress(f"trial {index} of {trials}")
            began = time.time()
            lease = lab.restart_dhcp_client(client, fresh=True)
            windows.append((began, time.time(), str(lease.ip) if lease else "",
                            lease.time if lease else 0.0))
    finally:
        for capture in captures:
            capture.stop()
    seconds = time.monotonic() - start
    everything = merge(*[read(c.path, point=c.label) for c in captures])
    report = RaceReport(lab.topo.name, lab.topo.options.dhcp_server or "dnsmasq",
                        lab.topo.options.vlans, client, [], seconds,
                        dropped=dropped_at(captures))
    if report.dropped:
        report.notes.append("the kernel dropped packets before tcpdump read them at "
                            + describe_drops(report.dropped)
                            + ": the trials' evidence may lack packets")
    for index, (began, ended, address, applied) in enumerate(windows, start=1):
        # A trial owns everything up to the next trial's start: late packets
        # of its own, never the next one's DISCOVER.
        until = windows[index][0] if index < len(windows) else ended + 0.5
        window = everything.filter(lambda p, b=began, e=until: b <= p.time < e)
        trial_dir = out / "pcaps" / f"trial-{index:02d}"
        trial_dir.mkdir(parents=True, exist_ok=True)
        for point in window.points:
            write_pcap(trial_dir / f"{point}.pcap", window.filter(lambda p, q=point: p.point == q))
        write_pcap(trial_dir / "merged.pcap", window)
        trial = judge_trial(Trial(index), window, setup, address)
        trial.pcaps = str(trial_dir)
        trial.wall_ms = round((ended - began) * 1000, 1)
        first = window.filter(dhcp(type="DISCOVER", chaddr=setup.client_mac))
        if applied and len(first):
            trial.applied_ms = round((applied - first[0].time) * 1000, 1)
        report.trials.append(trial)
    return report, setup


def write_report(report: RaceReport, setup: RaceSetup, out: Path) -> Path:
    path = out / "race.json"
    path.write_text(json.dumps(report.as_dict(setup.own_gateway), indent=2))
    return path
