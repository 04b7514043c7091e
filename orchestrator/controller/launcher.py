"""Starting the OpenFlow controller of a lab, proving it ready, and reading its evidence.

The controller (os-ken with the chosen apps) is a supervised process of
the run, in the machine's own namespaces and listening on loopback only:
its config, fabric file, status file and log live in the run directory
(``controller/``), it is recorded and marked like every daemon, and it is
stopped by pid with them.  The lab starts it before the bridges exist, so
that every switch connects on its first try, and calls it ready when the
monitor reports every switch of the model connected and every flowlab app
ready on it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from services.base import Launch, LogLine, python_module
from services.dhcp_relay import DHCP_RELAY
from services.dhcp_server import DHCP_SERVER

from ..errors import FlowlabError, LabError
from ..model import Interface, Topology
from ..model.domains import declared_subnet, link_subnet
from ..network.ovs import controller_connected
from ..processes.binaries import require
from ..processes.supervisor import ROOT_NAMESPACE, tail
from .apps import DEFAULT, FORWARDING, SHIPPED
from .config import LISTEN_HOST, ControllerConfig
from .fabric import DhcpAgent, Fabric, FabricSwitch, SwitchPort, switch_dpids

KINDS = ("none", "os-ken")
NAME = "os-ken controller"
READY_DEADLINE = 15.0
POLL_SECONDS = 0.02
STATUS_WAIT = 1.0


class ControllerChoiceError(FlowlabError):
    """A controller or app that cannot be used, refused before any work."""

    exit_status = 2


@dataclass(frozen=True)
class ControllerSettings:
    """The controller a lab runs: its apps, as given (shipped names, .py
    files or module names), resolved by :func:`resolve_apps`."""

    kind: str = "os-ken"
    apps: tuple[str, ...] = DEFAULT


def resolve_app(spec: str) -> str:
    """What os-ken loads for ``spec``: a shipped app's module, a .py file
    (absolute), or an importable module name; refused otherwise."""
    if spec in SHIPPED:
        return SHIPPED[spec]
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec)
        if not path.is_file():
            raise ControllerChoiceError(f"--controller-app {spec}: no such file")
        if path.suffix != ".py":
            raise ControllerChoiceError(f"--controller-app {spec}: not a .py file")
        return str(path.resolve())
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        found = None
    if found is None:
        raise ControllerChoiceError(f"--controller-app {spec}: not an app flowlab ships "
                                    f"({', '.join(SHIPPED)}), a .py file or an importable "
                                    "module")
    return spec


def resolve_apps(apps: tuple[str, ...]) -> tuple[str, ...]:
    forwarding = [a for a in apps if a in FORWARDING]
    if len(forwarding) > 1:
        raise ControllerChoiceError(
            f"--controller-app {' and '.join(forwarding)}: both forward every frame; choose "
            "one (dhcp-guard is l2 with DHCP snooping)")
    resolved = tuple(resolve_app(a) for a in apps)
    if len(set(resolved)) != len(resolved):
        raise ControllerChoiceError(f"--controller-app given twice: {', '.join(apps)}")
    return resolved


def choose(kind: str | None, apps: list[str] | None) -> ControllerSettings | None:
    """The CLI's ``--controller`` and ``--controller-app``, checked before
    any work: apps without a controller, unknown apps, two forwarding apps."""
    kind = kind or "none"
    if kind not in KINDS:
        raise ControllerChoiceError(f"--controller {kind}: one of {', '.join(KINDS)}")
    if kind == "none":
        if apps:
            raise ControllerChoiceError("--controller-app needs --controller os-ken")
        return None
    chosen = tuple(apps) if apps else DEFAULT
    resolve_apps(chosen)
    return ControllerSettings(kind, chosen)


# -- the model as the apps see it ------------------------------------------------------

def _mac(iface: Interface) -> str:
    from ..network.netbuild import stable_mac
    return iface.mac or stable_mac(iface.name)


def _dhcp_roles(topo: Topology) -> tuple[set[tuple[str, str]], set[str]]:
    """Interfaces that answer DHCP clients (relays' downstream interfaces),
    and nodes whose every interface may send DHCP server messages."""
    downstream, trusted_nodes = set(), set()
    for host in topo.hosts():
        for svc in host.services:
            if svc.kind == DHCP_RELAY:
                trusted_nodes.add(host.name)
                downstream |= {(host.name, name) for name in svc.params.get("downstream", ())}
            elif svc.kind == DHCP_SERVER:
                trusted_nodes.add(host.name)
                downstream |= {(host.name, i.name) for i in topo.interfaces(host.name)}
    return downstream, trusted_nodes


def render_fabric(topo: Topology) -> Fabric:
    """The fabric file's records, from the model alone."""
    answering, trusted_nodes = _dhcp_roles(topo)
    dpids = switch_dpids([s.name for s in topo.switches()])
    agents = []
    for iface in topo.interfaces():
        if (iface.node, iface.name) in answering and iface.ip is not None:
            network = link_subnet(topo, iface) or iface.address.network
            agents.append(DhcpAgent(iface.node, iface.name, _mac(iface), str(iface.ip),
                                    str(network)))
    switches = []
    for switch in topo.switches():
        ports = []
        for end in topo.ends_of(switch.name):
            peer = topo.link_of(end).other(end)
            node = topo.find(peer.node)
            if isinstance(peer, Interface):
                subnet = declared_subnet(topo, peer)
                ports.append(SwitchPort(
                    end.name, peer.node, peer.name, node.role if node else "host", _mac(peer),
                    end.vlan, end.trunk, str(subnet.network) if subnet else "",
                    dhcp_agent=(peer.node, peer.name) in answering,
                    dhcp_trusted=peer.node in trusted_nodes))
            else:
                ports.append(SwitchPort(end.name, peer.node, peer.name, "switch", "", end.vlan,
                                        end.trunk, dhcp_trusted=True))
        switches.append(FabricSwitch(switch.name, dpids[switch.name], switch.vlans,
                                     tuple(ports)))
    return Fabric(topo.name, tuple(switches), tuple(agents))


def free_port(host: str = LISTEN_HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# -- the running controller ------------------------------------------------------------

class Controller:
    """One lab's controller: its files, its launch, its readiness, its evidence."""

    def __init__(self, topo: Topology, directory: Path, settings: ControllerSettings):
        self.topo = topo
        self.settings = settings
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.fabric_path = directory / "fabric.json"
        self.status_path = directory / "status.json"
        self.log = directory / "os-ken.log"
        self.fabric = render_fabric(topo)
        self.fabric_path.write_text(self.fabric.to_json())
        self.config = ControllerConfig(free_port(), resolve_apps(settings.apps),
                                       str(self.fabric_path), str(self.status_path))
        self.config_path = self.config.write(directory / "config.json")

    @property
    def target(self) -> str:
        return f"tcp:{self.config.listen_host}:{self.config.port}"

    @property
    def bridges(self) -> dict[str, int]:
        return {s.name: s.dpid for s in self.fabric.switches}

    def launch(self) -> Launch:
        return Launch(name=NAME, node=ROOT_NAMESPACE,
                      argv=python_module("orchestrator.controller.run", str(self.config_path)),
                      log=str(self.log), ready=LogLine(r"listening on "), stage=0,
                      deadline=READY_DEADLINE)

    def status(self) -> dict:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return {}

    def unready(self, status: dict | None = None) -> list[str]:
        """The switches not yet connected, or on which an app is not yet ready."""
        status = self.status() if status is None else status
        missing = []
        for name, dpid in self.bridges.items():
            if dpid not in status.get("connected", ()):
                missing.append(f"{name} (not connected)")
                continue
            late = [app for app in status.get("apps", ())
                    if dpid not in status.get("ready", {}).get(app, ())]
            if late:
                missing.append(f"{name} ({', '.join(late)} not ready)")
        return missing

    def wait_ready(self, proc: subprocess.Popen, deadline: float = READY_DEADLINE) -> float:
        """Wait until the monitor reports every switch connected and every
        app ready on it (their flows sent over that very connection), while
        ``proc`` (the controller) runs.  Not OVS's ``is_connected``: OVS
        refreshes that column only every few seconds.  At the deadline the
        controller's threads' stacks go to its log (SIGUSR1), and the error
        says what OVS sees."""
        start = time.monotonic()
        while True:
            missing = self.unready()
            if not missing:
                return time.monotonic() - start
            if proc.poll() is not None:
                raise LabError(f"the {NAME} exited while the switches connected; last lines "
                               f"of {self.log}:\n{tail(str(self.log))}")
            if time.monotonic() - start > deadline:
                proc.send_signal(signal.SIGUSR1)
                time.sleep(0.5)
                seen = controller_connected(list(self.bridges))
                raise LabError(f"the {NAME} ({self.target}) was not ready within "
                               f"{deadline:.0f} s: {', '.join(missing)} (OVS sees connected: "
                               f"{', '.join(b for b, ok in seen.items() if ok) or 'none'}); "
                               "last lines of "
                               f"{self.log}:\n{tail(str(self.log))}")
            time.sleep(POLL_SECONDS)

    def packet_ins(self, fresh_after: float | None = None) -> dict[str, int]:
        """Packet-ins so far per switch name; with ``fresh_after`` (a
        time.time()), from a status the monitor wrote after it (it writes
        every 50 ms), or the latest within a second."""
        status = self.status()
        deadline = time.monotonic() + STATUS_WAIT
        while (fresh_after is not None and status.get("written", 0) < fresh_after
               and time.monotonic() < deadline):
            time.sleep(POLL_SECONDS)
            status = self.status()
        counts = status.get("packet_in", {})
        return {name: int(counts.get(str(dpid), 0)) for name, dpid in self.bridges.items()}

    def evidence(self, before: dict[str, int], directory: Path) -> str:
        """What the controller did during a check: packet-ins per switch since
        ``before``, and each switch's flow table now, saved as
        ``flows-<switch>.txt`` in the check's directory."""
        after = self.packet_ins(fresh_after=time.time())
        directory.mkdir(parents=True, exist_ok=True)
        flows = {}
        for bridge in self.bridges:
            table = flow_table(bridge)
            (directory / f"flows-{bridge}.txt").write_text(table)
            flows[bridge] = sum(1 for line in table.splitlines() if "actions=" in line)
        counts = ", ".join(f"{b} {after[b] - before.get(b, 0)}" for b in self.bridges)
        tables = ", ".join(f"{b} {n}" for b, n in flows.items())
        return (f"under the {NAME} ({', '.join(self.settings.apps)}): packet-ins {counts}; "
                f"flows now {tables} (ovs-ofctl -O OpenFlow13 dump-flows in "
                f"{directory}/flows-*.txt)")


def flow_table(bridge: str) -> str:
    """The bridge's OpenFlow 1.3 flows, as ``ovs-ofctl dump-flows`` prints them."""
    result = subprocess.run([require("ovs-ofctl"), "-O", "OpenFlow13", "dump-flows", bridge],
                            capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else result.stderr
