"""Finding the programs flowlab runs, and naming the Debian package of a
missing one, so that the fix is one ``apt-get install`` away."""

from __future__ import annotations

import os
import shutil

from ..errors import MissingBinary

# binary -> Debian package that ships it (Debian 12 / Ubuntu LTS).
PACKAGES: dict[str, str] = {
    "mnexec": "mininet",
    "ovs-vsctl": "openvswitch-switch",
    "ovs-ofctl": "openvswitch-switch",
    "ovs-ctl": "openvswitch-switch",
    "ip": "iproute2",
    "tc": "iproute2",
    "ss": "iproute2",
    "ethtool": "ethtool",
    "iptables": "iptables",
    "nft": "nftables",
    "conntrack": "conntrack",
    "dnsmasq": "dnsmasq",
    "dhcpd": "isc-dhcp-server",
    "dhcrelay": "isc-dhcp-relay",
    "dhclient": "isc-dhcp-client",
    "udhcpc": "udhcpc",
    "tcpdump": "tcpdump",
    "tshark": "tshark",
    "mergecap": "wireshark-common",
    "curl": "curl",
    "dig": "bind9-dnsutils",
    "unbound": "unbound",
    "dnsperf": "dnsperf",
    "ping": "iputils-ping",
    "arping": "iputils-arping",
    "unshare": "util-linux",
    "sysctl": "procps",
    "mount": "mount",
}

# Root's PATH in a bare CI shell may lack the sbin directories.
_EXTRA_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/share/openvswitch/scripts")


def which(binary: str) -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(_EXTRA_DIRS)
    return shutil.which(binary, path=path)


def require(binary: str) -> str:
    """The full path of ``binary``, or :class:`MissingBinary` naming its package."""
    found = which(binary)
    if found is None:
        raise MissingBinary(binary, PACKAGES.get(binary, binary))
    return found


def require_all(*binaries: str) -> dict[str, str]:
    return {b: require(b) for b in binaries}
