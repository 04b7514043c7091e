"""The race's trials: run on one recording, cut by time, judged from packets.

Each trial starts the client from a clean state and captures on the
client's wire, on both sides of every racing relay and on the servers they
forward to.  The captures run for the whole series (no tcpdump restarts
between trials), through the same pipeline as the checks
(:mod:`orchestrator.capture.recording`), and are cut into trials by time,
so a trial costs only the protocol.

From the packets alone, per trial: the xid, every OFFER (relay, giaddr,
yiaddr, arrival at the client), the gap between them, the one the client
requested, NAKs and restarts, the final address and subnet, the time to a
bound lease, and what decided the race: at which step of the path
(relaying, the server's order, the way back) the winner got ahead.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address
from pathlib import Path
from typing import Callable

from ..capture.recording import Recording
from ..capture.tcpdump import describe_drops, point_label
from ..lab import Lab
from ..packets import Packet, Packets, dhcp
from ..results.race import Offer, RaceRun, Trial
from .plan import RaceSetup, setup_for

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

def run_trials(lab: Lab, setup: RaceSetup, trials: int, out: Path,
               progress: Callable[[str], None] = lambda message: None) -> RaceRun:
    """Run the trials of ``setup`` (from :func:`~.plan.plan`) with one
    recording for the whole series (the check pipeline), then cut it into
    trials, each judged from its packets; the verdict is the caller's."""
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
    run = RaceRun(lab.topo.name, lab.topo.options.dhcp_server or "dnsmasq",
                  lab.topo.options.vlans, setup.client, [], seconds, setup.own_gateway,
                  dropped=captured.dropped)
    if run.dropped:
        run.notes.append("the kernel dropped packets before tcpdump read them at "
                         + captured.incomplete() + ": the trials' evidence may lack packets")
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
        run.trials.append(trial)
    return run


def verdict(run: RaceRun) -> tuple[bool, str]:
    """Whether the run showed what was asked: without VLANs (and without a
    guard) the race, i.e. the client ended in two subnets or more; with
    VLANs or a guard the fix, i.e. exactly one OFFER per DISCOVER, from
    the client's own relay, on captures the kernel dropped nothing from."""
    own = run.own_gateway
    if not run.vlans and not run.guard:
        subnets = [s for s in run.distribution if s != "no lease"]
        if len(subnets) >= 2:
            return True, f"race reproduced: the client ended in {len(subnets)} subnets"
        return False, ("race not reproduced: every trial ended in "
                       f"{subnets[0] if subnets else 'no lease'}")
    if run.dropped:
        return False, ("captures incomplete, the kernel dropped packets at "
                       + describe_drops(run.dropped))
    wrong = [t for t in run.trials if len(t.offers) != 1 or t.offers[0].giaddr != own]
    if wrong:
        return False, (f"{len(wrong)} trial(s) had an OFFER other than exactly one from "
                       f"{own}: trial {wrong[0].index}")
    by = f" by {run.guard}" if run.guard else ""
    return True, f"fixed{by}: exactly one OFFER per DISCOVER, from {own}, every trial"
