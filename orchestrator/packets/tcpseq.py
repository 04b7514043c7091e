"""Initial sequence numbers, for relative TCP sequence and acknowledgement numbers.

The texts write the web visit with x and y, the two sides' initial sequence
numbers; the library gives ``tcp.seq`` and ``tcp.ack`` relative to them, as
Wireshark does, so that a check can say ``seq 1, ack 1`` for the third
handshake packet whatever numbers the kernels picked.

A side's ISN is the sequence number of its SYN (SYN or SYN-ACK).  When that
SYN is not in the capture (capture started mid-connection), the ISN is taken
as one less than the first sequence number seen from that side, or than the
first acknowledgement number the other side sent for it, whichever comes
first: the capture most likely missed just the SYN, and this is also what
Wireshark does, so relative numbers agree with tshark's on any capture.
A later SYN with another sequence number on the same addresses and ports
starts a new connection (an *epoch*): packets after it count from the new
ISN.  Tables are per capture file, since relative numbers only mean
something within one point of view.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Hashable

from . import kinds as K

_ADDRESSES = struct.Struct("!II").unpack_from
_PORTS = struct.Struct("!HH").unpack_from
_TCP_HEADER = struct.Struct("!HHIIBB").unpack_from
SYN = 0x02
ACK = 0x10
MASK = 0xFFFFFFFF


def endpoints(packet) -> tuple[int, int]:
    """The source and destination of a TCP (or UDP) packet as integers,
    ``address << 16 | port``: cheap to build, to hash and to compare."""
    buf, l4 = packet._buf, packet._l4
    src, dst = _ADDRESSES(buf, packet._l3 + 12)
    sport, dport = _PORTS(buf, l4)
    return src << 16 | sport, dst << 16 | dport


class IsnTracker:
    """ISNs learnt from packets given in capture order, per direction key."""

    def __init__(self):
        # key -> ([index where an epoch starts, ...], [its ISN, ...])
        self.epochs: dict[Hashable, tuple[list[int], list[int]]] = {}

    def observe(self, key: Hashable, rkey: Hashable, index: int, flags: int, seq: int,
                ack: int) -> None:
        epochs = self.epochs.get(key)
        if epochs is None:
            self.epochs[key] = ([index], [seq if flags & SYN else (seq - 1) & MASK])
        elif flags & SYN and seq != epochs[1][-1]:
            epochs[0].append(index)
            epochs[1].append(seq)
        if flags & ACK and rkey not in self.epochs:
            self.epochs[rkey] = ([index], [(ack - 1) & MASK])

    def isn(self, key: Hashable, index: int) -> int | None:
        epochs = self.epochs.get(key)
        if epochs is None:
            return None
        starts, isns = epochs
        if len(starts) == 1:
            return isns[0]
        at = bisect.bisect_right(starts, index) - 1
        return isns[max(at, 0)]


class IsnTable:
    """The ISNs of every direction of every TCP connection of one capture, and
    the packets of each connection (``flows``: the two endpoints, lower
    first -> packets in capture order), built in one pass."""

    def __init__(self, packets):
        self._tracker = IsnTracker()
        self.flows: dict[tuple[int, int], list] = {}
        # IsnTracker.observe, inlined: this loop runs once per TCP packet.
        epochs, flows = self._tracker.epochs, self.flows
        addresses, header = _ADDRESSES, _TCP_HEADER
        for packet in packets:
            k = packet._kinds
            if k < 0:
                k = packet._classify()
            if not k & K.TCP:
                continue
            buf = packet._buf
            src, dst = addresses(buf, packet._l3 + 12)
            sport, dport, seq, ack, _, flags = header(buf, packet._l4)
            a, b = src << 16 | sport, dst << 16 | dport
            key = (a, b)
            known = epochs.get(key)
            if known is None:
                epochs[key] = ([packet.index], [seq if flags & SYN else (seq - 1) & MASK])
            elif flags & SYN and seq != known[1][-1]:
                known[0].append(packet.index)
                known[1].append(seq)
            if flags & ACK and (b, a) not in epochs:
                epochs[(b, a)] = ([packet.index], [(ack - 1) & MASK])
            connection = key if a < b else (b, a)
            flow = flows.get(connection)
            if flow is None:
                flows[connection] = [packet]
            else:
                flow.append(packet)

    def isn(self, packet, reverse_direction: bool = False) -> int | None:
        """The ISN of the packet's own direction (or of the opposite one) for the
        connection the packet belongs to; None if nothing is known of it."""
        a, b = endpoints(packet)
        return self._tracker.isn((b, a) if reverse_direction else (a, b), packet.index)
