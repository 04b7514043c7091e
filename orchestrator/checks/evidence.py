"""From what a check captured to what its record keeps.

A check's captures are blocks (one per ``ctx.capture``), each a pcap per
point and their merge.  Its record keeps, per block, the number of distinct
packets a drawing of it must show, and, per erratum it showed, the frame of
the merged pcap that shows it: so that the ladder marks that very packet,
whatever its label says.  Reading each merged pcap once serves both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..ladder.load import labelled
from ..ladder.model import distinct_packets
from ..packets import Packet, Packets
from ..results.verify import CaptureBlock, ErratumShown
from .errata import ERRATA


def frame_of(packets: Packets, packet: Packet | None) -> int | None:
    """The frame number (from 1) of ``packet`` in ``packets``, recognised by
    its time and bytes: a packet read from a point's file is found in the
    merged one."""
    if packet is None:
        return None
    for number, p in enumerate(packets, 1):
        if p.tns == packet.tns and p.data == packet.data:
            return number
    return None


def recorded(blocks: Iterable[CaptureBlock], errata: Iterable
             ) -> tuple[tuple[CaptureBlock, ...], tuple[ErratumShown, ...]]:
    """The blocks with their frames and distinct packets counted, and each
    erratum (a :class:`~.base.Demonstrated`) with the block and frame of the
    packet that showed it (none: it is kept without)."""
    counted, located = [], {}
    errata = list(errata)
    for block in blocks:
        if not Path(block.merged).is_file():
            counted.append(block)
            continue
        packets = labelled(block)
        counted.append(CaptureBlock(block.merged, block.points, len(packets),
                                    distinct_packets(packets)))
        for index, erratum in enumerate(errata):
            if index not in located:
                frame = frame_of(packets, erratum.packet)
                if frame is not None:
                    located[index] = (block.merged, frame)
    shown = []
    for index, erratum in enumerate(errata):
        entry = ERRATA[erratum.key]
        capture, frame = located.get(index, (None, None))
        shown.append(ErratumShown(erratum.key, entry.texts_say, entry.wire, erratum.evidence,
                                  capture, frame))
    return tuple(counted), tuple(shown)
