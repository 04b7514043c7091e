"""DNS benchmark: cache-hit queries per second of flowlab's dnslib resolver
against dnsmasq's cache, on the same machine in the same run.

One run starts, all on loopback addresses with free ports:

- an upstream: ``python -m services.dns authoritative`` for the zone
  ``bench.test.`` (a handful of names: A, AAAA, TXT, a CNAME chain, an
  NXDOMAIN), on 127.0.0.61;
- our resolver in forward mode towards it (``python -m services.dns resolver``,
  config from ``render_resolver_config``, query log on, as deployed), on
  127.0.0.62;
- dnsmasq as a forwarding cache towards the same upstream, on 127.0.0.63
  (``--cache-rr=TXT``: dnsmasq caches only A, AAAA, CNAME and SRV unless told).

Both caches are warmed with every query of the query file (and the answers
compared: both must serve the same data), then dnsperf runs against each in
turn with the same query file, clients, outstanding-query limit and
duration; every query is a cache hit (the upstream's query log proves no
query reached it during the measurement, and our query log must hold one
line per query).  A short second dnsperf run with one query outstanding
gives the unloaded latency.  Prints both rates and the ratio ours / dnsmasq,
whether it meets the project's goal (:data:`bench.goals.RESOLVER`), and the CPU time
each server spent per query: on a small machine dnsperf itself may be what limits the
rate, and the CPU per query still compares the servers.  Every process started is
stopped, by pid, before exit.

    .venv/bin/python -m bench.dns [--duration 10] [--clients 4] [--format json]
    .venv/bin/python -m bench.dns --resolver-source /tmp/old-checkout   # another version

Only loopback traffic, bounded by ``--duration``; needs ``dnsperf`` and
``dnsmasq`` on PATH (Debian packages of the same names).  dnsmasq runs with
``--user=root`` when started as root, as the current user otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from dnslib import QTYPE, RCODE, DNSRecord

from bench import goals
from services.dns.config import render_authoritative_config, render_resolver_config

REPO = Path(__file__).resolve().parent.parent
GOAL = goals.RESOLVER
UPSTREAM, OURS, DNSMASQ = "127.0.0.61", "127.0.0.62", "127.0.0.63"
ZONE = "bench.test."
TTL = 3600                              # nothing expires during a run
ZONE_LINES = [
    f"{ZONE} {TTL} IN SOA ns1.{ZONE} admin.{ZONE} 1 3600 600 86400 {TTL}",
    f"{ZONE} {TTL} IN NS ns1.{ZONE}",
    f"ns1.{ZONE} {TTL} IN A 192.0.2.53",
    *[f"h{i:02d}.{ZONE} {TTL} IN A 192.0.2.{i + 1}" for i in range(16)],
    *[f"h{i:02d}.{ZONE} {TTL} IN AAAA 2001:db8::{i + 1:x}" for i in range(4)],
    f"multi.{ZONE} {TTL} IN A 198.51.100.1",
    f"multi.{ZONE} {TTL} IN A 198.51.100.2",
    f"multi.{ZONE} {TTL} IN A 198.51.100.3",
    f"www.{ZONE} {TTL} IN CNAME h00.{ZONE}",
    f'txt.{ZONE} {TTL} IN TXT "flowlab dns benchmark"',
]
QUERIES = ([(f"h{i:02d}.{ZONE}", "A") for i in range(16)]
           + [(f"h{i:02d}.{ZONE}", "AAAA") for i in range(4)]
           + [(f"multi.{ZONE}", "A"), (f"www.{ZONE}", "A"), (f"txt.{ZONE}", "TXT"),
              (f"nope.{ZONE}", "A")])
DNSPERF_TIMEOUT = 2                     # seconds before dnsperf counts a query lost
LATENCY_SECONDS = 2                     # the unloaded-latency run, per server


class BenchError(RuntimeError):
    pass


# -- processes -------------------------------------------------------------------
class Processes:
    """Everything this run started, stopped by pid (SIGTERM, then SIGKILL)."""

    def __init__(self):
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], stderr_path: Path, **kwargs) -> subprocess.Popen:
        with open(stderr_path, "w") as stderr:
            proc = subprocess.Popen(argv, stderr=stderr, **kwargs)
        self.procs.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()


def _ready_line(proc: subprocess.Popen, what: str, stderr_path: Path, deadline: float = 15.0) -> int:
    """The port from the daemon's ``ready ADDRESS:PORT`` line."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(deadline)
    if not result or not result[0].startswith("ready "):
        raise BenchError(f"{what} did not start: {stderr_path.read_text().strip() or 'no ready line'}")
    return int(result[0].strip().rsplit(":", 1)[1])


