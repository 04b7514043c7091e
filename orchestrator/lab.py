"""A lab: one topology brought up as a live network, and brought down again.

``with Lab(topo) as lab:`` validates the whole model before creating
anything, builds and configures the network, and tears it down in all
cases: on return, on an exception, on KeyboardInterrupt.  Teardown is
shielded from a second Ctrl-C, stops what the run started by pid, and then
sweeps by the run's marks (:mod:`orchestrator.runs.cleanup`), so a partly built
network is removed as surely as a complete one.

Its daemons are reached through ``lab.services``
(:mod:`orchestrator.processes.services_api`); ``dhcp_client``, ``leases`` and
``restart_dhcp_client`` stay here as short delegations for users' tests.

A lab is strict by default: a daemon that is not ready fails the bring-up.
``LabSettings(unbound_ok=True)`` lets DHCP clients that got no lease stay
unbound instead (``lab.unbound`` names them): a broken network is then a
verdict of ``verify``, not a crash.  Where a DHCP pool ran out, the failure
(or each unbound client's reason) names the pool, its size, how many asked
and who got nothing, as the server's lease database shows it
(:mod:`orchestrator.model.pools`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from mininet.log import setLogLevel
from mininet.net import Mininet

from services import plan
from services.dhcp_client import DHCP_CLIENT, DhcpClient
from services.lease import Lease

from .controller.launcher import NAME as CONTROLLER, Controller, ControllerSettings
from .errors import LabError
from .model import Interface, Port, Switch, Topology, pools
from .model.domains import link_subnet
from .model.validation import validate
from .network import capabilities, netbuild, ovs
from .network.nodes import RUN_ENV, ControllerTarget, FlowlabHost
from .processes.binaries import require_all
from .processes.services_api import Services, Unbound
from .processes.supervisor import ROOT_NAMESPACE, NotReady, Supervisor, tail
from .runs import cleanup, retention
from .runs.rundir import UP, Process, RunDir, RunState

NEEDED = ("mnexec", "ovs-vsctl", "ip", "ethtool", "iptables", "mount", "bash")


@dataclass
class LabSettings:
    """How to run a lab, as opposed to what it is (that is the topology)."""

    datapath: str | None = None          # auto (kernel where it exists), user, kernel
    runs_base: Path | None = None        # default: $FLOWLAB_RUNS or /var/tmp/flowlab/runs
    services: bool = True                # False: network only, DHCP hosts take reservations
    unbound_ok: bool = False             # True: DHCP clients without a lease by their deadline
                                         # keep trying and are listed in lab.unbound
    controller: ControllerSettings | None = None   # an OpenFlow controller; None: normal mode
    progress: Callable[[str], None] = field(default=lambda message: None)
    purpose: str = ""                    # recorded in the run's state from its first moment, so
                                         # that other shells can tell what is still starting


@contextlib.contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM while tearing down, so an impatient second
    Ctrl-C cannot leave half a network behind; they are re-raised after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda s, _f: received.append(s))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])


class Lab:
    def __init__(self, topo: Topology, spec: str | None = None,
                 settings: LabSettings | None = None):
        self.topo = topo
        self.spec = spec or topo.name
        self.settings = settings or LabSettings()
        self._recording = threading.Lock()
        self.net: Mininet | None = None
        self.run: RunDir | None = None
        self.state: RunState | None = None
        self.datapath: str | None = None
        self._supervisor: Supervisor | None = None
        self.controller: Controller | None = None
        self.services = Services(self, None, [])
        self.unbound: list[Unbound] = []
        self.bringup_seconds: float | None = None    # set once the lab is up

    # -- context manager --------------------------------------------------------
    def __enter__(self) -> "Lab":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> "Lab":
        progress = self.settings.progress
        began = time.monotonic()
        validate(self.topo)
        require_all(*NEEDED)
        self._refuse_clashes(ovs.ensure_running())
        setLogLevel("error")
        self.datapath = capabilities.datapath(self.settings.datapath)
        retention.prune(retention.Policy.from_environment(), self.settings.runs_base)
        self.run = RunDir.create(self.topo.name, self.settings.runs_base)
        self.state = RunState(
            run_id=self.run.run_id, topology=self.topo.name, spec=self.spec,
            options=asdict(self.topo.options), owner_pid=os.getpid(),
            purpose=self.settings.purpose,
            roles={n.name: n.role for n in self.topo.nodes},
            bridges=[s.name for s in self.topo.switches()],
            root_links=netbuild.root_side_ports(self.topo))
        self.run.save(self.state)
        try:
            target = self._start_controller() if self.settings.controller else None
            progress(f"creating {len(self.topo.nodes)} nodes and {len(self.topo.links)} links "
                     f"({self.datapath} datapath)")
            self.net = netbuild.create(self.topo, self.run.run_id, self.datapath, target)
            self.net.build()
            self.state.nodes = {n.name: n.pid for n in self.net.hosts + self.net.switches}
            self.run.save(self.state)
            netbuild.silence_switch_ports(self.topo)
            if self.controller is not None:
                self._supervisor.wait_ready(self._supervisor.running[CONTROLLER])
            progress("starting switches")
            self.net.start()
            if self.controller is not None:
                progress(f"waiting for {len(self.topo.switches())} switches to connect to the "
                         f"{CONTROLLER}")
                self.controller.wait_ready(self._supervisor.running[CONTROLLER].proc)
            progress("configuring hosts and routers")
            netbuild.configure_nodes(self.topo, self.net, self.run, self.datapath,
                                     dhcp=self.settings.services)
            if self.settings.services:
                self._supervisor = self._supervisor or Supervisor(self, progress)
                self.services = Services(self, self._supervisor,
                                         plan.daemons(self.topo, self.run.path))
                self.unbound = self._start_daemons()
                for unbound in self.unbound:
                    progress(f"unbound: {unbound.node}:{unbound.iface} got no lease")
            self.state.status = UP
            self.run.save(self.state)
            self.bringup_seconds = time.monotonic() - began
            progress("lab is up")
        except BaseException:
            self.stop()
            raise
        return self

    def _start_controller(self) -> ControllerTarget:
        """Start the OpenFlow controller before the bridges exist, so that
        each connects at once; its readiness is awaited after the build."""
        self.controller = Controller(self.topo, self.run.path / "controller",
                                     self.settings.controller)
        apps = ", ".join(self.controller.settings.apps)
        self.settings.progress(f"starting the {CONTROLLER} ({apps}) on {self.controller.target}")
        self._supervisor = Supervisor(self, self.settings.progress)
        self._supervisor.start(self.controller.launch())
        return ControllerTarget(self.controller.config.listen_host, self.controller.config.port)

    def controller_failure(self) -> str | None:
        """Why the lab's controller is gone, when it died while the lab was
        up (None: it runs, or the lab has none).  Under secure fail mode its
        switches forward nothing more: every result after it is suspect."""
        running = self._supervisor.running.get(CONTROLLER) if self._supervisor else None
        if running is None or running.proc.poll() is None:
            return None
        code = running.proc.returncode
        how = (f"was killed by {signal.Signals(-code).name}" if code < 0
               else f"exited with status {code}")
        return (f"the {CONTROLLER} (pid {running.proc.pid}) {how} while the lab was up: "
                f"its switches are in secure "
                f"fail mode and forward nothing without it; last lines of "
                f"{running.launch.log}:\n{tail(running.launch.log)}")

    def _start_daemons(self) -> list[Unbound]:
        """Start every daemon; DHCP clients without a lease at their deadline
        are returned (unbound_ok) or fail the bring-up naming the client."""
        clients = {i.name for i in self.services.all(DHCP_CLIENT)}
        try:
            unready = self._supervisor.start_all(
                [i.launch for i in self.services.all()],
                may_stay_unready=lambda launch: self.settings.unbound_ok
                and launch.name in clients)
        except NotReady as late:
            if late.launch.name not in clients:
                raise
            raise LabError(f"{pools.failure(self, self.services.unbound(late))}\n(a lab "
                           "brought up with "
                           "unbound_ok, 'up --allow-unbound', stays up and lists such "
                           "clients)") from late
        return pools.explain_unbound(self, [self.services.unbound(late) for late in unready])

    def _refuse_clashes(self, bridges: list[str]) -> None:
        """Switch ports and bridges live in the machine's namespace under the
        topology's names: a second lab of the same topology, or leftovers of a
        crashed run, would clash half-way through the build."""
        taken = [name for name in netbuild.root_side_ports(self.topo)
                 + [s.name for s in self.topo.switches()]
                 if os.path.exists(f"/sys/class/net/{name}")]
        taken += [b for b in bridges if self.topo.find(b)]
        if taken:
            raise LabError(f"{', '.join(sorted(set(taken)))} already exist on this machine: "
                           "another lab of this topology is up ('down --list'), or a crashed "
                           "run left them ('clean')")

    def stop(self) -> None:
        """Tear everything down; safe to call more than once."""
        if self.run is None or self.state is None:
            return
        with signals_deferred():
            self.settings.progress("tearing down")
            if self._supervisor is not None:
                self._supervisor.stop_all()
            if self.net is not None:
                net, self.net = self.net, None
                try:
                    net.stop()
                except Exception as exc:   # the sweep below still removes it all
                    self.settings.progress(f"mininet stop failed ({exc}); sweeping")
            cleanup.clean_run(self.run, self.state)

    # -- working in the lab -------------------------------------------------------------
    def node(self, name: str) -> FlowlabHost:
        if self.net is None:
            raise LabError("the lab is not up")
        try:
            return self.net.get(name)
        except KeyError:
            raise LabError(f"no node '{name}' in {self.topo.name}") from None

    def mac(self, node: str, iface: str) -> str:
        """The MAC of ``node``'s interface ``iface`` as the running lab has
        it (lower case, as packets show it): checks ask the lab, not Mininet's
        objects, so that they do not depend on how the network was built."""
        try:
            return self.node(node).intf(iface).mac.lower()
        except KeyError:
            raise LabError(f"{node} has no interface '{iface}'") from None

    def macs(self, node: str) -> set[str]:
        """The MACs of all of ``node``'s interfaces (its topology's), as
        :meth:`mac` gives them: what frames from or to that node carry."""
        self.node(node)                        # an unknown node is refused by name
        return {self.mac(node, iface.name) for iface in self.topo.interfaces(node)}

    def exec_argv(self, node: str, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside ``node`` (or in the
        machine's own namespaces for ROOT_NAMESPACE), marked as ours."""
        if node == ROOT_NAMESPACE:
            return ["env", f"{RUN_ENV}={self.run.run_id}", *argv]
        return exec_argv(self.node(node).pid, argv, self.run.run_id)

    def run_in(self, node: str, argv: list[str], timeout: float | None = 30,
               **kwargs) -> subprocess.CompletedProcess:
        """Run ``argv`` inside a node (its network and mount namespaces), with
        its exit status and separate stdout/stderr, like ``subprocess.run``."""
        return subprocess.run(self.exec_argv(node, argv), capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    def record(self, process: Process) -> None:
        """Note a process the run started, so teardown and clean find it."""
        with self._recording:        # checks running at once record from their threads
            self.state.processes.append(process)
            self.run.save(self.state)

    def dhcp_clients(self) -> list[DhcpClient]:
        return self.services.dhcp_clients()

    def dhcp_client(self, node: str) -> DhcpClient:
        return self.services.dhcp_client(node)

    def leases(self) -> dict[tuple[str, str], Lease]:
        """The leases the DHCP clients hold: (node, interface) -> lease."""
        return self.services.leases()

    def restart_dhcp_client(self, node: str, fresh: bool = True) -> Lease | None:
        """Restart a PC's DHCP client (``fresh``: from DISCOVER, else
        INIT-REBOOT) and return its new lease; see Services.restart_dhcp_client."""
        return self.services.restart_dhcp_client(node, fresh)

    def summary(self) -> list[dict]:
        rows = summary_rows(self.topo, self.net, dhcp=self.settings.services)
        leases = self.leases() if self.run else {}
        unbound = {(u.node, u.iface) for u in self.unbound}
        for row in rows:
            lease = leases.get((row["node"], row["interface"]))
            if lease:
                row["address"] = lease.address
                row["lease"] = f"DHCP {lease.lease_time} s from {lease.server or '?'}"
            elif (row["node"], row["interface"]) in unbound:
                row["lease"] = "UNBOUND: no lease"
        return rows


def exec_argv(node_pid: int, argv: list[str], run_id: str) -> list[str]:
    """The command line that runs ``argv`` in the namespaces of a node shell."""
    return ["mnexec", "-a", str(node_pid), "env", f"FLOWLAB_RUN={run_id}", *argv]


def summary_rows(topo: Topology, net: Mininet | None = None, dhcp: bool = False) -> list[dict]:
    """One row per host/router interface: what a user needs to find their way."""
    rows = []
    order = {node.name: index for index, node in enumerate(topo.nodes)}
    for link in topo.links:
        for end in link.ends:
            if not isinstance(end, Interface):
                continue
            other = link.other(end)
            node = topo.find(end.node)
            mac = end.mac
            if net is not None:
                mac = net.get(end.node).intf(end.name).mac or mac
            address = netbuild.static_address(topo, end, dhcp)
            if isinstance(other, Port):
                switch = topo.find(other.node)
                flat = isinstance(switch, Switch) and not switch.vlans
                vlan = ("-" if other.vlan is None else
                        f"{other.vlan} (flat)" if flat else str(other.vlan))
                peer = f"{other.node}:{other.name}"
            else:
                vlan, peer = "-", f"{other.node}:{other.name}"
            subnet = link_subnet(topo, end) or (address.network if address else None)
            rows.append({
                "node": end.node, "role": node.role if node else "?",
                "interface": end.name, "mac": mac or "",
                "address": str(address) if address else "",
                "dhcp": bool(end.dhcp), "vlan": vlan, "peer": peer,
                "subnet": str(subnet) if subnet else "",
            })
    return sorted(rows, key=lambda row: (order.get(row["node"], 0), row["interface"]))
