"""``race``: the DHCP relay race, reproduced over N trials, and its fix."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from ..lab import Lab, LabSettings
from ..model import registry
from ..model.validation import validate
from ..race import GUARD, RaceError, RaceRun, plan, race, slow_relay_gateway
from ..report.render import draw_after_run
from ..results import race as results
from . import output
from .common import (
    add_controller_arguments,
    add_format_argument,
    add_topology_arguments,
    controller_settings,
    require_root,
    topology_options,
)

NAME = "race"
HELP = "reproduce the DHCP relay race over N trials (or show it fixed with --vlan)"
DESCRIPTION = ("Without VLANs (the default, --no-vlan) a client's DISCOVER reaches every DHCP "
               "relay of its broadcast domain, each relays it, the server offers an address "
               "from each relay's subnet and the client takes the first OFFER. Runs N trials "
               "from a clean client state, captures on the client, both sides of every racing "
               "relay and the servers they forward to, and reports per trial the xid, every "
               "OFFER, the gap, the requested and final address, NAKs, restarts, the time to a "
               "bound lease and what decided it; then the distribution of outcomes. "
               "Works on any topology, everything derived from the model: the racing relays "
               "are the nodes running a dhcp-relay service whose downstream interface sits in "
               "the client's broadcast domain as it is without VLANs. There must be two or more "
               "of them; otherwise race refuses before building anything (exit 2) and says "
               "why. With --vlan the same relays are captured in the VLAN build, so --vlan is "
               "refused exactly where the flat build would not race: there is nothing to fix. "
               "Exit 0 when what was asked for was shown: without VLANs more than one outcome "
               "(the client ended in two or more subnets); with --vlan exactly one OFFER per "
               "DISCOVER, from the client's own relay.")


def configure(parser):
    add_topology_arguments(
        parser, vlan_default=False, topology_default="enterprise",
        topology_help="a registered topology or a path to a .py file whose client has two or "
                      "more DHCP relays in its broadcast domain without VLANs (default "
                      "enterprise)")
    parser.add_argument("--trials", type=int, default=20, metavar="N",
                        help="how many times the client starts over (default 20)")
    parser.add_argument("--client", metavar="NODE",
                        help="the racing DHCP client (default: the first DHCP client whose "
                             "broadcast domain holds two relays without VLANs; xiaoming in "
                             "enterprise)")
    parser.add_argument("--slow-relay", metavar="NODE=DELAY",
                        help="delay one racing relay (e.g. gw1=5ms); needs netem in the kernel")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where race.json, pcaps/trial-NN/ and report.html go (default: the "
                             "run directory)")
    parser.add_argument("--compare", action="store_true",
                        help="run the race flat, then the same trials with VLANs (the fix), "
                             "into DIR/flat and DIR/vlan, and with --controller os-ken "
                             "--controller-app dhcp-guard the flat network under the guard "
                             "(the SDN fix) into DIR/guard; report.html shows them side by side")
    add_controller_arguments(parser)
    add_format_argument(parser, "the trials and the verdict")


def prepare(args) -> tuple:
    """The topology to build and who races in it, refused (RaceError, exit
    2) before anything is built."""
    if args.trials < 1:
        raise RaceError("--trials must be at least 1")
    options = topology_options(args)
    topo = registry.load(args.topology, options)
    validate(topo)
    flat = registry.load(args.topology, replace(options, vlans=False)) if args.vlan else topo
    setup = plan(topo, args.client, flat)
    if args.slow_relay:
        slow_relay_gateway(setup, args.slow_relay)
    return topo, setup


def run(args) -> int:
    if args.compare:
        return compare(args)
    passed, _ = race_once(args)
    return 0 if passed else 1


def race_once(args, out: Path | None = None) -> tuple[bool, Path]:
    """One race as ``args`` ask: its table, verdict, race.json and report.html;
    (shown as asked, the output directory)."""
    topo, setup = prepare(args)       # from the model alone: nothing built yet
    controller = controller_settings(args, topo)
    guard = GUARD if controller and GUARD in controller.apps else ""
    require_root(NAME)
    notes: list[str] = []
    with output.progress(f"racing {setup.client} on {topo.name} "
                         f"({'VLANs' if args.vlan else 'flat'}"
                         f"{', ' + guard if guard else ''})") as report:
        with Lab(topo, args.topology, LabSettings(progress=report,
                                                  controller=controller)) as lab:
            out = out or args.out or lab.run.path / "race"
            run = race(lab, setup, args.trials, out, args.slow_relay, report, notes.append)
            died = lab.controller_failure()
    if args.format == "json":
        output.print_json(results.to_dict(run))
    else:
        show(run)
        for line in run.notes:
            output.note(line)
        output.out.print(("" if run.passed else "FAILED: ") + run.verdict, markup=False)
        output.note(f"race.json and per-trial pcaps: {out}")
    for line in notes:
        output.note(line)
    if died:
        output.error(died)
        return False, out
    return run.passed, out


def compare(args) -> int:
    """The race flat, then with VLANs, both refused before anything is built
    when either cannot run; one report with the two side by side (in DIR,
    or in the flat run's directory with the VLAN run beneath it)."""
    if args.format == "json":
        raise RaceError("race: --compare prints the two runs as tables; their JSON is in "
                        "DIR/flat/race.json and DIR/vlan/race.json (use --out DIR)")
    controller = controller_settings(args)
    if controller is not None and GUARD not in controller.apps:
        raise RaceError(f"race --compare: the third run is the flat network under {GUARD} "
                        f"(--controller os-ken --controller-app {GUARD}); no other app")
    flat, vlan = copy.copy(args), copy.copy(args)
    flat.vlan, vlan.vlan = False, True
    flat.controller = vlan.controller = "none"
    flat.controller_app = vlan.controller_app = []
    guard = None
    if controller is not None:        # the SDN fix beside the VLAN fix
        guard = copy.copy(args)
        guard.vlan = False
    for each in (flat, vlan, guard):
        if each is not None:
            prepare(each)
    require_root(NAME)
    if args.out:
        top = args.out
        shown, _ = race_once(flat, top / "flat")
    else:                             # the flat run's directory, the others inside it
        shown, top = race_once(flat)
    fixed, _ = race_once(vlan, top / "vlan")
    guarded = race_once(guard, top / "guard")[0] if guard is not None else True
    draw_after_run(top, output.note)
    return 0 if shown and fixed and guarded else 1


def show(race: RaceRun) -> None:
    rows = []
    for t in race.trials:
        offers = "; ".join(f"{o.relay} {o.yiaddr} +{o.arrival_ms:.2f} ms" for o in t.offers)
        rows.append([f"{t.index:02d}", t.xid, offers or "none",
                     "-" if t.gap_ms is None else f"{t.gap_ms:.3f} ms",
                     f"{t.requested} ({t.requested_via})" if t.requested else "-",
                     t.final_address or "none", str(len(t.naks)), str(t.restarts),
                     "-" if t.bound_ms is None else f"{t.bound_ms:.0f} ms", t.decided_by])
    output.table(f"{race.topology}, {race.backend}, {'VLANs' if race.vlans else 'flat'}"
                 f"{', ' + race.guard if race.guard else ''}: "
                 f"{race.client}'s trials",
                 ["#", "xid", "OFFERs at the client", "gap", "requested", "final", "NAKs",
                  "restarts", "bound", "decided by"], rows)
    total = len(race.trials)
    bars = [[subnet, "█" * round(30 * count / total), f"{count} ({100 * count / total:.0f}%)"]
            for subnet, count in race.distribution.items()]
    output.table("where the client ended", ["subnet", "", "trials"], bars)
    gaps = race.gap_stats()
    order = ", ".join(f"{relay} first in {n}" for relay, n in race.first_offer.items())
    output.out.print(f"first OFFER: {order or 'none'}; gap between the OFFERs: " +
                     (f"min {gaps['min']:.3f} ms, median {gaps['median']:.3f} ms, "
                      f"max {gaps['max']:.3f} ms" if gaps else "no second OFFER") +
                     f"; {race.trials_per_minute} trials/minute", markup=False)
    budget = race.time_budget()
    if budget:
        output.out.print(f"a trial takes {budget['trial']:.0f} ms: DHCP exchange "
                         f"{budget['dora']:.0f} ms, ARP probe and applying the lease "
                         f"{budget['probe_and_apply']:.0f} ms, stopping and starting the client "
                         f"{budget['restart']:.0f} ms", markup=False)
    naks: dict[str, int] = {}
    for trial in race.trials:
        for nak in trial.naks:
            via = nak.split(" (")[0]
            naks[via] = naks.get(via, 0) + 1
    if naks:
        output.out.print(f"{race.backend}: " + ", ".join(f"{n} {via}" for via, n in naks.items()),
                         markup=False)
