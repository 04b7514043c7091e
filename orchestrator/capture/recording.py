"""One pipeline from tcpdump to evidence, for the checks and the relay race.

A check's capture block and the race's series of trials both do the same:
tcpdump on several (node, interface) points, each ready before the traffic
starts; all stopped and drained afterwards, whatever happened in between;
each file read back labelled with its point; the points merged in time
order into ``merged.pcap``; and what the kernel dropped before tcpdump read
it counted per point, so that no verdict stands on a capture that silently
lacks packets.  :class:`Recording` does it once; what to do about drops is
the caller's to decide (a check refuses the capture as evidence, the race
notes it and refuses the "exactly one OFFER" verdict).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..packets import Packets, merge, read, write_pcap
from .tcpdump import Tcpdump, describe_drops, dropped_at, point_label

if TYPE_CHECKING:
    from ..processes.nodeexec import NodeExec

MERGED = "merged.pcap"


class Captured:
    """The packets of one recording: per point (``captured["xiaoming-eth0"]``)
    and all merged in time order (``captured.all``); the pcap files they
    were read from or written to; and the kernel's drops per point."""

    def __init__(self):
        self.by_point: dict[str, Packets] = {}
        self.all: Packets | None = None
        self.paths: dict[str, Path] = {}
        self.merged_path: Path | None = None
        self.dropped: dict[str, int] = {}

    def __getitem__(self, point: str) -> Packets:
        return self.by_point[point]

    def load(self, paths: dict[str, Path]) -> "Captured":
        """Read each point's pcap, labelled with the point, and merge them."""
        self.paths = dict(paths)
        self.by_point = {label: read(path, point=label) for label, path in paths.items()}
        self.all = merge(*self.by_point.values())
        return self

    @property
    def pcaps(self) -> list[Path]:
        """Every file of the recording: one per point, then the merged one."""
        return list(self.paths.values()) + ([self.merged_path] if self.merged_path else [])

    def incomplete(self) -> str:
        """Where the kernel dropped packets, and how many (empty: none)."""
        return describe_drops(self.dropped)

    def between(self, begin: float, end: float) -> "Captured":
        """The packets seen from ``begin`` up to (not including) ``end``,
        epoch seconds: one trial of a series.  Drops stay those of the whole
        recording (tcpdump does not say when it lost them)."""
        part = Captured()
        part.by_point = {point: packets.filter(lambda p, b=begin, e=end: b <= p.time < e)
                         for point, packets in self.by_point.items()}
        part.all = (self.all or Packets()).filter(lambda p, b=begin, e=end: b <= p.time < e)
        part.dropped = dict(self.dropped)
        return part

    def save(self, directory: Path) -> list[Path]:
        """Write one pcap per point and the merged one into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        self.paths = {point: write_pcap(directory / f"{point}.pcap", packets)
                      for point, packets in self.by_point.items()}
        self.merged_path = write_pcap(directory / MERGED, self.all or Packets())
        return self.pcaps


class Recording:
    """``with Recording(lab, points, bpf, directory) as captured: ...``

    ``lab`` is anything that runs a program in a node and records it (the
    lab itself, or any :class:`~orchestrator.processes.nodeexec.NodeExec`).

    tcpdump runs on every (node, interface) of ``points`` while the block
    runs, writing ``directory/<node>-<interface>.pcap``; on leaving it, even
    by an exception, every capture is stopped and drained, the files are
    read into ``captured`` (a :class:`Captured`, filled only then), merged
    into ``directory/merged.pcap``, and the kernel's drops are counted in
    ``captured.dropped``."""

    def __init__(self, lab: "NodeExec", points: list[tuple[str, str]], bpf: str,
                 directory: Path):
        self.lab = lab
        self.points = list(dict.fromkeys(points))     # a point named twice is captured once
        self.bpf = bpf
        self.directory = Path(directory)
        self.captured = Captured()
        self._captures: list[Tcpdump] = []

    def start(self) -> Captured:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            for node, iface in self.points:          # all launched, then all waited for
                self._captures.append(Tcpdump(self.lab, node, iface, self.bpf,
                                              path=self.directory / f"{node}-{iface}.pcap")
                                      .launch())
            for capture in self._captures:
                capture.wait_listening()
        except BaseException:
            self.stop()
            raise
        return self.captured

    def stop(self) -> Captured:
        """Stop every capture started (each drained first), then read,
        merge and count; safe to call once the captures are stopped."""
        captures, self._captures = self._captures, []
        paths, failed = {}, None
        # Each stop drains its tcpdump (a few signal round trips): all of
        # them at once, so that 20 points cost what one does.
        with ThreadPoolExecutor(max_workers=max(1, len(captures))) as pool:
            stopping = [(capture, pool.submit(capture.stop)) for capture in captures]
        for capture, future in stopping:
            try:
                paths[capture.label] = future.result()
            except Exception as exc:        # the others are stopped all the same
                failed = failed or exc
        if failed is not None:
            raise failed
        if not captures:
            return self.captured
        self.captured.load(paths)
        self.captured.dropped = dropped_at(captures)
        self.captured.merged_path = write_pcap(self.directory / MERGED, self.captured.all)
        return self.captured

    def __enter__(self) -> Captured:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


__all__ = ["Captured", "MERGED", "Recording", "point_label"]
