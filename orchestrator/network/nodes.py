"""Mininet node classes of flowlab: a marked host shell and a VLAN-aware OVS bridge.

Every process a run starts carries ``FLOWLAB_RUN=<run id>`` in its
environment: the node shells, and through them every daemon started in a
node.  That mark is how ``clean`` recognises, by pid, what a crashed run
left, without killing anything by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mininet.node import Host, OVSSwitch

RUN_ENV = "FLOWLAB_RUN"


def marked_env(run_id: str) -> dict[str, str]:
    env = dict(os.environ)
    env[RUN_ENV] = run_id
    return env


class FlowlabHost(Host):
    """A Mininet host (own network and mount namespaces) whose shell, and so
    every command run through it, is marked with the run id."""

    def __init__(self, name, run_id: str = "", **params):
        self.run_id = run_id
        super().__init__(name, **params)

    def _popen(self, cmd, **params):
        params.setdefault("env", marked_env(self.run_id))
        return super()._popen(cmd, **params)


@dataclass(frozen=True)
class ControllerTarget:
    """An OpenFlow controller as Mininet's ``OVSSwitch.start`` reads one
    (name, protocol, IP(), port), without a Mininet Controller node."""

    ip: str
    port: int
    name: str = "c0"
    protocol: str = "tcp"

    def IP(self) -> str:   # noqa: N802 (Mininet's name)
        return self.ip


class FlowlabSwitch(OVSSwitch):
    """An OVS bridge tagged with the run id: in standalone (learning) mode,
    or, given a ``controller``, in secure fail mode speaking OpenFlow 1.3 to
    it (then it forwards nothing the controller did not tell it to).

    ``ports`` maps port name -> (access VLAN or None, trunk VLANs or None).
    Tags are set in the same single ``ovs-vsctl`` transaction that creates
    the bridge (Mininet's batch start-up), so VLAN isolation exists from the
    first packet and costs no extra round trip.  They apply to OVS's normal
    mode only: under a controller, its app does the tagging.
    """

    def __init__(self, name, run_id: str = "", ports: dict | None = None,
                 controller: ControllerTarget | None = None, **params):
        self.run_id = run_id
        self.port_vlans = ports or {}
        self.controller_target = controller
        if controller is not None:
            params.setdefault("failMode", "secure")
            params.setdefault("protocols", "OpenFlow13")
        params.setdefault("failMode", "standalone")
        super().__init__(name, **params)

    def start(self, controllers):
        """Mininet's start, with our controller when the lab has one."""
        if self.controller_target is not None:
            controllers = [self.controller_target]
        super().start(controllers)

    def _popen(self, cmd, **params):
        params.setdefault("env", marked_env(self.run_id))
        return super()._popen(cmd, **params)

    def bridgeOpts(self):
        return super().bridgeOpts() + f" external-ids:flowlab-run={self.run_id}"

    def intfOpts(self, intf):
        opts = super().intfOpts(intf)
        vlan, trunk = self.port_vlans.get(str(intf), (None, None))
        if vlan is not None:
            opts += f" -- set Port {intf} tag={vlan}"
        elif trunk:
            opts += f" -- set Port {intf} trunks={','.join(str(v) for v in trunk)}"
        return opts
