"""Captures as sequences of packets: reading a file, merging several points.

``read("xiaoming-eth0.pcap")`` gives a :class:`Capture`, an ordered,
indexable sequence of :class:`~.packet.Packet` labelled with its capture
point (by default the file name without extension, which is how
:mod:`orchestrator.capture.tcpdump` names its files: ``<node>-<interface>.pcap``).
``merge(a, b, ...)`` interleaves several captures by time into one
:class:`Packets`; every packet keeps the label of the point where it was
seen, so a check can follow one DISCOVER from xiaoming's wire to the
server's.  ``write_pcap``/``write_pcapng`` (in :mod:`.pcapio`) save the
result for Wireshark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, overload

from .packet import LINKTYPE_ETHERNET, Packet
from .pause import collector_paused
from .pcapio import FileInfo, walk
from .tcpseq import IsnTable


class Packets(Sequence[Packet]):
    """An ordered run of packets: a capture, a merge of captures, or a selection."""

    def __init__(self, packets: Iterable[Packet] = (), label: str = ""):
        self._items: list[Packet] = packets if isinstance(packets, list) else list(packets)
        self.label = label

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Packet]:
        return iter(self._items)

    @overload
    def __getitem__(self, index: int) -> Packet: ...

    @overload
    def __getitem__(self, index: slice) -> "Packets": ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Packets(self._items[index], self.label)
        return self._items[index]

    def filter(self, matcher: Callable[[Packet], bool]) -> "Packets":
        """The packets ``matcher`` accepts (a matcher of :mod:`.match`, or any
        function of a packet), in order."""
        candidates = self.having(getattr(matcher, "need", 0))
        with collector_paused():
            return Packets([p for p in candidates if matcher(p)], self.label)

    def having(self, need: int) -> list[Packet]:
        """The packets that carry every layer of ``need`` (bits of :mod:`.kinds`),
        in order.  Kept per value of ``need``: the second expectation about
        DNS packets does not look at the million others again."""
        if not need:
            return self._items
        cache = self.__dict__.setdefault("_having", {})
        found = cache.get(need)
        if found is None:
            with collector_paused():
                found = cache[need] = [p for p in self._items
                                       if (p._kinds if p._kinds >= 0 else p._classify()) & need
                                       == need]
        return found

    @property
    def start(self) -> float:
        """Time of the first packet: relative times are counted from it."""
        return self._items[0].time if self._items else 0.0

    @property
    def points(self) -> list[str]:
        """The capture points present, in order of first appearance."""
        return list(dict.fromkeys(p.point for p in self._items))

    def describe(self, limit: int | None = 40) -> str:
        """One tcpdump-like line per packet (see :func:`.describe.describe`)."""
        from .describe import render
        return render(self._items, self.start, limit=limit)

    def __repr__(self) -> str:
        points = ", ".join(self.points[:4]) + (", ..." if len(self.points) > 4 else "")
        return f"<{type(self).__name__} {self.label or '-'}: {len(self)} packets from {points}>"


class Capture(Packets):
    """The packets of one capture file (or one built in memory), in file order.

    Relative TCP numbers are computed per capture (see :mod:`.tcpseq`): the
    first question about one builds the table of initial sequence numbers
    in one pass over the TCP packets.
    """

    def __init__(self, path: Path | None, point: str, info: FileInfo | None = None):
        super().__init__([], point)
        self.path = path
        self.point = point
        self.info = info
        self._isns: IsnTable | None = None

    def tcp_table(self) -> IsnTable:
        """The TCP connections of the capture and their ISNs (built on first use)."""
        if self._isns is None:
            with collector_paused():
                self._isns = IsnTable(self._items)
        return self._isns

    def tcp_isn(self, packet: Packet, reverse: bool = False) -> int | None:
        return self.tcp_table().isn(packet, reverse)


def read(path: str | Path, point: str | None = None) -> Capture:
    """Read a pcap or pcapng file.  ``point`` labels every packet (default: the
    file name without its extension; in a pcapng file written by
    :func:`.pcapio.write_pcapng`, each interface's name)."""
    path = Path(path)
    label = point or path.name.split(".pcap")[0].removesuffix(".cap")
    capture = Capture(path, label)
    buf = path.read_bytes()
    packets, info = walk(buf, Packet, capture, label)
    if point:
        for packet in packets:
            packet.point = point
    capture._items = packets
    capture.info = info
    return capture


def from_frames(frames: Iterable[tuple[float, bytes]], point: str = "memory",
                linktype: int = LINKTYPE_ETHERNET) -> Capture:
    """A capture built in memory from (time in seconds, frame bytes) pairs, for
    tests and for packets that never were in a file (e.g. scapy's:
    ``from_frames((p.time, bytes(p)) for p in scapy_packets)``)."""
    capture = Capture(None, point)
    frames = list(frames)
    buf = b"".join(frame for _, frame in frames)
    packets, offset = [], 0
    for index, (time, frame) in enumerate(frames):
        packets.append(Packet(capture, index, round(float(time) * 1e9), point, buf, offset,
                              len(frame), len(frame), linktype))
        offset += len(frame)
    capture._items = packets
    return capture


def _load(source) -> Packets:
    if isinstance(source, Packets):
        return source
    if isinstance(source, tuple):
        path, point = source
        return read(path, point)
    return read(source)


def merge(*sources, label: str | None = None) -> Packets:
    """Interleave captures by time: ``merge(read(a), read(b))``, or
    ``merge("xiaoming-eth0.pcap", ("gw1.pcap", "gw1-eth1"))``.  Packets with
    the same time keep the order of the arguments.  Each keeps its point label
    and its own capture (relative TCP numbers stay those of the point where it
    was seen)."""
    loaded = [_load(s) for s in sources]
    packets = sorted((p for run in loaded for p in run), key=_time_key)
    return Packets(packets, label or "+".join(run.label for run in loaded))


def _time_key(packet: Packet) -> int:
    return packet.tns
