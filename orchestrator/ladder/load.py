"""A check's captures as a verify run left them, read back for a ladder.

``results.json`` lists, per check, its pcaps: for each capture block the
file of every point, then that block's ``merged.pcap``.  The merged file is
plain pcap, which keeps no capture point, so each of its packets gets its
point back from the per-point file holding the same bytes at the same time;
its frame numbers stay those of the merged file (Wireshark's).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

from ..capture.recording import MERGED
from ..capture.tcpdump import point_label
from ..errors import FlowlabError
from ..packets import Packets, read
from .marks import ERRATUM_SHOWN_BY, draw_failure_text, mark_errata
from .model import Ladder, build, distinct_packets


class LadderInputError(FlowlabError):
    exit_status = 2


@dataclass(frozen=True)
class Block:
    """One capture block of a check: its merged file and its points' files."""

    merged: Path
    points: tuple[Path, ...]


def blocks(pcaps: list[str]) -> list[Block]:
    """Split a check's pcaps list at each ``merged.pcap``."""
    found, pending = [], []
    for name in pcaps:
        path = Path(name)
        if path.name == MERGED:
            found.append(Block(path, tuple(pending)))
            pending = []
        else:
            pending.append(path)
    return found


def siblings(merged: Path) -> Block:
    """A merged pcap given alone: the other pcaps of its directory are its points."""
    return Block(merged, tuple(sorted(p for p in merged.parent.glob("*.pcap")
                                      if p.name != merged.name)))


def point_of(path: Path, topo=None) -> str:
    """The capture point a ``<node>-<interface>.pcap`` file was taken at, as
    :func:`~orchestrator.capture.tcpdump.point_label` names it: by the model's
    interfaces when given, else by the interface repeating the node's name
    (``pc1-pc1-eth0.pcap`` is ``pc1-eth0``), else the file's name."""
    stem = path.name.removesuffix(".pcap")
    if topo is not None:
        for iface in topo.interfaces():
            if f"{iface.node}-{iface.name}" == stem:
                return point_label(iface.node, iface.name)
    for i, char in enumerate(stem):
        if char == "-" and stem[i + 1:].startswith(stem[:i] + "-"):
            return stem[i + 1:]
    return stem


def labelled(block: Block, topo=None) -> Packets:
    """The merged file's packets in file order, each labelled with its point
    (a packet no point's file holds keeps the merged file's name)."""
    if not block.merged.is_file():
        raise LadderInputError(f"{block.merged}: no such capture")
    merged = read(block.merged)
    where: dict = defaultdict(deque)
    for path in block.points:
        if path.is_file():
            point = point_of(path, topo)
            for p in read(path, point=point):
                where[(p.tns, p.data)].append(point)
    for p in merged:
        points = where.get((p.tns, p.data))
        if points:
            p.point = points.popleft()
    return merged


def capture_counts(pcaps: list[str]) -> list[dict]:
    """Per capture block of a check: its merged file, the frames in it and
    the distinct packets (each seen at one point or more), which results.json
    keeps so that a drawing of the capture can be held to it."""
    counts = []
    for block in blocks(list(pcaps)):
        if block.merged.is_file():
            packets = labelled(block)
            counts.append({"merged": str(block.merged), "frames": len(packets),
                           "packets": distinct_packets(packets)})
    return counts


@dataclass(frozen=True)
class CheckRecord:
    """What results.json says of one check."""

    name: str
    passed: bool
    failures: tuple[str, ...]
    errata: tuple[dict, ...]
    pcaps: tuple[str, ...]


def results(directory: Path) -> tuple[str, list[CheckRecord]]:
    """The topology name and the checks of a verify output directory."""
    data, checks = read_results(directory)
    return data.get("topology", ""), checks


def read_results(directory: Path) -> tuple[dict, list[CheckRecord]]:
    """results.json of a verify output directory as written, and its checks;
    refused (LadderInputError) when missing or not verify's."""
    path = Path(directory) / "results.json"
    if not path.is_file():
        raise LadderInputError(f"{directory}: no results.json (not a verify output directory)")
    try:
        data = json.loads(path.read_text())
        checks = [record_of(c) for c in data["checks"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise LadderInputError(f"{path}: not a results.json of verify ({exc})") from None
    return data, checks


def record_of(entry: dict) -> CheckRecord:
    """A check of results.json (or a ``CheckResult.as_dict()``)."""
    return CheckRecord(entry["name"], bool(entry["passed"]), tuple(entry.get("failures", ())),
                       tuple(entry.get("errata", ())), tuple(entry.get("pcaps", ())))


def check_ladders(record: CheckRecord, topo=None) -> list[Ladder]:
    """One ladder per capture block of the check: its errata marked on the
    first arrow that shows each (else noted on the last ladder), its first
    failure drawn on the last ladder."""
    found = blocks(list(record.pcaps))
    ladders, packets = [], []
    for number, block in enumerate(found, 1):
        labelled_packets = labelled(block, topo)
        part = f" (capture {number} of {len(found)})" if len(found) > 1 else ""
        ladders.append(build(labelled_packets, topo, f"{record.name}{part}: {block.merged}"))
        packets.append(labelled_packets)
    if not ladders:
        return []
    for erratum in record.errata:
        for i, ladder in enumerate(ladders):
            if any(a.erratum is None and ERRATUM_SHOWN_BY[erratum["key"]](a)
                   for a in ladder.arrows):
                ladders[i] = mark_errata(ladder, [erratum])
                break
        else:
            ladders[-1] = mark_errata(ladders[-1], [erratum])
    if not record.passed and record.failures:
        ladders[-1] = draw_failure_text(ladders[-1], record.failures[0], packets[-1])
    return ladders
