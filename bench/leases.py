"""Lease benchmark: from ``up`` to every DHCP lease bound, against static addresses.

Brings ``enterprise`` up with all its daemons (a) as shipped, (b) with 100
extra DHCP clients spread over both VLANs, and the same two networks with
every PC addressed statically (same addresses, no DHCP clients), in the same
run; prints the median bring-up times, the time the DHCP client stage took,
and the cost of DHCP over static addresses.

    sudo .venv/bin/python -m bench.leases [--repeat 3] [--extra 100] [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.cli import output
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.model.domains import declared_subnet
from orchestrator.network import ovs
from orchestrator.network.netbuild import static_address
from services.dhcp_client import DHCP_CLIENT
from topologies.enterprise import add_guests


def topology(extra: int, static: bool):
    topo = registry.load("enterprise")
    add_guests(topo, extra, static=static)
    if static:     # the shipped PCs too: their reservations, configured by hand
        for iface in topo.interfaces():
            if iface.dhcp is not None:
                subnet = declared_subnet(topo, iface)
                iface.address = static_address(topo, iface, dhcp=False)
                topo.node(iface.node).gateway = subnet.gateway
                iface.dhcp = None
    return topo


def bring_up(topo, runs: Path) -> dict:
    lab = Lab(topo, settings=LabSettings(runs_base=runs))
    start = time.perf_counter()
    lab.start()
    total = time.perf_counter() - start
    try:
        services = lab.services
        clients = [c for c in services.all(DHCP_CLIENT) if services.ready_after(c) is not None]
        stage = max((services.started_at(c) + services.ready_after(c) for c in clients),
                    default=0.0) - min((services.started_at(c) for c in clients), default=0.0)
        bound = len(lab.leases())
    finally:
        lab.stop()
    return {"total": total, "clients_stage": stage, "leases": bound}


def measure(repeat: int, extra: int) -> list[dict]:
    ovs.ensure_running()
    rows = []
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-") as runs:
        for count in (0, extra):
            for static in (False, True):
                samples = [bring_up(topology(count, static), Path(runs)) for _ in range(repeat)]
                rows.append({
                    "network": f"enterprise + {count} extra PCs" if count else "enterprise",
                    "addressing": "static" if static else "DHCP",
                    "pcs": 3 + count,
                    "leases": samples[-1]["leases"],
                    "up_s": round(statistics.median(s["total"] for s in samples), 3),
                    "dhcp_stage_s": round(statistics.median(s["clients_stage"]
                                                            for s in samples), 3),
                    "repeat": repeat,
                })
    for dhcp, static in zip(rows[0::2], rows[1::2]):
        dhcp["over_static"] = round(dhcp["up_s"] / static["up_s"], 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--extra", type=int, default=100)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench.leases builds networks: run it as root", file=sys.stderr)
        return 1
    rows = measure(args.repeat, args.extra)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    output.table(f"from up to every lease bound, median of {args.repeat}",
                 ["network", "addressing", "PCs", "leases", "up", "DHCP client stage",
                  "DHCP / static"],
                 [[r["network"], r["addressing"], r["pcs"], r["leases"], f"{r['up_s']:.2f} s",
                   f"{r['dhcp_stage_s']:.2f} s" if r["addressing"] == "DHCP" else "-",
                   f"{r['over_static']:.2f}x" if "over_static" in r else "-"] for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())
