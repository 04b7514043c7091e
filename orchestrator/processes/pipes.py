"""Reading what a running process says on a pipe, until it says enough.

A process that goes on running (tcpdump, ``up``, ``exercise start``) never
closes its output, so waiting for a line cannot be a read to the end, and a
buffered ``readline`` would keep lines select() cannot see.  This reads the
descriptor raw, as it comes, and asks ``accept`` about everything read so
far after each chunk; it gives up at the deadline, at the end of the
stream, or once the process has exited and said nothing more.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from typing import IO, Callable, TypeVar

Found = TypeVar("Found")

POLL_SECONDS = 0.05
CHUNK = 65536


def read_until(proc: subprocess.Popen, stream: IO, accept: Callable[[bytes], Found | None],
               timeout: float) -> tuple[Found | None, bytes]:
    """Read ``stream`` (a pipe of ``proc``) until ``accept(seen)`` returns
    something other than None; returns that (None if it never did) and
    every byte read, for the caller's own error message."""
    seen = b""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], POLL_SECONDS)
        if ready:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            seen += chunk
            found = accept(seen)
            if found is not None:
                return found, seen
        elif proc.poll() is not None:
            break
    return None, seen
