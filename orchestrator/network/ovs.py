"""Open vSwitch as a machine service: make sure it runs before a lab needs it,
and the one way to ask or change it (:func:`vsctl`).

The suite and ``up`` must work on a fresh machine where nobody started OVS
by hand (CI starts with nothing running).  Where the kernel has no
openvswitch module, ``ovs-ctl`` skips the modprobe and the userspace
datapath still works.
"""

from __future__ import annotations

import json
import subprocess

from ..errors import LabError
from ..processes.binaries import require, which


def bridges() -> list[str] | None:
    """The bridges OVS has, or None when it does not answer: one process
    that both proves OVS runs and lists what a new lab could clash with."""
    vsctl = which("ovs-vsctl")
    if vsctl is None:
        return None
    result = subprocess.run([vsctl, "--timeout=3", "list-br"], capture_output=True, text=True)
    return result.stdout.split() if result.returncode == 0 else None


def running() -> bool:
    return bridges() is not None


def ensure_running() -> list[str]:
    """Start ovsdb-server and ovs-vswitchd with ``ovs-ctl`` unless they run;
    the bridges there are."""
    require("ovs-vsctl")
    found = bridges()
    if found is not None:
        return found
    ctl = require("ovs-ctl")
    result = subprocess.run([ctl, "start"], capture_output=True, text=True)
    found = bridges()
    if found is None:
        raise LabError("Open vSwitch is not running and 'ovs-ctl start' did not start it:\n"
                       + (result.stdout + result.stderr).strip())
    return found


def vsctl(*args: str, check: bool = True) -> str:
    """What ``ovs-vsctl ARGS`` prints, stripped; a failure raises naming the
    command and what OVS said (unless ``check`` is false: cleanup goes on)."""
    result = subprocess.run([require("ovs-vsctl"), "--timeout=10", *args],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LabError(f"ovs-vsctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def vlan_tag(port: str) -> str:
    """The VLAN of an access port, as OVS holds it (``[]``: none)."""
    return vsctl("get", "port", port, "tag")


def set_vlan_tag(port: str, tag: str) -> None:
    vsctl("set", "port", port, f"tag={tag}")


def bridges_of_run(run_id: str | None = None) -> dict[str, str]:
    """Bridges carrying our ``flowlab-run`` external id: name -> run id.
    With ``run_id``, only that run's."""
    if not running():
        return {}
    out = vsctl("--format=json", "--columns=name,external_ids", "list", "bridge", check=False)
    found = {}
    for name, (_map, pairs) in json.loads(out or '{"data": []}')["data"]:
        owner = dict(pairs).get("flowlab-run")
        if owner and (run_id is None or owner == run_id):
            found[name] = owner
    return found


def _uuids(value) -> list[str]:
    """An OVSDB JSON reference column: ["uuid", U] or ["set", [[...], ...]]."""
    if value[0] == "uuid":
        return [value[1]]
    return [item[1] for item in value[1]] if value[0] == "set" else []


def controller_connected(bridges: list[str]) -> dict[str, bool]:
    """bridge -> whether one of its OpenFlow controllers is connected, as
    OVS sees it (``is_connected`` of its Controller records)."""
    out = vsctl("--format=json", "--columns=name,controller", "list", "bridge", check=False)
    rows = json.loads(out or '{"data": []}')["data"]
    out = vsctl("--format=json", "--columns=_uuid,is_connected", "list", "controller",
                check=False)
    connected = {row[0][1]: bool(row[1]) for row in json.loads(out or '{"data": []}')["data"]}
    of_bridge = {name: _uuids(refs) for name, refs in rows}
    return {bridge: any(connected.get(uuid, False) for uuid in of_bridge.get(bridge, ()))
            for bridge in bridges}
