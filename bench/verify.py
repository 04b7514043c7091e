"""verify benchmark: the time of ``verify enterprise`` against the protocol
waits its checks cannot avoid (a lease's T1, an ARP entry's expiry, SYN-ACK
back-off, keepalive timers, TTLs counting down).

Runs ``python -m orchestrator verify TOPO`` once per topology and reads its
results.json: the whole run, the sum of the checks' own times, the sum of
their protocol waits, bring-up and teardown (the run less its checks), and
what is left (captures, scripting).  ``--topology`` repeats: the test
tree's user-style networks are measured the same way as the shipped labs.

    sudo .venv/bin/python bench/verify.py [--topology enterprise]... [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.cli import output  # noqa: E402


def measure(topology: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="flowlab-bench-verify-") as out:
        run = subprocess.run([sys.executable, "-m", "orchestrator", "verify", topology,
                              "--out", out], cwd=REPO, capture_output=True, text=True)
        report = json.loads((Path(out) / "results.json").read_text())
    checks = report["checks"]
    own = sum(c["seconds"] for c in checks)
    waits = sum(c["protocol_wait"] for c in checks)
    return {"topology": topology, "passed": run.returncode == 0, "total_s": report["seconds"],
            "checks_s": round(own, 2), "protocol_wait_s": round(waits, 2),
            "bringup_teardown_s": round(report["seconds"] - own, 2),
            "ratio_total_to_waits": round(report["seconds"] / waits, 2) if waits else None,
            "overhead_s": round(report["seconds"] - waits, 2),
            "per_check": [{"name": c["name"], "seconds": c["seconds"],
                           "protocol_wait": c["protocol_wait"]} for c in checks]}


def show(result: dict) -> None:
    output.table(f"verify {result['topology']}: where the time goes",
                 ["check", "time", "protocol waits"],
                 [[c["name"], f"{c['seconds']:.2f} s", f"{c['protocol_wait']:.2f} s"]
                  for c in result["per_check"]])
    ratio = result["ratio_total_to_waits"]
    output.out.print(f"whole run {result['total_s']:.1f} s; bring-up and teardown "
                     f"{result['bringup_teardown_s']:.1f} s; protocol waits "
                     f"{result['protocol_wait_s']:.1f} s"
                     + (f" (ratio {ratio}x)" if ratio else "")
                     + f"; everything else {result['overhead_s']:.1f} s; "
                     f"{'all checks passed' if result['passed'] else 'SOME CHECKS FAILED'}",
                     markup=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", action="append", default=[],
                        help="a topology name or file (repeatable; default enterprise)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/verify.py builds networks: run it as root", file=sys.stderr)
        return 1
    results = [measure(topology) for topology in args.topology or ["enterprise"]]
    if args.format == "json":
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return 0
    for result in results:
        show(result)
    if len(results) > 1:
        output.table("verify per topology", ["topology", "whole run", "bring-up and teardown",
                                             "checks", "protocol waits", "passed"],
                     [[r["topology"], f"{r['total_s']:.1f} s", f"{r['bringup_teardown_s']:.1f} s",
                       f"{r['checks_s']:.1f} s", f"{r['protocol_wait_s']:.1f} s",
                       "yes" if r["passed"] else "NO"] for r in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
