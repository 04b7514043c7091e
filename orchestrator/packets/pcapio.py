"""Capture files: classic pcap (both byte orders, micro- and nanosecond
timestamps) and pcapng, read and written without any dissection.

Reading walks the record headers of a file held in memory and creates one
:class:`~.packet.Packet` per record that points into those bytes: no copy of
the frame, no decoding.  The walk is the only part of reading that is paid
for every packet up front, so it is kept to one ``unpack_from`` and one
object per record.  The cyclic garbage collector is paused during it (see
:mod:`.pause`): creating a million long-lived objects would otherwise run
it hundreds of times for nothing, which doubles the time.

Writing exists so that captures merged from several points can be opened in
Wireshark: classic pcap when all packets share a link type, pcapng (one
interface per capture point, named after it, so Wireshark shows where each
packet was seen and ``read`` gives the labels back) otherwise or on request.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .pause import collector_paused

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER = 0x1A2B3C4D


class CaptureFileError(ValueError):
    """The file is not a capture this module can read, or is cut short."""


class FileInfo:
    """What a capture file says about itself."""

    def __init__(self, fmt: str, byte_order: str, resolution: str, linktypes: list[int],
                 interfaces: list[str | None], truncated: bool):
        self.format = fmt                  # "pcap" or "pcapng"
        self.byte_order = byte_order       # "little" or "big"
        self.resolution = resolution       # "us", "ns" (pcap) or "mixed"/"us"/"ns" (pcapng)
        self.linktypes = linktypes
        self.interfaces = interfaces
        self.truncated = truncated         # the last record was cut short

    def __repr__(self) -> str:
        return (f"FileInfo({self.format}, {self.byte_order}-endian, {self.resolution}, "
                f"linktypes={self.linktypes}, truncated={self.truncated})")


def walk(buf: bytes, make: Callable, capture, point: str) -> tuple[list, FileInfo]:
    """Every record of the capture in ``buf`` as ``make(capture, index, tns,
    point, buf, offset, caplen, wirelen, linktype)``, in file order."""
    if len(buf) < 4:
        raise CaptureFileError("file too short for a capture header")
    with collector_paused():
        if magic_le(buf) == PCAPNG_SHB:
            return _walk_pcapng(buf, make, capture, point)
        return _walk_pcap(buf, make, capture, point)


def _walk_pcap(buf, make, capture, point):
    if len(buf) < 24:
        raise CaptureFileError("file too short for a pcap header")
    order, prefix = "little", "<"
    magic = struct.unpack_from("<I", buf)[0]
    if magic not in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        order, prefix = "big", ">"
        magic = struct.unpack_from(">I", buf)[0]
    if magic not in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        raise CaptureFileError(f"not a pcap or pcapng file (magic 0x{magic_le(buf):08x})")
    nano = magic == PCAP_MAGIC_NS
    mult = 1 if nano else 1000
    linktype = struct.unpack_from(prefix + "I", buf, 20)[0] & 0x0FFFFFFF
    header = struct.Struct(prefix + "IIII").unpack_from
    packets: list = []
    append = packets.append
    offset, size, index = 24, len(buf), 0
    truncated = False
    while offset + 16 <= size:
        sec, frac, caplen, wirelen = header(buf, offset)
        offset += 16
        if offset + caplen > size:
            truncated = True
            break
        append(make(capture, index, sec * 1_000_000_000 + frac * mult, point, buf, offset,
                    caplen, wirelen, linktype))
        offset += caplen
        index += 1
    if offset != size and not truncated:
        truncated = True
    info = FileInfo("pcap", order, "ns" if nano else "us", [linktype], [None], truncated)
    return packets, info


def magic_le(buf) -> int:
    return struct.unpack_from("<I", buf)[0]


def _tsresol_multiplier(raw: int) -> tuple[int, int]:
    """(multiply, divide) turning timestamp units into nanoseconds."""
    if raw & 0x80:
        return 1_000_000_000, 1 << (raw & 0x7F)
    digits = raw & 0x7F
    if digits <= 9:
        return 10 ** (9 - digits), 1
    return 1, 10 ** (digits - 9)


def _walk_pcapng(buf, make, capture, point):
    packets: list = []
    append = packets.append
    size = len(buf)
    offset, index = 0, 0
    prefix = "<"
    interfaces: list[tuple[int, int, int, str | None]] = []   # linktype, mul, div, name
    all_interfaces: list[tuple[int, int, int, str | None]] = []
    truncated = False
    block_head = struct.Struct("<II").unpack_from
    epb = struct.Struct("<IIIII").unpack_from
    order = "little"
    while offset + 12 <= size:
        kind, total = block_head(buf, offset)
        if kind == PCAPNG_SHB:
            magic = struct.unpack_from("<I", buf, offset + 8)[0]
            if magic == PCAPNG_BYTE_ORDER:
                prefix, order = "<", "little"
            elif magic == 0x4D3C2B1A:
                prefix, order = ">", "big"
            else:
                raise CaptureFileError("pcapng section header with a bad byte-order magic")
            block_head = struct.Struct(prefix + "II").unpack_from
            epb = struct.Struct(prefix + "IIIII").unpack_from
            total = block_head(buf, offset)[1]
            interfaces = []
        if total < 12 or offset + total > size:
            truncated = True
            break
        body = offset + 8
        if kind == 6:                                          # enhanced packet block
            iface, high, low, caplen, wirelen = epb(buf, body)
            linktype, mul, div, name = interfaces[iface]
            ticks = (high << 32) | low
            tns = ticks * mul if div == 1 else ticks * mul // div
            append(make(capture, index, tns, name or point, buf, body + 20, caplen, wirelen,
                        linktype))
            index += 1
        elif kind == 1:                                        # interface description block
            linktype = struct.unpack_from(prefix + "H", buf, body)[0]
            mul, div, name = 1000, 1, None
            at, stop = body + 8, offset + total - 4
            while at + 4 <= stop:
                code, length = struct.unpack_from(prefix + "HH", buf, at)
                if code == 0:
                    break
                value = buf[at + 4:at + 4 + length]
                if code == 9 and length >= 1:
                    mul, div = _tsresol_multiplier(value[0])
                elif code == 2:
                    name = bytes(value).rstrip(b"\0").decode("utf-8", "replace") or None
                at += 4 + length + (-length % 4)
            interfaces.append((linktype, mul, div, name))
            all_interfaces.append((linktype, mul, div, name))
        elif kind == 3:                                        # simple packet block
            wirelen = struct.unpack_from(prefix + "I", buf, body)[0]
            linktype, mul, div, name = interfaces[0]
            caplen = min(wirelen, total - 16)
            append(make(capture, index, 0, name or point, buf, body + 4, caplen, wirelen,
                        linktype))
            index += 1
        elif kind == 2:                                        # obsolete packet block
            iface, _drops, high, low, caplen, wirelen = struct.unpack_from(
                prefix + "HHIIII", buf, body)
            linktype, mul, div, name = interfaces[iface]
            ticks = (high << 32) | low
            append(make(capture, index, ticks * mul // div, name or point, buf, body + 20,
                        caplen, wirelen, linktype))
            index += 1
        offset += total
    if offset != size:
        truncated = True
    resolutions = {("ns" if (mul, div) == (1, 1) else "us" if (mul, div) == (1000, 1) else "other")
                   for _, mul, div, _ in all_interfaces}
    info = FileInfo("pcapng", order, resolutions.pop() if len(resolutions) == 1 else "mixed",
                    [i[0] for i in all_interfaces], [i[3] for i in all_interfaces], truncated)
    return packets, info


# ---------------------------------------------------------------- writing

def _frames(packets: Iterable) -> Iterator[tuple[int, bytes, int, int, str]]:
    for p in packets:
        yield p.tns, p._buf[p._off:p._off + p.caplen], p.wirelen, p._link, p.point


def write_pcap(path: str | Path, packets: Iterable, nanosecond: bool | None = None) -> Path:
    """Write ``packets`` as a classic pcap file (readable by every tool).

    All packets must share one link type (use :func:`write_pcapng` to mix
    them).  Timestamps are written in nanoseconds when any packet needs it,
    or when ``nanosecond`` is True."""
    packets = list(packets)
    linktypes = {p._link for p in packets}
    if len(linktypes) > 1:
        raise ValueError(f"packets of several link types {sorted(linktypes)}: "
                         "a classic pcap has one; use write_pcapng")
    linktype = linktypes.pop() if linktypes else 1
    if nanosecond is None:
        nanosecond = any(p.tns % 1000 for p in packets)
    path = Path(path)
    record = struct.Struct("<IIII").pack
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US,
                              2, 4, 0, 0, 262144, linktype))
        for tns, frame, wirelen, _, _ in _frames(packets):
            seconds, rest = divmod(tns, 1_000_000_000)
            out.write(record(seconds, rest if nanosecond else rest // 1000, len(frame), wirelen))
            out.write(frame)
    return path


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def write_pcapng(path: str | Path, packets: Iterable) -> Path:
    """Write ``packets`` as pcapng with one interface per capture point (named
    after the point) and nanosecond timestamps: Wireshark shows the point as
    the interface name, and ``read`` gives it back as ``packet.point``."""
    path = Path(path)
    shb_body = struct.pack("<IHHq", PCAPNG_BYTE_ORDER, 1, 0, -1)
    interfaces: dict[tuple[str, int], int] = {}
    with open(path, "wb") as out:
        out.write(struct.pack("<II", PCAPNG_SHB, 12 + len(shb_body)) + shb_body
                  + struct.pack("<I", 12 + len(shb_body)))
        for tns, frame, wirelen, linktype, point in _frames(packets):
            key = (point, linktype)
            iface = interfaces.get(key)
            if iface is None:
                iface = interfaces[key] = len(interfaces)
                options = (_option(2, point.encode()) + _option(9, b"\x09")
                           + _option(0, b""))
                body = struct.pack("<HHI", linktype, 0, 262144) + options
                out.write(struct.pack("<II", 1, 12 + len(body)) + body
                          + struct.pack("<I", 12 + len(body)))
            pad = b"\0" * (-len(frame) % 4)
            total = 32 + len(frame) + len(pad)
            out.write(struct.pack("<IIIIIII", 6, total, iface, tns >> 32, tns & 0xFFFFFFFF,
                                  len(frame), wirelen))
            out.write(frame)
            out.write(pad + struct.pack("<I", total))
    return path
