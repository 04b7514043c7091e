"""``demo``: the main job of ``make demo``: bring a lab up, show it working, tear it down."""

from __future__ import annotations

from .. import registry
from ..lab import Lab, LabSettings
from . import output
from .common import add_topology_arguments, require_root, topology_options

NAME = "demo"
HELP = "bring a topology up, show it working, tear it down"
DESCRIPTION = ("A guided tour of a topology: bring it up, print its summary, send traffic "
               "that shows it working (same subnet, across the routers, through the edge "
               "NAT into the emulated internet, and the VLAN isolation), tear it down. "
               "Exit status 0 when everything shown worked.")

# (from, to, what it shows, expected to get through)
TOURS = {
    "enterprise": [
        ("xiaoming", "10.1.1.3", "same subnet, VLAN 10 (xiaomei)", True),
        ("xiaoming", "10.1.2.2", "across gw1 and gw2 (xiaoli, VLAN 20)", True),
        ("xiaoli", "10.10.10.10", "to the server LAN (srv)", True),
        ("xiaoming", "61.135.169.125", "through the edge NAT (web)", True),
        ("srv", "8.8.8.8", "through the edge NAT (pubdns)", True),
    ],
    "home": [
        ("oldpc", "192.168.1.129", "across the home router", True),
        ("homegw", "61.135.169.125", "into the emulated internet (web)", True),
    ],
    "arp-lan": [
        ("A", "192.168.1.2", "A to B on one switch", True),
    ],
}


def configure(parser):
    add_topology_arguments(parser)


def _ping(lab: Lab, source: str, target: str) -> bool:
    return lab.run_in(source, ["ping", "-c1", "-W2", target]).returncode == 0


def _isolation(lab: Lab) -> tuple[str, bool] | None:
    """With VLANs on, xiaoming must not hear xiaoli at layer 2: an ARP for an
    address of VLAN 20 sent into VLAN 10 gets no answer."""
    if lab.topo.name != "enterprise" or not lab.topo.options.vlans:
        return None
    probe = lab.run_in("xiaoming", ["arping", "-c1", "-w2", "-I", "xiaoming-eth0", "10.1.2.1"])
    return ("xiaoming ARPs for gw2 (10.1.2.1) across VLANs: no reply (isolated)",
            probe.returncode != 0)


def run(args) -> int:
    require_root(NAME)
    topo = registry.load(args.topology, topology_options(args))
    rows, ok = [], True
    with output.progress(f"bringing {topo.name} up") as report:
        lab = Lab(topo, args.topology, LabSettings(progress=report)).start()
    try:
        output.lab_summary(topo.name, lab.run.run_id, lab.summary())
        for source, target, what, expected in TOURS.get(topo.name, []):
            reached = _ping(lab, source, target)
            passed = reached == expected
            ok &= passed
            rows.append([f"{source} -> {target}", what, "reached" if reached else "no answer",
                         "ok" if passed else "FAIL"])
        isolation = _isolation(lab)
        if isolation:
            what, passed = isolation
            ok &= passed
            rows.append(["xiaoming -> 10.1.2.1 (ARP)", what, "-", "ok" if passed else "FAIL"])
        output.table("what the lab shows", ["traffic", "what it shows", "result", "verdict"], rows)
    finally:
        with output.progress(f"tearing {topo.name} down") as report:
            lab.settings.progress = report
            lab.stop()
    return 0 if ok else 1
