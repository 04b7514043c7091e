"""Bring-up benchmark: flowlab's lab start against bare Mininet, same run.

For each topology, time (a) flowlab bringing the network up (validation,
run directory, OVS bridges with VLAN tags, addresses, routes, NAT, private
/etc files; no services) and (b) bare Mininet building the same nodes and
links with its defaults, on the same datapath, alternating the two so that
drift of the machine hits both alike.  Prints medians and the ratio
flowlab / bare, and whether each meets the project's goal (:data:`bench.goals.BRINGUP`).

    sudo .venv/bin/python -m bench.bringup [--repeat 5] [--format json]
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

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import OVSSwitch

from bench import goals
from orchestrator.cli import output
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import Switch, TopologyOptions, registry
from orchestrator.network import capabilities, ovs

GOAL = goals.BRINGUP
VARIANTS = [("enterprise", True), ("enterprise", False), ("home", True), ("arp-lan", True)]


def time_flowlab(topo, runs_base: Path) -> tuple[float, float]:
    lab = Lab(topo, settings=LabSettings(runs_base=runs_base, services=False))
    start = time.perf_counter()
    lab.start()
    up = time.perf_counter() - start
    start = time.perf_counter()
    lab.stop()
    return up, time.perf_counter() - start


def time_bare(topo, datapath: str) -> tuple[float, float]:
    """Bare Mininet: the same nodes and links, nothing configured."""
    start = time.perf_counter()
    net = Mininet(controller=None, build=False, waitConnected=False)
    for index, node in enumerate(topo.nodes, start=1):
        if isinstance(node, Switch):
            net.addSwitch(node.name, cls=OVSSwitch, datapath=datapath, failMode="standalone",
                          dpid=f"{index:016x}", batch=True)
        else:
            net.addHost(node.name)
    for link in topo.links:
        net.addLink(link.a.node, link.b.node, intfName1=link.a.name, intfName2=link.b.name)
    net.start()
    up = time.perf_counter() - start
    start = time.perf_counter()
    net.stop()
    return up, time.perf_counter() - start


def measure(repeat: int) -> list[dict]:
    ovs.ensure_running()
    setLogLevel("error")
    datapath = capabilities.datapath()
    results = []
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-") as runs:
        for name, vlans in VARIANTS:
            topo = registry.load(name, TopologyOptions(vlans=vlans))
            ours, bare = [], []
            for _ in range(repeat):
                bare.append(time_bare(topo, datapath))
                ours.append(time_flowlab(topo, Path(runs)))
            up_ours = statistics.median(u for u, _ in ours)
            up_bare = statistics.median(u for u, _ in bare)
            results.append({
                "topology": name + ("" if vlans else " --no-vlan"),
                "nodes": len(topo.nodes), "links": len(topo.links), "datapath": datapath,
                "flowlab_up_s": round(up_ours, 4), "mininet_up_s": round(up_bare, 4),
                "ratio_up": round(up_ours / up_bare, 2),
                "flowlab_down_s": round(statistics.median(d for _, d in ours), 4),
                "mininet_down_s": round(statistics.median(d for _, d in bare), 4),
                "repeat": repeat,
            })
    return results


def report(results: list[dict]) -> None:
    rows = []
    for r in results:
        ratio = f"{r['ratio_up']:.2f}x" + ("" if GOAL.met(r["ratio_up"]) else " (over)")
        rows.append([r["topology"], r["nodes"], r["links"], f"{r['flowlab_up_s'] * 1000:.0f} ms",
                     f"{r['mininet_up_s'] * 1000:.0f} ms", ratio,
                     f"{r['flowlab_down_s'] * 1000:.0f} ms", f"{r['mininet_down_s'] * 1000:.0f} ms"])
    output.table(f"bring-up, median of {results[0]['repeat']} runs, {results[0]['datapath']} "
                 f"datapath (goal: {GOAL})",
                 ["topology", "nodes", "links", "flowlab up", "bare Mininet up", "ratio",
                  "flowlab down", "bare Mininet down"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench.bringup builds networks: run it as root", file=sys.stderr)
        return 1
    results = measure(args.repeat)
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        report(results)
    goals.report(((GOAL, r["ratio_up"], r["topology"]) for r in results),
                 sys.stderr if args.format == "json" else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
