"""What this machine's kernel can do, detected at run time.

The project runs on a container-like machine with no loadable modules
(userspace OVS, no netem, no 802.1Q) and on ordinary course VMs (kernel OVS,
netem).  Nothing assumes either: features ask here, and tests skip with the
reason this module gives.
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass

from ..processes.binaries import which

USER = "user"
KERNEL = "kernel"


@dataclass(frozen=True)
class Capability:
    available: bool
    reason: str

    def __bool__(self) -> bool:
        return self.available


def _modprobe(module: str) -> bool:
    if not os.path.exists("/proc/modules"):
        return False
    modprobe = which("modprobe")
    if modprobe is None:
        return False
    return subprocess.run([modprobe, "-q", module], capture_output=True).returncode == 0


@functools.lru_cache(maxsize=None)
def kernel_ovs() -> Capability:
    """Is the openvswitch kernel datapath usable (module loaded or loadable)?"""
    if os.path.isdir("/sys/module/openvswitch") or _modprobe("openvswitch"):
        return Capability(True, "the openvswitch kernel module is loaded")
    return Capability(False, "the kernel has no openvswitch module (userspace datapath only)")


def datapath(requested: str | None = None) -> str:
    """The OVS datapath to use: ``requested`` (or $FLOWLAB_DATAPATH) when given,
    else kernel where the kernel has it, userspace otherwise."""
    choice = requested or os.environ.get("FLOWLAB_DATAPATH") or "auto"
    if choice not in ("auto", USER, KERNEL):
        raise ValueError(f"datapath must be auto, user or kernel, not {choice!r}")
    if choice == "auto":
        return KERNEL if kernel_ovs() else USER
    return choice


def _in_scratch_netns(*argv: str) -> subprocess.CompletedProcess:
    """Run a command in a throwaway network namespace (unshare -n), so that
    probing a capability never touches the machine's own interfaces."""
    return subprocess.run(["unshare", "-n", *argv], capture_output=True, text=True)


@functools.lru_cache(maxsize=None)
def netem() -> Capability:
    """Can qdiscs delay packets (sch_netem)?  Needed for link delay and the
    biased relay race; this machine kind lacks it."""
    tc = which("tc")
    if tc is None or which("unshare") is None:
        return Capability(False, "tc or unshare is not installed")
    result = _in_scratch_netns(tc, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms")
    if result.returncode == 0:
        return Capability(True, "netem qdisc available")
    return Capability(False, "the kernel has no netem qdisc (sch_netem): "
                      f"{(result.stderr or result.stdout).strip()}")
