"""The error a failed expectation raises, and how its message shows packets.

A check that fails must say which expectation failed and what was on the
wire instead, so that nobody has to open Wireshark to learn why.  The
message has the expectation on its first line (``step 2 of 4: expected
dhcp(type=OFFER, giaddr=10.1.1.1) after DHCP DISCOVER xid 0x1a2b3c4d ...``)
and then the relevant packets, one tcpdump-like line each, each with the
reason it did not match where that helps.  It subclasses ``AssertionError``
so pytest reports it as a test failure, not as an error in the test.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from .describe import render, summary

LIMIT = 20
"""Packets shown per listing before the middle is left out."""


class ExpectationFailed(AssertionError):
    """An expectation over packets did not hold.

    ``expectation`` is the first line (what was expected and what went
    wrong), ``detail`` the listing of packets, ``packets`` the packets it
    shows (for reports that want to render them their own way).
    """

    def __init__(self, expectation: str, detail: str = "", packets: Sequence = ()):
        self.expectation = expectation
        self.detail = detail
        self.packets = list(packets)
        super().__init__(expectation + ("\n" + detail if detail else ""))


def short(packet) -> str:
    """What the packet says, without its addresses: ``DHCP DISCOVER xid 0x...``."""
    text = summary(packet)
    _, sep, body = text.partition(": ")
    return body if sep and not text.startswith("ARP") else text


def listing(title: str, packets: Iterable, t0: float, *, explain=None, limit: int = LIMIT,
            **options) -> str:
    """``title`` then the packets, each annotated with ``explain.mismatch(p)``
    when a matcher is given."""
    packets = list(packets)
    notes = None
    if explain is not None:
        notes = {}
        for packet in packets[:limit] + packets[-limit:]:
            reason = explain.mismatch(packet)
            if reason:
                notes[id(packet)] = reason
    return f"{title}\n" + render(packets, t0, limit=limit, notes=notes, **options)
