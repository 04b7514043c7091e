"""A check's captures as a verify run left them, read back for a ladder.

A check's record (:class:`~orchestrator.results.verify.CheckRecord`) lists
its capture blocks: the file of every point and the block's ``merged.pcap``.
The merged file is plain pcap, which keeps no capture point, so each of its
packets gets its point back from the per-point file holding the same bytes
at the same time; its frame numbers stay those of the merged file
(Wireshark's), which are the frames the check's errata point at.
"""

from __future__ import annotations

from collections import defaultdict, deque
from pathlib import Path

from ..capture.tcpdump import point_label
from ..errors import FlowlabError
from ..packets import Packets, read
from ..results.verify import CaptureBlock, CheckRecord
from .marks import draw_failure_text, mark_errata, note_errata
from .model import Ladder, build


class LadderInputError(FlowlabError):
    exit_status = 2


def siblings(merged: Path) -> CaptureBlock:
    """A merged pcap given alone: the other pcaps of its directory are its points."""
    merged = Path(merged)
    return CaptureBlock(str(merged), tuple(str(p) for p in sorted(
        p for p in merged.parent.glob("*.pcap") if p.name != merged.name)))


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


def labelled(block: CaptureBlock, topo=None) -> Packets:
    """The merged file's packets in file order, each labelled with its point
    (a packet no point's file holds keeps the merged file's name)."""
    if not Path(block.merged).is_file():
        raise LadderInputError(f"{block.merged}: no such capture")
    merged = read(block.merged)
    where: dict = defaultdict(deque)
    for path in map(Path, block.points):
        if path.is_file():
            point = point_of(path, topo)
            for p in read(path, point=point):
                where[(p.tns, p.data)].append(point)
    for p in merged:
        points = where.get((p.tns, p.data))
        if points:
            p.point = points.popleft()
    return merged


def check_ladders(record: CheckRecord, topo=None) -> list[Ladder]:
    """One ladder per capture block of the check: each erratum marked on the
    arrow of the frame that showed it (an erratum shown by no frame is a note
    of the last ladder), its first failure drawn on the last ladder."""
    ladders, packets = [], []
    found = record.captures
    for number, block in enumerate(found, 1):
        labelled_packets = labelled(block, topo)
        part = f" (capture {number} of {len(found)})" if len(found) > 1 else ""
        ladder = build(labelled_packets, topo, f"{record.name}{part}: {block.merged}")
        ladders.append(mark_errata(ladder, record.errata, block.merged))
        packets.append(labelled_packets)
    if not ladders:
        return []
    unplaced = [e for e in record.errata if e.frame is None]
    if unplaced:
        ladders[-1] = note_errata(ladders[-1], unplaced)
    if not record.passed and record.failures:
        ladders[-1] = draw_failure_text(ladders[-1], record.failures[0], packets[-1])
    return ladders
