"""verify benchmark: the time of ``verify enterprise`` against the protocol
waits its checks cannot avoid (a lease's T1, an ARP entry's expiry, SYN-ACK
back-off, keepalive timers, TTLs counting down).

Runs the verify pipeline of the library (:func:`orchestrator.verify.verify`,
what ``verify TOPO`` runs) in a lab of TOPO and reads the record it
returns: the whole run, the sum of the checks' own times, the sum of their
protocol waits, bring-up and teardown (the run less the checks' span), and
the ratio of the whole run to the waits (the target: at most 1.4x).  The
baseline, measured in the same run: ``verify --serial``, the checks one at
a time as verify ran them before checks overlapped.  ``--runs N`` repeats
the overlapped run N times in a row, each judged alone (determinism: all
must pass).  ``--topology`` repeats: the test tree's user-style networks
are measured the same way as the shipped labs.

    sudo .venv/bin/python -m bench.verify [--topology enterprise]... [--runs 10]
                                          [--no-baseline] [--format json]
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

from bench import goals
from orchestrator.cli import output
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import TopologyOptions, registry
from orchestrator.verify import choose, verify

TARGET = goals.VERIFY.bound


def measure(topology: str, serial: bool = False) -> dict:
    topo = registry.load(topology, TopologyOptions())
    checks = choose(topology, [], topo)
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-verify-") as out:
        start = time.monotonic()
        with Lab(topo, topology, LabSettings(unbound_ok=True)) as lab:
            run = verify(lab, checks, Path(out), serial=serial)
        total = time.monotonic() - start
    span = max((c.started + c.seconds for c in run.checks), default=0.0)
    waits = sum(c.protocol_wait for c in run.checks)
    return {"topology": topology, "serial": serial, "passed": run.passed,
            "failed": [c.name for c in run.checks if not c.passed],
            "total_s": round(total, 2), "checks_s": round(sum(c.seconds for c in run.checks), 2),
            "checks_span_s": round(span, 2), "protocol_wait_s": round(waits, 2),
            "bringup_teardown_s": round(total - span, 2),
            "ratio_total_to_waits": round(total / waits, 2) if waits else None,
            "overlapped": sum(1 for c in run.checks if c.alongside),
            "per_check": [{"name": c.name, "started": c.started, "seconds": c.seconds,
                           "protocol_wait": c.protocol_wait, "alongside": list(c.alongside)}
                          for c in run.checks]}


def bench(topology: str, runs: int, baseline: bool) -> dict:
    serial = measure(topology, serial=True) if baseline else None
    overlapped = [measure(topology) for _ in range(runs)]
    ratios = [r["ratio_total_to_waits"] for r in overlapped if r["ratio_total_to_waits"]]
    totals = [r["total_s"] for r in overlapped]
    return {"topology": topology, "target_ratio": TARGET, "serial_baseline": serial,
            "runs": overlapped, "all_passed": all(r["passed"] for r in overlapped),
            "ratio_median": statistics.median(ratios) if ratios else None,
            "ratio_max": max(ratios) if ratios else None,
            "total_median_s": statistics.median(totals),
            "speedup_vs_serial": round(serial["total_s"] / statistics.median(totals), 2)
            if serial else None}


def show(result: dict) -> None:
    last = result["runs"][-1]
    output.table(f"verify {result['topology']}: where the time goes (last run)",
                 ["check", "started", "time", "protocol waits", "alongside"],
                 [[c["name"], f"{c['started']:.2f} s", f"{c['seconds']:.2f} s",
                   f"{c['protocol_wait']:.2f} s", ", ".join(c["alongside"])]
                  for c in last["per_check"]])
    rows = [["serial (baseline)", *_row(result["serial_baseline"])]] \
        if result["serial_baseline"] else []
    rows += [[f"run {i}", *_row(r)] for i, r in enumerate(result["runs"], 1)]
    output.table(f"verify {result['topology']}: runs",
                 ["run", "whole run", "checks' span", "bring-up and teardown",
                  "protocol waits", "ratio", "passed"], rows)
    speedup = result["speedup_vs_serial"]
    if result["ratio_median"] is None:
        ratio = "no protocol waits to compare with (no target applies)"
    else:
        ratio = (f"ratio of the whole run to its protocol waits: median "
                 f"{result['ratio_median']}x, worst {result['ratio_max']}x (target {TARGET}x)")
    output.out.print(f"{len(result['runs'])} run(s), "
                     f"{'all passed' if result['all_passed'] else 'SOME FAILED'}; {ratio}"
                     + (f"; {speedup}x faster than one check at a time" if speedup else ""),
                     markup=False)


def _row(r: dict) -> list[str]:
    return [f"{r['total_s']:.1f} s", f"{r['checks_span_s']:.1f} s",
            f"{r['bringup_teardown_s']:.1f} s", f"{r['protocol_wait_s']:.1f} s",
            "no waits" if r["ratio_total_to_waits"] is None else f"{r['ratio_total_to_waits']}x",
            "yes" if r["passed"] else "NO: " + ", ".join(r["failed"])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", action="append", default=[],
                        help="a topology name or file (repeatable; default enterprise)")
    parser.add_argument("--runs", type=int, default=1,
                        help="overlapped runs in a row per topology (default 1)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the serial baseline run")
    parser.add_argument("--require-pass", action="store_true",
                        help="exit 1 unless every run passed every check (determinism)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/verify.py builds networks: run it as root", file=sys.stderr)
        return 1
    results = [bench(topology, args.runs, args.baseline)
               for topology in args.topology or ["enterprise"]]
    if args.format == "json":
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    else:
        for result in results:
            show(result)
    goals.report([(goals.VERIFY, r["ratio_max"], f"{r['topology']}, worst of {len(r['runs'])}")
                  for r in results if r["ratio_max"] is not None],
                 sys.stderr if args.format == "json" else None)
    return 1 if args.require_pass and not all(r["all_passed"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
