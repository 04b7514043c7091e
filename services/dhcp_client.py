"""DHCP clients in the PCs: ISC dhclient and BusyBox udhcpc.

Each runs in the foreground for the life of the lab (so it renews), with
its own config, lease and hook files in the run directory, and the hook
script of ``templates/dhcp-client-hook.sh.j2``, which applies the lease
inside the node only and records it.  The record appearing is the
readiness: the lease is bound.

The client is no kind a topology declares: every interface with
``dhcp=Dhcp(...)`` runs one, found in ``lab.services`` as :data:`DHCP_CLIENT`.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.model import Interface, Topology

from .base import STAGE_CLIENTS, Context, Daemon, FileAppears, Launch, render
from .lease import Lease

DHCP_CLIENT = "dhcp-client"

# How long an ARP probe waits for a defender.  RFC 5227 waits 1-2 s; an
# emulated LAN answers in microseconds, so 300 ms proves as much, and every
# bind (at bring-up, and each restart a check makes) waits that long.  udhcpc
# -a takes milliseconds; iputils arping counts whole seconds, so dhclient's
# hook sends its one probe with arping and coreutils' timeout ends the wait:
# a defender's reply makes arping exit 1 before that.
ARP_PROBE_COUNT = 1
ARP_PROBE_WAIT_MS = 300
UDHCPC_ARP_WAIT_MS = ARP_PROBE_WAIT_MS


class DhcpClient(Daemon):
    stage = STAGE_CLIENTS
    client = ""

    def __init__(self, ctx: Context, iface: Interface, resolv_target: str):
        super().__init__(ctx)
        self.iface = iface
        self.resolv_target = resolv_target

    @property
    def label(self) -> str:
        return f"{self.name}@{self.ctx.host.name}:{self.iface.name}"

    @property
    def lease_record(self) -> str:
        return self.ctx.path(f"lease-{self.iface.name}.json")

    @property
    def lease_file(self) -> str:
        """The client's own lease database (what INIT-REBOOT remembers)."""
        return self.ctx.path(f"{self.name}-{self.iface.name}.leases")

    def lease(self) -> Lease | None:
        """The lease the hook recorded, or None while unbound."""
        return Lease.read(self.lease_record)

    def forget(self, keep_lease_file: bool) -> None:
        """Remove the recorded lease (and the client's database, unless kept),
        so that readiness means a new lease."""
        paths = [self.lease_record] + ([] if keep_lease_file else [self.lease_file])
        for path in paths:
            Path(path).unlink(missing_ok=True)

    def hook(self, arp_probe: bool) -> tuple[str, str]:
        path = self.ctx.path(f"{self.name}-hook-{self.iface.name}.sh")
        return path, render("dhcp-client-hook.sh.j2", client=self.client, node=self.ctx.host.name,
                            lease_record=self.lease_record, resolv_target=self.resolv_target,
                            arp_probe=arp_probe, arp_probe_count=ARP_PROBE_COUNT,
                            arp_probe_wait=ARP_PROBE_WAIT_MS / 1000)


class Dhclient(DhcpClient):
    name = "dhclient"
    binary = "dhclient"
    client = "dhclient"

    def launch(self) -> Launch:
        ifname = self.iface.name
        conf = self.ctx.path(f"dhclient-{ifname}.conf")
        hook, script = self.hook(arp_probe=True)   # dhclient itself does not probe
        return self.make_launch(
            files={conf: render("dhclient.conf.j2", node=self.ctx.host.name, interface=ifname,
                                initial_interval=1, backoff_cutoff=2, timeout=60, retry=1,
                                reboot=2),
                   hook: script},
            executables=(hook,),
            argv=["dhclient", "-4", "-d", "-v", "-cf", conf, "-sf", hook,
                  "-lf", self.lease_file,
                  "-pf", self.ctx.path(f"dhclient-{ifname}.pid"), ifname],
            log=self.ctx.path(f"dhclient-{ifname}.log"),
            ready=FileAppears(self.lease_record), deadline=30.0)


class Udhcpc(DhcpClient):
    name = "udhcpc"
    binary = "udhcpc"
    client = "udhcpc"

    def launch(self) -> Launch:
        ifname = self.iface.name
        hook, script = self.hook(arp_probe=False)  # udhcpc -a probes by itself
        return self.make_launch(
            files={hook: script}, executables=(hook,),
            argv=["udhcpc", "-f", "-i", ifname, "-s", hook,
                  f"-a{UDHCPC_ARP_WAIT_MS}", "-x", f"hostname:{self.ctx.host.name}",
                  "-t", "10", "-T", "1", "-A", "1"],
            log=self.ctx.path(f"udhcpc-{ifname}.log"),
            ready=FileAppears(self.lease_record), deadline=30.0)


CLIENTS = {"dhclient": Dhclient, "udhcpc": Udhcpc}


def client_interfaces(topo: Topology, node: str) -> list[Interface]:
    return [i for i in topo.interfaces(node) if i.dhcp is not None]
