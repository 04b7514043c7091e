"""The dry run of a RARP table: the lookups rarpd makes, made beforehand.

``python -m services.rarp_lookup MAC=NAME=ADDRESS ...`` asks glibc, as rarpd
does, for each MAC's name (``ether_ntohost``: the ethers database) and for
that name's address (``gethostbyname``: the hosts database), and exits 1
naming every entry that does not come back as the model wrote it.  Run in
rarpd's private /etc (:func:`services.rarp_server.in_private_etc`), it proves that
the files rarpd will read answer what the topology declares.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import socket
import sys
from typing import Callable


def ether_ntohost(mac: str) -> str | None:
    """glibc's ether_ntohost(3): the name the ethers database gives ``mac``."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    name = ctypes.create_string_buffer(1024)
    octets = (ctypes.c_ubyte * 6)(*bytes.fromhex(mac.replace(":", "")))
    if libc.ether_ntohost(name, ctypes.byref(octets)) != 0:
        return None
    return name.value.decode()


def gethostbyname(name: str) -> str | None:
    try:
        return socket.gethostbyname(name)
    except OSError:
        return None


def problems(entries: list[str], to_name: Callable[[str], str | None] = ether_ntohost,
             to_address: Callable[[str], str | None] = gethostbyname) -> list[str]:
    """What is wrong with each ``MAC=NAME=ADDRESS`` entry, one line each."""
    found = []
    for entry in entries:
        mac, name, address = entry.split("=")
        got_name = to_name(mac)
        if got_name != name:
            found.append(f"{mac}: the ethers database gives {got_name or 'nothing'}, not {name}")
            continue
        got_address = to_address(name)
        if got_address != address:
            found.append(f"{mac} {name}: the hosts database gives {got_address or 'nothing'}, "
                         f"not {address}")
    return found


def main(argv: list[str]) -> int:
    if not argv or any(entry.count("=") != 2 for entry in argv):
        print("usage: python -m services.rarp_lookup MAC=NAME=ADDRESS ...", file=sys.stderr)
        return 2
    wrong = problems(argv)
    for line in wrong:
        print(line, file=sys.stderr)
    if not wrong:
        print(f"{len(argv)} RARP table entries resolve as declared")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
