"""Scale benchmark: N DHCP hosts up with every lease, against bare Mininet.

The shipped ``scale`` topology (one DHCP server, N DHCP hosts on 100-port
switches in a chain, one flat /20) at 100, 300 and 1,000 hosts.  For each
size, alternately in the same run: (a) flowlab bringing it up with every
daemon and every lease bound (``Lab.start``: validation, network, server,
N dhclients each proven bound) and tearing it down, and (b) bare Mininet
building the same nodes and links and stopping them.  Printed per size:
both times, the ratios (targets of :mod:`bench.goals`: up at most 3x, down at most 1.2x),
seconds per host, and the memory of the run's own processes (the daemons
it started, summed RSS) and ovs-vswitchd's growth; as a table and, with
``--json FILE``, as JSON.

    sudo flock /tmp/flowlab-lab.lock .venv/bin/python -m bench.scale [--hosts 100 300 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from mininet.log import setLogLevel

from bench import goals
from bench.bringup import time_bare
from orchestrator.cli import output
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import TopologyOptions, registry
from orchestrator.network import capabilities, ovs

UP, DOWN = goals.SCALE_UP, goals.SCALE_DOWN


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def vswitchd_kib() -> int:
    pidfile = Path("/var/run/openvswitch/ovs-vswitchd.pid")
    return rss_kib(int(pidfile.read_text())) if pidfile.is_file() else 0


def time_flowlab(topo, runs_base: Path) -> dict:
    before = vswitchd_kib()
    lab = Lab(topo, settings=LabSettings(runs_base=runs_base))
    start = time.perf_counter()
    lab.start()
    up = time.perf_counter() - start
    bound = len(lab.leases())
    daemons = [pid for pid in map(lab.services.pid, lab.services.all()) if pid is not None]
    memory = sum(rss_kib(pid) for pid in daemons)
    grown = vswitchd_kib() - before
    start = time.perf_counter()
    lab.stop()
    return {"up": up, "down": time.perf_counter() - start, "bound": bound,
            "daemons": len(daemons), "daemon_rss_kib": memory, "vswitchd_growth_kib": grown}


def measure(hosts: list[int], repeat: int) -> list[dict]:
    ovs.ensure_running()
    setLogLevel("error")
    datapath = capabilities.datapath()
    results = []
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-scale-") as runs:
        for n in hosts:
            topo = registry.load("scale", TopologyOptions(guests=n))
            ours, bare = [], []
            for _ in range(repeat):
                bare.append(time_bare(topo, datapath))
                ours.append(time_flowlab(topo, Path(runs)))
            best = min(ours, key=lambda r: r["up"])
            bare_up = min(u for u, _ in bare)
            bare_down = min(d for _, d in bare)
            down = min(r["down"] for r in ours)
            results.append({
                "hosts": n, "nodes": len(topo.nodes), "links": len(topo.links),
                "datapath": datapath, "repeat": repeat,
                "flowlab_up_s": round(best["up"], 2), "mininet_up_s": round(bare_up, 2),
                "ratio_up": round(best["up"] / bare_up, 2),
                "flowlab_down_s": round(down, 2), "mininet_down_s": round(bare_down, 2),
                "ratio_down": round(down / bare_down, 2),
                "s_per_host": round(best["up"] / n, 4), "leases_bound": best["bound"],
                "daemons": best["daemons"],
                "daemon_rss_mib": round(best["daemon_rss_kib"] / 1024, 1),
                "vswitchd_growth_mib": round(best["vswitchd_growth_kib"] / 1024, 1)})
    return results


def report(results: list[dict]) -> None:
    rows = [[r["hosts"], f"{r['flowlab_up_s']:.1f} s", f"{r['mininet_up_s']:.1f} s",
             f"{r['ratio_up']:.2f}x" + ("" if UP.met(r["ratio_up"]) else " (over)"),
             f"{r['flowlab_down_s']:.1f} s", f"{r['mininet_down_s']:.1f} s",
             f"{r['ratio_down']:.2f}x" + ("" if DOWN.met(r["ratio_down"]) else " (over)"),
             f"{r['s_per_host'] * 1000:.0f} ms", str(r["leases_bound"]),
             f"{r['daemon_rss_mib']:.0f} MiB", f"{r['vswitchd_growth_mib']:.0f} MiB"]
            for r in results]
    output.table(f"scale: up with every lease vs bare Mininet, best of {results[0]['repeat']}, "
                 f"{results[0]['datapath']} datapath (targets: {UP}; {DOWN})",
                 ["hosts", "flowlab up", "bare up", "ratio", "flowlab down", "bare down",
                  "ratio", "per host", "leases", "daemons' RSS", "ovs-vswitchd +"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench.scale builds networks: run it as root", file=sys.stderr)
        return 1
    results = measure(args.hosts, args.repeat)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    met = goals.report([(goal, r[key], f"{r['hosts']} hosts") for r in results
                        for goal, key in ((UP, "ratio_up"), (DOWN, "ratio_down"))])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
