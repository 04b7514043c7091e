"""reach benchmark: the cost of the reach check as hosts grow.

A generated campus (two access switches joined by a trunk carrying four
VLANs, one router with a leg in each, static addresses) with 20, 50 and
100 hosts spread round-robin over the VLANs and switches.  Above 12 hosts
reach samples (its module docstring): each host pings the next host of its
own VLAN and one host of every other VLAN, so pings grow as hosts x 4, not
as hosts x (hosts - 1).  For each size: bring-up time, pings, capture
points, and the check's time split into planning (model), captures
started, pings, captures stopped and read, and judging; and the whole
l2-scope check (one ARP broadcast per host, every interface captured).

    sudo flock /tmp/flowlab-lab.lock .venv/bin/python -m bench.reach [--hosts 20 50 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from orchestrator.checks.base import CheckContext
from orchestrator.checks.derived.facts import end_host_names, macs, network
from orchestrator.checks.derived.l2scope import L2Scope
from orchestrator.checks.derived.reach import (
    BPF,
    capture_points,
    judge_reach,
    ping_all,
    plan_pairs,
    points_by_node,
    select_pairs,
)
from orchestrator.checks.runner import run_check
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import Topology

VLANS = (10, 20, 30, 40)


def generated(hosts: int) -> Topology:
    topo = Topology(f"reach{hosts}", f"{hosts} hosts in {len(VLANS)} VLANs on two switches")
    vlans = [topo.vlan(v, f"v{v}", topo.subnet(f"10.{v}.0.0/16", gateway=f"10.{v}.0.1"))
             for v in VLANS]
    s1, s2 = topo.switch("bs1"), topo.switch("bs2")
    topo.link(s1, s2, trunk=[v.id for v in vlans])
    r = topo.router("br")
    for vlan in vlans:
        topo.link(r, s1, vlan=vlan, ip=f"10.{vlan.id}.0.1/16")
    for index in range(hosts):
        vlan = vlans[index % len(vlans)]
        switch = (s1, s2)[(index // len(vlans)) % 2]
        host = topo.host(f"bh{index}", gateway=f"10.{vlan.id}.0.1")
        address = f"10.{vlan.id}.{1 + index // 200}.{10 + index % 200}/16"
        topo.link(host, switch, vlan=vlan, ip=address)
    return topo


def measure(hosts: int, base: Path) -> dict:
    topo = generated(hosts)
    start = time.perf_counter()
    with Lab(topo, settings=LabSettings(runs_base=base, services=True)) as lab:
        up = time.perf_counter() - start
        ctx = CheckContext(lab, "reach", base / f"pcaps-{hosts}")
        t = [time.perf_counter()]
        net = network(lab)
        names = end_host_names(topo)
        pairs = select_pairs(net, names)
        keys = {(n, i.name) for n in net.tables for i in topo.interfaces(n)}
        planned = plan_pairs(net, pairs, macs(lab, keys))
        points = capture_points(planned, net)
        t.append(time.perf_counter())
        marks = {}
        with ctx.capture(points, BPF) as captured:
            marks["started"] = time.perf_counter()
            ping_all(ctx, planned)
            marks["pinged"] = time.perf_counter()
        t.append(time.perf_counter())
        evidence = judge_reach(captured.by_point, planned, "", points_by_node(points))
        t.append(time.perf_counter())
        scope = run_check(lab, L2Scope(), base / f"pcaps-{hosts}")
        if not scope.passed:
            raise SystemExit(f"l2-scope failed at {hosts} hosts: {scope.failures[0][:500]}")
    return {"hosts": hosts, "pings": len(pairs), "all_pairs": hosts * (hosts - 1),
            "points": len(points), "bring_up_s": round(up, 2),
            "check_s": round(t[-1] - t[0], 2), "plan_s": round(t[1] - t[0], 3),
            "captures_start_s": round(marks["started"] - t[1], 2),
            "pings_s": round(marks["pinged"] - marks["started"], 2),
            "captures_stop_read_s": round(t[2] - marks["pinged"], 2),
            "judge_s": round(t[3] - t[2], 3), "l2scope_s": round(scope.seconds, 2),
            "evidence": evidence[:80]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, Path(tmp)) for n in args.hosts]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return
    columns = ["hosts", "pings", "all_pairs", "points", "bring_up_s", "check_s", "plan_s",
               "captures_start_s", "pings_s", "captures_stop_read_s", "judge_s", "l2scope_s"]
    print(" ".join(f"{c:>10}" for c in columns))
    for row in rows:
        print(" ".join(f"{row[c]:>10}" for c in columns))
    for row in rows:
        print(f"{row['hosts']} hosts: {row['evidence']}...")


if __name__ == "__main__":
    main()
