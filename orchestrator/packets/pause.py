"""The cyclic garbage collector, paused while the library walks many packets.

A capture of a million packets is a million long-lived objects.  CPython's
collector walks all of them on every full collection, and a scan that
creates objects (the decoded options of every DHCP packet, the question of
every DNS message) triggers such collections again and again: measured on
the benchmark's capture, that was 40 % of the time of a run of
expectations.  Nothing the library creates while scanning forms reference
cycles (decoded state hangs off the packet; views die with their loop
iteration), so there is nothing for the collector to find: it is paused for
the length of a scan and restored as it was afterwards, whatever happens.
Reference counting goes on freeing memory as usual.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """``with collector_paused(): ...`` -- nests; restores the previous state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def pausing(function: F) -> F:
    """Decorator: run ``function`` with the collector paused."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with collector_paused():
            return function(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
