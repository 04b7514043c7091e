"""The switching fabric as the controller's apps see it: typed records, parsed once.

The apps run in the controller's own process and know nothing of Mininet or
of the topology file: the lab renders what they need from the model
(:func:`orchestrator.controller.launcher.render_fabric`) to a JSON file in
the run directory, and :func:`load` parses it back into these records.
Everything here is derived from the model, never from node names: which
VLAN a port is in, which ports are trunks, where the DHCP relays and
servers of each subnet are plugged in, and which ports may send DHCP
server messages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

UNTAGGED = 0
"""The broadcast domain of untagged ports (and of every port of a flat switch)."""


@dataclass(frozen=True)
class SwitchPort:
    """One port of a switch and what is plugged into it.

    ``vlan`` and ``trunk`` are the model's, also on a flat switch, where they
    no longer separate traffic but still say which subnet the port is meant
    for (``subnet``).  ``dhcp_agent`` says that the interface behind the
    port relays or serves DHCP for ``subnet``; ``dhcp_trusted`` that DHCP
    server messages (UDP source port 67) are accepted from it.
    """

    name: str
    peer_node: str
    peer_iface: str
    peer_role: str                     # host, router or switch
    peer_mac: str = ""
    vlan: int | None = None
    trunk: tuple[int, ...] | None = None
    subnet: str = ""                   # e.g. "10.1.1.0/24"; "" where none is declared
    dhcp_agent: bool = False
    dhcp_trusted: bool = False

    @property
    def to_switch(self) -> bool:
        return self.peer_role == "switch"


@dataclass(frozen=True)
class DhcpAgent:
    """An interface that answers DHCP clients of ``subnet``: a relay's
    downstream interface, or a DHCP server's own interface on the subnet."""

    node: str
    iface: str
    mac: str
    address: str
    subnet: str


@dataclass(frozen=True)
class FabricSwitch:
    name: str
    dpid: int
    vlans: bool                        # False: flat, one broadcast domain
    ports: tuple[SwitchPort, ...]

    def port(self, name: str) -> SwitchPort | None:
        return next((p for p in self.ports if p.name == name), None)


@dataclass(frozen=True)
class Fabric:
    topology: str
    switches: tuple[FabricSwitch, ...]
    dhcp_agents: tuple[DhcpAgent, ...] = ()

    def switch(self, dpid: int) -> FabricSwitch | None:
        return next((s for s in self.switches if s.dpid == dpid), None)

    def agents_for(self, subnet: str) -> list[DhcpAgent]:
        return [a for a in self.dhcp_agents if subnet and a.subnet == subnet]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> "Fabric":
        switches = []
        for sw in data["switches"]:
            ports = tuple(SwitchPort(**dict(p, trunk=None if p.get("trunk") is None
                                             else tuple(p["trunk"])))
                          for p in sw["ports"])
            switches.append(FabricSwitch(sw["name"], int(sw["dpid"]), bool(sw["vlans"]), ports))
        agents = tuple(DhcpAgent(**a) for a in data.get("dhcp_agents", ()))
        return cls(data["topology"], tuple(switches), agents)


def load(path: str | Path) -> Fabric:
    """Parse the fabric file a lab wrote; a malformed one raises naming it."""
    try:
        return Fabric.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a flowlab fabric file ({exc})") from None


def switch_dpids(switch_names: list[str]) -> dict[str, int]:
    """The datapath id of each switch: its position in the model, from 1.
    The build sets it on the bridge and the apps find the switch by it."""
    return {name: index for index, name in enumerate(switch_names, start=1)}
