"""The argument types the tools share, for argparse: a value the check got
wrong is refused before anything is sent, naming the argument, rather than
failing half-way inside the node."""

from __future__ import annotations

import argparse
import ipaddress
import math

MAC_OCTETS = 6


def mac(text: str) -> str:
    """A MAC address as six colon-separated hex octets, lower case."""
    octets = text.split(":")
    if len(octets) != MAC_OCTETS or not all(len(o) == 2 and _is_hex(o) for o in octets):
        raise argparse.ArgumentTypeError(f"not a MAC address (like 02:00:0a:01:01:02): {text!r}")
    return text.lower()


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}") from None


def port(text: str) -> int:
    return _integer(text, "a port", 0, 0xFFFF)


def u32(text: str) -> int:
    """An unsigned 32-bit number, decimal (a sequence number)."""
    return _integer(text, "an unsigned 32-bit number", 0, 0xFFFFFFFF)


def hex32(text: str) -> int:
    """An unsigned 32-bit number in hex (a DHCP xid, as the checks write it)."""
    return _integer(text, "a 32-bit hex number", 0, 0xFFFFFFFF, base=16)


def count(text: str) -> int:
    return _integer(text, "a count of at least 1", 1, None)


def seconds(text: str) -> float:
    """A duration, zero or more seconds."""
    value = _number(text, "seconds")
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a duration (seconds, 0 or more): {text!r}")
    return value


def rate(text: str) -> float:
    """A rate, more than zero a second."""
    value = _number(text, "a rate")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a rate (more than 0 a second): {text!r}")
    return value


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _integer(text: str, what: str, low: int, high: int | None, base: int = 10) -> int:
    try:
        value = int(text, base)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
    return value


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}")
    return value
