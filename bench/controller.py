"""Controller benchmark: a lab under os-ken (l2) against OVS normal mode, same run.

For each topology, alternating the two modes so that drift of the machine
hits both alike: (a) the whole bring-up with its daemons (DHCP leases
included), (b) the first ping between two PCs that never spoke (ARP and
ICMP through packet-ins under the controller) and the second (learned
flows), (c) with ``--verify``, a whole ``verify``.  Prints medians and the
bring-up ratio controller / normal, and whether it meets its target
(:data:`bench.goals.CONTROLLER_BRINGUP`).

    sudo .venv/bin/python -m bench.controller [--repeat 3] [--verify] [--format json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import goals
from orchestrator.cli import output
from orchestrator.controller.launcher import ControllerSettings
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import TopologyOptions, registry
from orchestrator.network import ovs

GOAL = goals.CONTROLLER_BRINGUP
# topology, the pinging PC, a PC of its subnet it never spoke to
CASES = [("enterprise", "xiaoming", "10.1.1.3"), ("home", "pc", "192.168.1.129")]
RTT = re.compile(r"icmp_seq=(\d+) .*time=([\d.]+) ms")


def one_run(name: str, source: str, target: str, controller: bool, base: Path) -> dict:
    topo = registry.load(name, TopologyOptions())
    lab = Lab(topo, settings=LabSettings(runs_base=base, controller=ControllerSettings()
                                         if controller else None))
    start = time.perf_counter()
    lab.start()
    up = time.perf_counter() - start
    try:
        pinged = lab.run_in(source, ["ping", "-c", "2", "-i", "0.2", "-W", "2", target]).stdout
        rtts = {int(seq): float(ms) for seq, ms in RTT.findall(pinged)}
    finally:
        lab.stop()
    return {"up": up, "first": rtts.get(1), "second": rtts.get(2)}


def verify_seconds(name: str, controller: bool) -> float:
    argv = [sys.executable, "-m", "orchestrator", "verify", name, "--format", "json"]
    if controller:
        argv += ["--controller", "os-ken"]
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True)
    return time.perf_counter() - start


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="also time one whole verify each")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    ovs.ensure_running()
    results = []
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-") as base:
        for name, source, target in CASES:
            runs = {False: [], True: []}
            for _ in range(args.repeat):
                for controller in (False, True):
                    runs[controller].append(one_run(name, source, target, controller,
                                                    Path(base)))
            row = {"topology": name}
            for controller, label in ((False, "normal"), (True, "os-ken")):
                for key in ("up", "first", "second"):
                    row[f"{key}_{label}"] = median(r[key] for r in runs[controller])
            row["up_ratio"] = round(row["up_os-ken"] / row["up_normal"], 2)
            if args.verify:
                row["verify_normal"] = round(verify_seconds(name, False), 1)
                row["verify_os-ken"] = round(verify_seconds(name, True), 1)
            results.append(row)
    verdicts = [(GOAL, row["up_ratio"], row["topology"]) for row in results]
    if args.format == "json":
        print(json.dumps(results, indent=2))
        goals.report(verdicts, sys.stderr)
        return 0
    columns = list(results[0])
    output.table(f"os-ken (l2) against normal mode, medians of {args.repeat} "
                 f"(bring-up s, ping RTT ms; goal: {GOAL})", columns,
                 [[str(row.get(c, "")) for c in columns] for row in results])
    goals.report(verdicts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
