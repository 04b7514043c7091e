"""The daemons of a lab, found and controlled by what they are and where.

``lab.services`` is the one way to reach a running daemon: checks, the
race, exercises, the demo and users' tests ask for ``("dhcp-relay", "gw1")``
or ``("dhcp-client", "xiaoming")`` and stop, start, restart or swap it, with
readiness proven as at bring-up.  Nobody re-renders a launch to learn a
daemon's name or reaches into the supervisor: each daemon's launch is
rendered once, at bring-up, and kept here beside it.

Kinds are the registry's (:mod:`services.registry`: ``dhcp-server``,
``dhcp-relay``, ``dns-resolver``, ...) plus ``dhcp-client`` for the client
every DHCP interface runs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace

from services.base import Daemon, Launch
from services.dhcp_client import DHCP_CLIENT, DhcpClient
from services.lease import Lease

from ..errors import LabError
from .nodeexec import NodeExec
from .supervisor import NotReady, Supervisor, tail

# A client without a lease repeats one line (DISCOVER after DISCOVER): a few
# say what it was doing without burying the summary.
UNBOUND_TAIL = 5


def kind_of(daemon: Daemon) -> str:
    """The service kind a daemon carries out: its declaration's, or
    ``dhcp-client`` for the client of a DHCP interface."""
    if isinstance(daemon, DhcpClient):
        return DHCP_CLIENT
    return daemon.ctx.service.kind if daemon.ctx.service else daemon.name


@dataclass(frozen=True)
class Instance:
    """One daemon of the lab: its kind, node (and interface, for a DHCP
    client), the daemon object and the launch it was started from."""

    kind: str
    node: str
    iface: str | None
    daemon: Daemon
    launch: Launch

    @property
    def name(self) -> str:
        return self.launch.name

    @property
    def log(self) -> str:
        return self.launch.log


@dataclass(frozen=True)
class Unbound:
    """A DHCP client that held no lease at its deadline; the lab came up
    anyway (``LabSettings.unbound_ok``) and the client keeps trying."""

    node: str
    iface: str
    reason: str          # what readiness waited for, and the end of the client's log

    def describe(self) -> str:
        return f"{self.node}:{self.iface} got no lease: {self.reason}"


class Services:
    def __init__(self, nodes: NodeExec, supervisor: Supervisor | None,
                 daemons: list[Daemon]):
        self.nodes = nodes
        self.supervisor = supervisor
        self.instances = [Instance(kind_of(d), d.ctx.host.name,
                                   d.iface.name if isinstance(d, DhcpClient) else None,
                                   d, d.launch()) for d in daemons]

    # -- finding -------------------------------------------------------------------
    def all(self, kind: str | None = None, node: str | None = None) -> list[Instance]:
        return [i for i in self.instances
                if (kind is None or i.kind == kind) and (node is None or i.node == node)]

    def find(self, kind: str, node: str, iface: str | None = None) -> Instance:
        """The one ``kind`` daemon of ``node`` (on ``iface``, for a DHCP
        client of a node with several DHCP interfaces)."""
        found = [i for i in self.all(kind, node) if iface is None or i.iface == iface]
        if not found:
            where = f"{node}:{iface}" if iface else node
            raise LabError(f"{where} runs no {kind}")
        if len(found) > 1:
            raise LabError(f"{node} runs {len(found)} {kind} daemons "
                           f"({', '.join(i.name for i in found)}): name the interface")
        return found[0]

    # -- controlling ---------------------------------------------------------------
    def is_running(self, instance: Instance) -> bool:
        running = self._supervisor().running.get(instance.name)
        return running is not None and running.proc.poll() is None

    def ready_after(self, instance: Instance) -> float | None:
        """Seconds from its (last) start until it proved ready; None if it has not."""
        running = self._supervisor().running.get(instance.name)
        return running.ready_after if running else None

    def pid(self, instance: Instance) -> int | None:
        """The pid of its running process; None if it is not running."""
        running = self._supervisor().running.get(instance.name)
        return running.proc.pid if running and running.proc.poll() is None else None

    def started_at(self, instance: Instance) -> float | None:
        """When it was (last) started, in time.monotonic() seconds."""
        running = self._supervisor().running.get(instance.name)
        return running.started if running else None

    def stop(self, *instances: Instance) -> None:
        for instance in instances:
            self._supervisor().stop(instance.name)

    def start(self, *instances: Instance) -> None:
        """Start them all at once, then wait until each is ready; one that is
        not raises (LabError, with the end of its log)."""
        supervisor = self._supervisor()
        for running in [supervisor.start(i.launch) for i in instances]:
            supervisor.wait_ready(running)

    def restart(self, *instances: Instance) -> None:
        """Stop and start again, ready: a daemon that keeps state in memory
        (a resolver's cache) comes back empty."""
        self.stop(*instances)
        self.start(*instances)

    def swap(self, instance: Instance, daemon: Daemon) -> Instance:
        """Run ``daemon`` in place of ``instance``: the same daemon rendered
        from a changed model (a fault), or from the lab's own (its repair).
        Its files and dry run are checked before the old one stops; it
        starts ready and takes the old one's place, so that whoever restarts
        the daemon later restarts this one."""
        if (kind_of(daemon), daemon.ctx.host.name) != (instance.kind, instance.node):
            raise LabError(f"{instance.name} can only be swapped for a {instance.kind} of "
                           f"{instance.node}, not a {kind_of(daemon)} of {daemon.ctx.host.name}")
        launch = daemon.launch()
        supervisor = self._supervisor()
        supervisor.prepare([launch])
        supervisor.stop(instance.name)
        supervisor.wait_ready(supervisor.start(launch))
        swapped = replace(instance, daemon=daemon, launch=launch)
        self.instances[self.instances.index(instance)] = swapped
        return swapped

    def add(self, daemon: Daemon) -> Instance:
        """Start a daemon the topology does not declare (a reference
        implementation in a test), ready, and stop it with the lab."""
        instance = Instance(kind_of(daemon), daemon.ctx.host.name, None, daemon,
                            daemon.launch())
        self._supervisor().start_all([instance.launch])
        self.instances.append(instance)
        return instance

    # -- DHCP clients --------------------------------------------------------------
    def dhcp_clients(self) -> list[DhcpClient]:
        return [i.daemon for i in self.all(DHCP_CLIENT)]

    def dhcp_client(self, node: str, iface: str | None = None) -> DhcpClient:
        return self.find(DHCP_CLIENT, node, iface).daemon

    def leases(self) -> dict[tuple[str, str], Lease]:
        """The leases the DHCP clients hold: (node, interface) -> lease."""
        found = {}
        for instance in self.all(DHCP_CLIENT):
            lease = instance.daemon.lease()
            if lease is not None:
                found[(instance.node, instance.iface)] = lease
        return found

    def restart_dhcp_client(self, node: str, fresh: bool = True,
                            iface: str | None = None) -> Lease | None:
        """Stop a PC's DHCP client and start it again; ``fresh`` forgets the
        lease first (no lease file, no address, empty ARP cache), so the client
        starts over with DISCOVER; otherwise it reboots with its lease
        (INIT-REBOOT).  Returns the new lease once bound; a client that binds
        none by its deadline raises LabError."""
        instance = self.find(DHCP_CLIENT, node, iface)
        self._reset(instance, fresh)
        self.start(instance)
        return instance.daemon.lease()

    def restart_dhcp_clients(self, instances: list[Instance], fresh: bool = True,
                             within: float | None = None) -> list[Unbound]:
        """Restart many clients at once: all reset, then started as the lab
        started them (paced, each awaited).  A client still unbound at its
        deadline is returned, not raised: in a broken network that is the
        finding, and the packets captured meanwhile say where its exchange
        stopped.  ``within``: the seconds each is awaited instead of its
        own deadline, where no lease is expected (a fault took the server
        away) and the DISCOVERs on the wire are all the symptom needs; the
        unbound keep trying."""
        for instance in instances:
            self._reset(instance, fresh)
        launches = [i.launch if within is None else replace(i.launch, deadline=within)
                    for i in instances]
        late = self._supervisor().start_paced(launches, may_stay_unready=lambda launch: True)
        return [self.unbound(each) for each in late]

    def _reset(self, instance: Instance, fresh: bool) -> None:
        """Stop a DHCP client and forget its lease (``fresh``: its address,
        neighbours and lease database too)."""
        self.stop(instance)
        instance.daemon.forget(keep_lease_file=not fresh)
        if fresh:
            dev = instance.iface
            subprocess.run(self.nodes.exec_argv(instance.node, ["ip", "-4", "-batch", "-"]),
                           input=f"addr flush dev {dev}\nneigh flush dev {dev}\n",
                           capture_output=True, text=True, timeout=30)

    def unbound(self, late: NotReady) -> Unbound:
        """The record of a DHCP client that was not bound at its deadline."""
        instance = next(i for i in self.instances if i.name == late.launch.name)
        return Unbound(instance.node, instance.iface or "",
                       f"{instance.name} held no lease after {late.launch.deadline:.0f} s; "
                       f"last lines of {instance.log}:\n{tail(instance.log, UNBOUND_TAIL)}")

    def _supervisor(self) -> Supervisor:
        if self.supervisor is None:
            raise LabError("the lab runs no daemons (it was brought up without services)")
        return self.supervisor
