"""Capture benchmark: the packet library against tshark and scapy, same run.

Generates (once, cached in the temporary directory) a capture of N packets
(default 1,000,000) made of rounds of the documented flows: a DHCP exchange
with the client's ARP probe, an ARP request and reply with a ping, a DNS
query and answer, and the eleven segments of a web visit; each round has its
own transaction id, ports, sequence numbers, addresses.  The file is written
from a few templates (made with scapy once) with the varying fields patched
in, not with scapy per packet.

Then, in one run:

(a) the library reads the file and evaluates a set of expectations over it
    (one OFFER per transaction, a strict DORA sequence, a DNS absence check,
    DNS answer and ARP counts, SYN-ACKs with relative numbers, one TCP
    conversation row by row);
(b) ``tshark -T fields`` extracts the same fields from the same file (only
    the extraction is timed: evaluating its output would come on top);
(c) scapy reads a sample (``PcapReader``) and accesses the same fields; its
    time per packet is extrapolated to N.

Prints packets per second and the ratios, a table on a terminal, plain lines otherwise,
or JSON; then whether each ratio meets its goal (:mod:`bench.goals`: the project's, at least
10x tshark; this bench's own, at least 20x scapy).

    .venv/bin/python -m bench.pcap [--packets 1000000] [--scapy-sample 50000]
                                   [--format table|json] [--no-tshark] [--no-scapy]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import goals
from orchestrator.packets import arp, conversation, dhcp, dns, expect, icmp, read, synth, tcp

FORMAT_VERSION = 2          # bump when the generated capture changes
GOALS = {"tshark": goals.PCAP, "scapy": goals.PCAP_SCAPY}
TSHARK_FIELDS = [
    "frame.time_epoch", "eth.src", "eth.dst", "ip.src", "ip.dst", "ip.ttl", "udp.srcport",
    "udp.dstport", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len",
    "dhcp.id", "dhcp.option.dhcp", "dhcp.ip.your", "dns.id", "dns.flags.response",
    "dns.flags.rcode", "dns.qry.name", "dns.a", "arp.opcode", "arp.dst.proto_ipv4", "icmp.type",
]

# ---------------------------------------------------------------- the capture

_RECORD = struct.Struct("<IIII")
_ROUND_SECONDS = 0.0005
_GAP = 0.00001


def _templates() -> list[tuple[str, bytes]]:
    """One round of packets as (role, frame bytes)."""
    dora = synth.dora_relay()["xiaoming-eth0"]
    pings = synth.arp_ping(pings=1)["xiaoming-eth0"]
    lookup = synth.dns_udp()["xiaoming-eth0"]
    web = synth.web11()["xiaoming-eth0"]
    roles = (["dhcp"] * 4 + ["probe"] + ["arp-request", "arp-reply", "icmp", "icmp"]
             + ["dns-query", "dns-response"] + ["tcp-c", "tcp-s", "tcp-c", "tcp-c", "tcp-s",
                                                "tcp-s", "tcp-c", "tcp-c", "tcp-s", "tcp-s",
                                                "tcp-c"])
    frames = [bytes(p) for p in dora + pings + lookup + web]
    return list(zip(roles, frames, strict=True))


ROUND = 22                  # packets per round (see _templates)


def _ip_checksum(block: bytearray, at: int) -> None:
    struct.pack_into("!H", block, at + 10, 0)
    total = sum(struct.unpack_from("!10H", block, at))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", block, at + 10, ~total & 0xFFFF)


def generate(path: Path, packets: int) -> None:
    """Write ``packets`` packets of rounds of the templates, fields patched per round."""
    templates = _templates()
    assert len(templates) == ROUND
    # One blob per round: record headers and frames; remember where to patch.
    blob = bytearray()
    layout = []                       # (role, record offset, frame offset, frame length)
    for role, frame in templates:
        layout.append((role, len(blob), len(blob) + 16, len(frame)))
        blob += _RECORD.pack(0, 0, len(frame), len(frame)) + frame
    pack_into, unpack_from = struct.pack_into, struct.unpack_from
    rounds = -(-packets // ROUND)
    base = 1_700_000_000
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        chunk = []
        for r in range(rounds):
            block = bytearray(blob)
            dx, dy = (r * 7919) & 0xFFFFFFFF, (r * 104729) & 0xFFFFFFFF
            port = 1024 + r % 64000
            for i, (role, record, frame, _size) in enumerate(layout):
                t = r * _ROUND_SECONDS + i * _GAP
                seconds = int(t)
                pack_into("<II", block, record, base + seconds, round((t - seconds) * 1e6))
                l3, l4 = frame + 14, frame + 34
                if role == "dhcp":
                    pack_into("!I", block, l4 + 12, 0x10000000 + r)
                    pack_into("!I", block, l4 + 8 + 28 + 2, r)          # chaddr, last 4 bytes
                elif role == "arp-request":
                    pack_into("!BB", block, frame + 14 + 26, (r >> 8) & 0xFF, r & 0xFF)
                elif role == "arp-reply":
                    pack_into("!BB", block, frame + 14 + 16, (r >> 8) & 0xFF, r & 0xFF)
                elif role == "icmp":
                    pack_into("!H", block, l4 + 6, r & 0xFFFF)
                elif role == "dns-query":
                    pack_into("!HH", block, l4 + 8, r & 0xFFFF, 0x0100)
                    pack_into("!H", block, l4, port)
                elif role == "dns-response":
                    pack_into("!H", block, l4 + 8, r & 0xFFFF)
                    pack_into("!H", block, l4 + 2, port)
                elif role in ("tcp-c", "tcp-s"):
                    seq, ack = unpack_from("!II", block, l4 + 4)
                    mine, theirs = (dx, dy) if role == "tcp-c" else (dy, dx)
                    pack_into("!I", block, l4 + 4, (seq + mine) & 0xFFFFFFFF)
                    if block[l4 + 13] & 0x10:
                        pack_into("!I", block, l4 + 8, (ack + theirs) & 0xFFFFFFFF)
                    pack_into("!H", block, l4 if role == "tcp-c" else l4 + 2, port)
                if role != "probe" and not role.startswith("arp"):
                    pack_into("!H", block, l3 + 4, (r * ROUND + i) & 0xFFFF)
                    _ip_checksum(block, l3)
            if r == rounds - 1 and packets % ROUND:
                block = block[:layout[packets % ROUND][1]]
            chunk.append(block)
            if len(chunk) >= 2000:
                out.write(b"".join(chunk))
                chunk = []
        out.write(b"".join(chunk))


def counts(packets: int) -> dict[int, int]:
    """How many rounds contain the packet of each template position."""
    full, rest = divmod(packets, ROUND)
    return {i: full + (1 if i < rest else 0) for i in range(ROUND)}


def capture_path(packets: int, directory: Path | None) -> tuple[Path, float | None]:
    directory = directory or Path(tempfile.gettempdir()) / "flowlab-bench"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"pcap-bench-v{FORMAT_VERSION}-{packets}.pcap"
    if path.exists():
        return path, None
    start = time.perf_counter()
    partial = path.with_suffix(f".{os.getpid()}.part")
    generate(partial, packets)
    partial.replace(path)
    return path, time.perf_counter() - start


# ---------------------------------------------------------------- (a) the library

DORA = [dhcp(type="DISCOVER"), dhcp(type="OFFER"), dhcp(type="REQUEST"), dhcp(type="ACK")]


def run_library(path: Path, packets: int) -> dict:
    n = counts(packets)
    rounds = n[0]
    start = time.perf_counter()
    cap = read(path)
    read_s = time.perf_counter() - start
    assert len(cap) == packets, len(cap)
    e = expect(cap)
    results = {}

    def check(label, run):
        t = time.perf_counter()
        run()
        results[label] = round(time.perf_counter() - t, 3)

    middle = rounds // 2
    check("one OFFER per xid (count_per)",
          lambda: e.count_per("xid", dhcp(type="OFFER"), exactly=1))
    check("DORA strict sequence of one xid",
          lambda: e.sequence(DORA, kind=dhcp(xid=0x10000000 + middle)))
    check("no DNS query for www.example.org (absence)",
          lambda: e.none(dns(qname="www.example.org.")))
    check("DNS answers count",
          lambda: e.count(dns(qr=True, rcode="NOERROR", a="61.135.169.125"), exactly=n[10]))
    check("ARP replies count", lambda: e.count(arp(op="reply"), exactly=n[6]))
    check("ARP request for one address",
          lambda: e.count(arp(op="request", target_ip=f"10.1.{(middle >> 8) & 255}."
                                                      f"{middle & 255}"), at_least=1))
    check("ICMP echo requests count", lambda: e.count(icmp(type=8), exactly=n[7]))
    check("SYN-ACKs with relative seq 0, ack 1",
          lambda: e.count(tcp(flags="SA", seq=0, ack=1), exactly=n[12]))

    def web11():
        conv = conversation(cap, client=("10.1.1.2", 1024 + middle % 64000))
        L, R = conv[3].len, conv[5].len
        C, S = "client → server", "server → client"
        conv.expect([(C, "S", 0, None, 0), (S, "SA", 0, 1, 0), (C, "A", 1, 1, 0),
                     (C, "PA", 1, 1, L), (S, "A", 1, 1 + L, 0), (S, "PA", 1, 1 + L, R),
                     (C, "A", 1 + L, 1 + R, 0), (C, "FA", 1 + L, 1 + R, 0),
                     (S, "A", 1 + R, 2 + L, 0), (S, "FA", 1 + R, 2 + L, 0),
                     (C, "A", 2 + L, 2 + R, 0)])
    check("web-11 conversation row by row", web11)
    total = time.perf_counter() - start
    return {"seconds": round(total, 3), "read_seconds": round(read_s, 3),
            "expectations": results, "packets_per_second": round(packets / total)}


# ---------------------------------------------------------------- (b) tshark

def run_tshark(path: Path, packets: int) -> dict | None:
    tshark = shutil.which("tshark")
    if tshark is None:
        return None
    argv = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=a"]
    for name in TSHARK_FIELDS:
        argv += ["-e", name]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = 0
    while True:
        data = proc.stdout.read(1 << 20)
        if not data:
            break
        lines += data.count(b"\n")
    proc.wait()
    seconds = time.perf_counter() - start
    if lines != packets:
        raise RuntimeError(f"tshark printed {lines} lines for {packets} packets")
    return {"seconds": round(seconds, 3), "packets_per_second": round(packets / seconds),
            "fields": len(TSHARK_FIELDS)}


# ---------------------------------------------------------------- (c) scapy

def run_scapy(path: Path, packets: int, sample: int) -> dict:
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.dns import DNS
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import PcapReader

    sample = min(sample, packets)
    start = time.perf_counter()
    seen = 0
    with PcapReader(str(path)) as reader:
        for p in reader:
            values = [p.time, p[Ether].src, p[Ether].dst]
            if IP in p:
                values += [p[IP].src, p[IP].dst, p[IP].ttl]
            if UDP in p:
                values += [p[UDP].sport, p[UDP].dport]
            if TCP in p:
                t = p[TCP]
                values += [t.sport, t.dport, t.flags, t.seq, t.ack, len(t.payload)]
            if BOOTP in p:
                values += [p[BOOTP].xid, p[BOOTP].yiaddr, p[DHCP].options[0]]
            if DNS in p:
                d = p[DNS]
                values += [d.id, d.qr, d.rcode, d.qd.qname if d.qd else None,
                           [a.rdata for a in d.an] if d.an else None]
            if ARP in p:
                values += [p[ARP].op, p[ARP].pdst]
            if ICMP in p:
                values += [p[ICMP].type]
            seen += 1
            if seen >= sample:
                break
    seconds = time.perf_counter() - start
    per_packet = seconds / seen
    return {"sample": seen, "sample_seconds": round(seconds, 3),
            "seconds": round(per_packet * packets, 1),
            "packets_per_second": round(1 / per_packet), "extrapolated": True}


# ---------------------------------------------------------------- report

def report(result: dict) -> None:
    rows = []
    lib = result["library"]
    rows.append(["library (read + all expectations)", f"{lib['seconds']:.2f}",
                 f"{lib['packets_per_second']:,}", "1.0x"])
    for key, label in (("tshark", "tshark -T fields (extraction only)"),
                       ("scapy", "scapy PcapReader + fields (extrapolated)")):
        other = result.get(key)
        if other:
            rows.append([label, f"{other['seconds']:.2f}", f"{other['packets_per_second']:,}",
                         f"{result['ratios'][key]:.1f}x slower"])
    made = ("generated in {:.1f} s".format(result["generated_seconds"])
            if result["generated_seconds"] is not None else "cached")
    title = (f"{result['packets']:,} packets ({result['capture_mb']} MB, {made}), "
             f"goals: {'; '.join(map(str, GOALS.values()))}")
    columns = ["reader", "seconds", "packets/s", "vs library"]
    details = [[name, f"{seconds:.3f}"] for name, seconds in lib["expectations"].items()]
    details.insert(0, ["read (walk records, no decoding)", f"{lib['read_seconds']:.3f}"])
    if sys.stdout.isatty():
        from orchestrator.cli import output
        output.table(title, columns, rows)
        output.table("library: time per step", ["step", "seconds"], details)
    else:
        print(title)
        widths = [max(len(str(r[i])) for r in rows + [columns]) for i in range(len(columns))]
        for row in [columns] + rows:
            print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
        print("library, time per step:")
        for name, seconds in details:
            print(f"  {seconds:>8}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--scapy-sample", type=int, default=50_000)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--cache", type=Path, default=None,
                        help="directory of the generated capture (default: $TMPDIR/flowlab-bench)")
    parser.add_argument("--no-tshark", action="store_true")
    parser.add_argument("--no-scapy", action="store_true")
    args = parser.parse_args()
    if args.packets < ROUND:
        parser.error(f"--packets must be at least {ROUND}")
    path, generated = capture_path(args.packets, args.cache)
    result = {"packets": args.packets, "capture": str(path),
              "capture_mb": round(path.stat().st_size / 1e6, 1),
              "generated_seconds": None if generated is None else round(generated, 2)}
    result["library"] = run_library(path, args.packets)
    if not args.no_tshark:
        result["tshark"] = run_tshark(path, args.packets)
    if not args.no_scapy:
        result["scapy"] = run_scapy(path, args.packets, args.scapy_sample)
    result["ratios"] = {key: round(result[key]["seconds"] / result["library"]["seconds"], 1)
                        for key in ("tshark", "scapy") if result.get(key)}
    result["targets_met"] = all(goal.met(result["ratios"][key]) for key, goal in GOALS.items()
                                if key in result["ratios"])
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        report(result)
    goals.report(((goal, result["ratios"].get(key), "") for key, goal in GOALS.items()),
                 sys.stderr if args.format == "json" else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
