"""report benchmark: how long report.html takes to render, and how big it is.

Two real run directories: `verify enterprise` (every check) and `race
--trials 100` (flat), each made here by running the command (or given with
--verify-dir / --race-dir to reuse earlier runs).  For each: the median of
five renders of report.html (pcaps read, ladders built and drawn, the page
written), its size, its SVG and arrow counts, and as the baseline measured
in the same run the time to only read the same pcaps with the project's
packet library, so the ratio says what drawing costs beyond reading.
Targets of the issue: under 1 s and under 5 MB each (:mod:`bench.goals`).

    sudo flock /tmp/flowlab-lab.lock .venv/bin/python -m bench.report [--trials 100]
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
from orchestrator.packets import read
from orchestrator.report.render import write_report

ROOT = Path(__file__).resolve().parent.parent
RENDERS = 5


def flowlab(*argv: str) -> None:
    """Run a command of the project (a lab run); its verdict does not matter here."""
    subprocess.run([sys.executable, "-m", "orchestrator", *argv], cwd=ROOT, check=False,
                   stdout=subprocess.DEVNULL)


def pcaps_drawn(directory: Path) -> list[Path]:
    """The pcaps a report of this directory reads: every merged file and the
    point files beside it."""
    return sorted(p for p in directory.rglob("*.pcap"))


def measure(kind: str, directory: Path) -> dict:
    seconds = []
    for _ in range(RENDERS):
        start = time.perf_counter()
        path = write_report(directory)
        seconds.append(time.perf_counter() - start)
    pcaps = pcaps_drawn(directory)
    reading = []
    for _ in range(RENDERS):
        start = time.perf_counter()
        packets = sum(len(read(p)) for p in pcaps)
        reading.append(time.perf_counter() - start)
    html = path.read_text()
    render, baseline = statistics.median(seconds), statistics.median(reading)
    return {"report": kind, "directory": str(directory), "render_s": round(render, 3),
            "read_pcaps_s": round(baseline, 3), "ratio": round(render / baseline, 2),
            "bytes": path.stat().st_size, "svgs": html.count("<svg"),
            "arrows": len(re.findall(r'<g class="arrow ', html)), "pcaps": len(pcaps),
            "packets_read": packets, "under_1s": goals.REPORT_TIME.met(render),
            "under_5MB": goals.REPORT_SIZE.met(path.stat().st_size / 1e6)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verify-dir", type=Path, help="an existing verify output directory")
    parser.add_argument("--race-dir", type=Path, help="an existing race output directory")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flowlab-bench-report-"))
    verify_dir, race_dir = args.verify_dir, args.race_dir
    if verify_dir is None:
        verify_dir = work / "verify"
        flowlab("verify", "enterprise", "--out", str(verify_dir))
    if race_dir is None:
        race_dir = work / "race"
        flowlab("race", "enterprise", "--trials", str(args.trials), "--out", str(race_dir))
    rows = [measure("verify enterprise", verify_dir),
            measure(f"race --trials {args.trials}", race_dir)]
    print(f"{'report':<22}{'render':>9}{'read pcaps':>12}{'ratio':>7}{'size':>10}"
          f"{'svgs':>6}{'arrows':>8}{'pcaps':>7}  targets")
    for r in rows:
        print(f"{r['report']:<22}{r['render_s']:>8.3f}s{r['read_pcaps_s']:>11.3f}s"
              f"{r['ratio']:>6.1f}x{r['bytes'] / 1e6:>8.2f}MB{r['svgs']:>6}{r['arrows']:>8}"
              f"{r['pcaps']:>7}  {'<1s ok' if r['under_1s'] else '>=1s MISSED'}, "
              f"{'<5MB ok' if r['under_5MB'] else '>=5MB MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(f"run directories: {verify_dir} {race_dir}")
    met = goals.report([(goal, figure, r["report"]) for r in rows for goal, figure in (
        (goals.REPORT_TIME, r["render_s"]), (goals.REPORT_SIZE, r["bytes"] / 1e6))])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
