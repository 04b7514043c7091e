"""Soak: many up/exec/down cycles and verify runs in a row, nothing left behind.

Runs ``up TOPO --no-cli`` / ``exec`` / ``down`` through the command line
(each cycle a new process, as a user would) ``--cycles`` times, then
``verify TOPO`` ``--verifies`` times.  After each it records what a run must
not leave: links in the machine's namespace, OVS bridges, mounts, network
namespaces and processes of any run (by their marks), and the machine's
trend: open file descriptors and processes of the machine, and the resident
memory of ovs-vswitchd.  Fails (exit 1) if anything was left after any
cycle; prints the curves so a leak shows as a slope, not a single number.

    sudo .venv/bin/python -m bench.soak [--cycles 100] [--verifies 20] [--topology enterprise]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestrator.cli import output
from orchestrator.network import ovs
from orchestrator.results import ResultsError, verify as results  # noqa: E402
from orchestrator.runs import cleanup

FLOWLAB = [sys.executable, "-m", "orchestrator"]


def machine_fds() -> int:
    """Open files of the whole machine (the first field of file-nr)."""
    return int(Path("/proc/sys/fs/file-nr").read_text().split()[0])


def machine_processes() -> int:
    return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit())


def vswitchd_rss_kib() -> int:
    """Resident memory of ovs-vswitchd, by its pid file (0 if not found)."""
    try:
        pid = int(Path("/run/openvswitch/ovs-vswitchd.pid").read_text().split()[0])
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError, IndexError):
        return 0
    return next((int(line.split()[1]) for line in status.splitlines()
                 if line.startswith("VmRSS:")), 0)


def left_behind() -> dict:
    """What any flowlab run still has on the machine."""
    links = [l for l in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True)
             .stdout.splitlines() if "-eth" in l.split(":")[1]]
    found = {"processes": cleanup.marked_processes(), "bridges": ovs.bridges_of_run(),
             "links": links,
             "netns": subprocess.run(["ip", "netns", "list"], capture_output=True,
                                     text=True).stdout.split(),
             "mounts": [l for l in Path("/proc/self/mounts").read_text().splitlines()
                        if "flowlab" in l]}
    return {kind: items for kind, items in found.items() if items}


def sample(kind: str, index: int, seconds: float) -> dict:
    return {"kind": kind, "index": index, "seconds": round(seconds, 2),
            "machine_fds": machine_fds(), "machine_processes": machine_processes(),
            "vswitchd_rss_kib": vswitchd_rss_kib(), "left": left_behind()}


def up_exec_down(topology: str, node: str, env: dict) -> None:
    up = subprocess.Popen([*FLOWLAB, "up", topology, "--no-cli"], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = ""
        while "is up;" not in seen:
            line = up.stderr.readline()
            if not line:
                raise RuntimeError(f"up ended before the lab was up: {seen[-2000:]}")
            seen += line
        done = subprocess.run([*FLOWLAB, "exec", node, "--", "ip", "-4", "-o", "addr"],
                              capture_output=True, text=True, env=env, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"exec failed: {done.stderr}")
        subprocess.run([*FLOWLAB, "down"], capture_output=True, text=True, env=env,
                       timeout=120, check=True)
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
        up.wait(120)


def failed_checks(out: Path, index: int) -> dict[str, str]:
    """The failed checks of one verify, each with its first failure line;
    the run's output is kept in /var/tmp/flowlab/soak-failed-<index> to be
    looked at (a soak is where the rare failure shows)."""
    try:
        run = results.read(out)
    except ResultsError as exc:
        return {"verify": str(exc)}
    failed = {c.name: c.first_failure or "?" for c in run.checks if not c.passed}
    if failed:
        kept = Path("/var/tmp/flowlab") / f"soak-failed-{index}"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(out, kept)
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default="enterprise")
    parser.add_argument("--node", default="xiaoming", help="the node exec runs in")
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--verifies", type=int, default=20)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench.soak builds networks: run it as root", file=sys.stderr)
        return 1
    ovs.ensure_running()
    samples = [sample("start", 0, 0.0)]
    with tempfile.TemporaryDirectory(prefix="flowlab-soak-") as runs:
        env = dict(os.environ, FLOWLAB_RUNS=runs, FLOWLAB_KEEP_RUNS="5", FLOWLAB_KEEP_DAYS="0")
        for index in range(1, args.cycles + 1):
            began = time.monotonic()
            up_exec_down(args.topology, args.node, env)
            samples.append(sample("up/exec/down", index, time.monotonic() - began))
            output.note(f"cycle {index}: {samples[-1]['seconds']} s, left: "
                        f"{samples[-1]['left'] or 'nothing'}")
        for index in range(1, args.verifies + 1):
            began = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="flowlab-soak-verify-") as out:
                result = subprocess.run([*FLOWLAB, "verify", args.topology, "--out", out],
                                        capture_output=True, text=True, env=env)
                failures = failed_checks(Path(out), index)
            samples.append(sample("verify", index, time.monotonic() - began))
            samples[-1]["passed"] = result.returncode == 0
            samples[-1]["failures"] = failures
            output.note(f"verify {index}: {samples[-1]['seconds']} s, "
                        f"{'passed' if result.returncode == 0 else 'FAILED'}, left: "
                        f"{samples[-1]['left'] or 'nothing'}")
            for name, first_line in failures.items():
                output.note(f"  {name}: {first_line}")
    dirty = [s for s in samples if s["left"]]
    failed = [s for s in samples if s.get("passed") is False]
    if args.format == "json":
        print(json.dumps({"samples": samples, "dirty": len(dirty), "failed": len(failed)},
                         indent=2))
    else:
        show(samples)
    return 1 if dirty or failed else 0


def show(samples: list[dict]) -> None:
    """The curves: one row per sample, with a bar for ovs-vswitchd's memory
    relative to the largest seen, so a slope reads at a glance."""
    top = max(s["vswitchd_rss_kib"] for s in samples) or 1
    rows = [[s["kind"], str(s["index"]), f"{s['seconds']:.1f} s", str(s["machine_fds"]),
             str(s["machine_processes"]), f"{s['vswitchd_rss_kib'] / 1024:.1f} MiB",
             "█" * round(20 * s["vswitchd_rss_kib"] / top),
             "nothing" if not s["left"] else ", ".join(s["left"])] for s in samples]
    output.table("soak", ["step", "#", "time", "machine fds", "machine processes",
                          "ovs-vswitchd RSS", "", "left behind"], rows)
    first, last = samples[0], samples[-1]
    output.out.print(f"from start to end: fds {first['machine_fds']} -> {last['machine_fds']}, "
                     f"processes {first['machine_processes']} -> {last['machine_processes']}, "
                     f"ovs-vswitchd {first['vswitchd_rss_kib'] / 1024:.1f} -> "
                     f"{last['vswitchd_rss_kib'] / 1024:.1f} MiB; "
                     f"{sum(1 for s in samples if s['left'])} step(s) left something behind",
                     markup=False)


if __name__ == "__main__":
    sys.exit(main())