def _free_port(address: str) -> int:
    """A port free for both UDP and TCP on ``address`` (for dnsmasq, which
    cannot report the one it picked)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((address, 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind((address, port))
            except OSError:
                continue
            return port
        finally:
            udp.close()
            tcp.close()
    raise BenchError(f"no free port on {address}")


def _ask(address: str, port: int, name: str, qtype: str, timeout: float = 1.0) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    return DNSRecord.parse(query.send(address, port, timeout=timeout))


def _wait_answering(address: str, port: int, proc: subprocess.Popen, what: str,
                    stderr_path: Path, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited ({proc.returncode}): {stderr_path.read_text().strip()}")
        try:
            _ask(address, port, f"h00.{ZONE}", "A", timeout=0.3)
            return
        except (OSError, socket.timeout):
            time.sleep(0.1)
    raise BenchError(f"{what} does not answer on {address}:{port}")


# -- the parts -------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_servers(procs: Processes, work: Path, query_log: bool, source: Path) -> dict:
    python = sys.executable
    upstream_log = work / "upstream.log"
    config = work / "upstream.toml"
    config.write_text(render_authoritative_config(listen=UPSTREAM, port=0, zones={ZONE: ZONE_LINES},
                                                  query_log=str(upstream_log)))
    err = work / "upstream.err"
    proc = procs.start("upstream", [python, "-m", "services.dns", "authoritative", str(config)],
                       err, cwd=REPO, stdout=subprocess.PIPE, text=True)
    upstream_port = _ready_line(proc, "the upstream (authoritative)", err)

    ours_log = work / "resolver.log" if query_log else None
    config = work / "resolver.toml"
    config.write_text(render_resolver_config(
        listen=OURS, port=0, mode="forward", forwarders=[f"{UPSTREAM}:{upstream_port}"],
        query_log=str(ours_log) if ours_log else None, cache_size=10000))
    err = work / "resolver.err"
    proc = procs.start("resolver", [python, "-m", "services.dns", "resolver", str(config)],
                       err, cwd=source, stdout=subprocess.PIPE, text=True,
                       env={**os.environ, "PYTHONPATH": str(source)})
    ours_port = _ready_line(proc, "our resolver", err)
    ours_pid = proc.pid

    dnsmasq_port = _free_port(DNSMASQ)
    err = work / "dnsmasq.err"
    user = "root" if os.geteuid() == 0 else None
    argv = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "-C", "/dev/null",
            f"--server={UPSTREAM}#{upstream_port}", f"--listen-address={DNSMASQ}",
            f"--port={dnsmasq_port}", "--bind-interfaces", "--cache-size=10000", "--cache-rr=TXT",
            f"--pid-file={work / 'dnsmasq.pid'}", "--log-facility=-"]
    if user:
        argv.append(f"--user={user}")
    proc = procs.start("dnsmasq", argv, err, stdout=subprocess.DEVNULL)
    _wait_answering(DNSMASQ, dnsmasq_port, proc, "dnsmasq", err)
    return {"upstream": (UPSTREAM, upstream_port, upstream_log, None),
            "ours": (OURS, ours_port, ours_log, ours_pid),
            "dnsmasq": (DNSMASQ, dnsmasq_port, None, proc.pid)}


def _summary(reply: DNSRecord) -> tuple:
    return (RCODE[reply.header.rcode],
            sorted((str(rr.rname).lower(), QTYPE[rr.rtype], str(rr.rdata)) for rr in reply.rr))


def warm(servers: dict) -> None:
    """Ask both caches every query twice; both must give the same answers,
    and our resolver must log the second round as cache hits."""
    answers = {}
    for which in ("ours", "dnsmasq"):
        address, port, _, _ = servers[which]
        for _ in range(2):
            answers[which] = [_summary(_ask(address, port, name, qtype)) for name, qtype in QUERIES]
    if answers["ours"] != answers["dnsmasq"]:
        diff = [(q, a, b) for q, a, b in zip(QUERIES, answers["ours"], answers["dnsmasq"]) if a != b]
        raise BenchError(f"the two caches disagree: {diff[:3]}")
    for (name, qtype), (rcode, records) in zip(QUERIES, answers["ours"]):
        expected = "NXDOMAIN" if name.startswith("nope.") else "NOERROR"
        if rcode != expected or (expected == "NOERROR" and not records):
            raise BenchError(f"unexpected answer for {name} {qtype}: {rcode} {records}")
    log = servers["ours"][2]
    if log is not None:
        tail = log.read_text().splitlines()[-len(QUERIES):]
        if not all(" cache=hit " in line for line in tail):
            raise BenchError("our resolver did not answer the second round from its cache")


def _lines(path: Path | None) -> int:
    if path is None:
        return 0
    with open(path, "rb") as f:
        return sum(1 for _ in f)


STAT = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "latency_avg_s": r"Average Latency \(s\):\s+([\d.]+)",
    "latency_min_s": r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)",
    "latency_max_s": r"Average Latency \(s\):.*max ([\d.]+)\)",
    "latency_stddev_s": r"Latency StdDev \(s\):\s+([\d.]+)",
}


def dnsperf(address: str, port: int, queries: Path, *, clients: int, duration: float,
            outstanding: int, max_qps: int | None) -> dict:
    argv = ["dnsperf", "-s", address, "-p", str(port), "-d", str(queries), "-c", str(clients),
            "-l", str(duration), "-q", str(outstanding), "-t", str(DNSPERF_TIMEOUT)]
    if max_qps:
        argv += ["-Q", str(max_qps)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(argv, capture_output=True, text=True,
                            timeout=duration + DNSPERF_TIMEOUT + 30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats = {"client_cpu_s": round(after.ru_utime + after.ru_stime
                                   - before.ru_utime - before.ru_stime, 2)}
    for key, pattern in STAT.items():
        match = re.search(pattern, result.stdout)
        if match is None:
            raise BenchError(f"dnsperf output has no {key!r}:\n{result.stdout}{result.stderr}")
        stats[key] = float(match.group(1))
    codes = re.search(r"Response codes:\s+(.*)", result.stdout)
    stats["rcodes"] = codes.group(1).strip() if codes else ""
    return stats


def measure(args, work: Path) -> dict:
    queries = work / "queries.txt"
    queries.write_text("".join(f"{name} {qtype}\n" for name, qtype in QUERIES))
    procs = Processes()
    try:
        servers = start_servers(procs, work, query_log=not args.no_query_log,
                                source=Path(args.resolver_source).resolve())
        warm(servers)
        upstream_log = servers["upstream"][2]
        runs: dict[str, list[dict]] = {"ours": [], "dnsmasq": []}
        for round_ in range(args.repeat):
            order = ("ours", "dnsmasq") if round_ % 2 == 0 else ("dnsmasq", "ours")
            for which in order:
                address, port, log, pid = servers[which]
                before_up, before_log = _lines(upstream_log), _lines(log)
                before_cpu = _cpu_seconds(pid)
                load = dnsperf(address, port, queries, clients=args.clients,
                               duration=args.duration, outstanding=args.outstanding,
                               max_qps=args.max_qps)
                cpu = _cpu_seconds(pid) - before_cpu
                load["server_cpu_s"] = round(cpu, 2)
                load["cpu_us_per_query"] = round(cpu / load["completed"] * 1e6, 2) \
                    if load["completed"] else None
                idle = dnsperf(address, port, queries, clients=1, duration=LATENCY_SECONDS,
                               outstanding=1, max_qps=None)
                load["upstream_queries"] = _lines(upstream_log) - before_up
                load["idle_latency_avg_s"] = idle["latency_avg_s"]
                load["idle_qps"] = idle["qps"]
                if log is not None:
                    # the query log must hold one line per answered query
                    load["log_lines"] = _lines(log) - before_log
                    load["log_expected"] = int(load["completed"] + idle["completed"])
                runs[which].append(load)
    finally:
        procs.stop_all()
    result = {}
    for which, items in runs.items():
        best = sorted(items, key=lambda r: r["qps"])[len(items) // 2]     # the median run
        result[which] = {**best, "qps_runs": [r["qps"] for r in items]}
    ours_qps = statistics.median(result["ours"]["qps_runs"])
    dnsmasq_qps = statistics.median(result["dnsmasq"]["qps_runs"])
    ours_cpu, dnsmasq_cpu = result["ours"]["cpu_us_per_query"], result["dnsmasq"]["cpu_us_per_query"]
    return {
        "ours": result["ours"], "dnsmasq": result["dnsmasq"],
        "ratio": round(ours_qps / dnsmasq_qps, 3) if dnsmasq_qps else None,
        "cpu_ratio": round(ours_cpu / dnsmasq_cpu, 2) if ours_cpu and dnsmasq_cpu else None,
        "target": GOAL.bound,
        "settings": {"duration_s": args.duration, "clients": args.clients,
                     "outstanding": args.outstanding, "max_qps": args.max_qps,
                     "repeat": args.repeat, "queries": len(QUERIES),
                     "query_log": not args.no_query_log, "cpus": os.cpu_count(),
                     "resolver_source": str(Path(args.resolver_source).resolve()),
                     "python": sys.version.split()[0]},
    }


# -- output ------------------------------------------------------------------------
def _rows(results: dict) -> list[list[str]]:
    rows = []
    for which, title in (("ours", "flowlab resolver (dnslib)"), ("dnsmasq", "dnsmasq")):
        r = results[which]
        lost = f"{int(r['lost'])}/{int(r['sent'])}"
        cpu = "-" if r["cpu_us_per_query"] is None else f"{r['cpu_us_per_query']:.1f}"
        rows.append([title, f"{r['qps']:,.0f}", f"{r['latency_avg_s'] * 1000:.3f}",
                     f"{r['latency_max_s'] * 1000:.1f}",
                     f"{r['idle_latency_avg_s'] * 1000:.3f}", cpu, lost,
                     str(r["upstream_queries"])])
    ratio = results["ratio"]
    verdict = "meets" if ratio is not None and GOAL.met(ratio) else "BELOW"
    cpu_ratio = "-" if results["cpu_ratio"] is None else f"{results['cpu_ratio']:.2f}x"
    rows.append(["ratio ours / dnsmasq", f"{ratio:.2f}x ({verdict} goal >= {GOAL.bound}x)",
                 "", "", "", cpu_ratio, "", ""])
    return rows


COLUMNS = ["server", "queries/s (cache hits)", "avg latency ms", "max latency ms",
           "idle latency ms", "server CPU us/query", "lost", "upstream queries"]


def report(results: dict) -> None:
    s = results["settings"]
    title = (f"DNS cache hits: {s['queries']} names, dnsperf {s['duration_s']}s, "
             f"-c {s['clients']} -q {s['outstanding']}"
             + (f" -Q {s['max_qps']}" if s["max_qps"] else "")
             + f", {s['repeat']} round(s), query log {'on' if s['query_log'] else 'off'}, "
               f"{s['cpus']} CPUs")
    rows = _rows(results)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table
        grid = Table(title=title, title_justify="left")
        for column in COLUMNS:
            grid.add_column(column)
        for row in rows:
            grid.add_row(*row)
        Console().print(grid)
    else:
        print(title)
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
        for row in [COLUMNS] + rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    for which in ("ours", "dnsmasq"):
        r = results[which]
        if r["client_cpu_s"] >= 0.9 * s["duration_s"]:
            print(f"note: dnsperf used {r['client_cpu_s']:.1f} s of CPU in {s['duration_s']:g} s "
                  f"against {which}: the load generator, not the server, may be the limit",
                  file=sys.stderr)
    ours = results["ours"]
    if "log_lines" in ours and ours["log_lines"] != ours["log_expected"]:
        print(f"note: our query log got {ours['log_lines']} lines for {ours['log_expected']} "
              f"answered queries", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of load per server per round (default 10)")
    parser.add_argument("--clients", type=int, default=4, help="dnsperf -c (default 4)")
    parser.add_argument("--outstanding", type=int, default=100,
                        help="dnsperf -q, queries in flight (default 100)")
    parser.add_argument("--max-qps", type=int, default=None, help="dnsperf -Q (default unset)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds, alternating the order; the median is reported (default 1)")
    parser.add_argument("--no-query-log", action="store_true",
                        help="run our resolver without its query log (deployments keep it on)")
    parser.add_argument("--resolver-source", default=str(REPO), metavar="DIR",
                        help="run our resolver from this checkout (to compare versions; "
                             "default: this one)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    if args.duration <= 0 or args.clients < 1 or args.outstanding < 1 or args.repeat < 1:
        parser.error("--duration, --clients, --outstanding and --repeat must be positive")
    missing = [tool for tool in ("dnsperf", "dnsmasq") if shutil.which(tool) is None]
    if missing:
        print(f"bench.dns needs {' and '.join(missing)} on PATH", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory(prefix="flowlab-dns-bench-") as work:
            results = measure(args, Path(work))
    except BenchError as error:
        print(f"bench.dns: {error}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        report(results)
    goals.report([(GOAL, results["ratio"], "")], sys.stderr if args.format == "json" else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
