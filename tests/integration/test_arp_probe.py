"""The DHCP client hook's ARP probe (RFC 5227), run for real: in a network
namespace of its own with a veth pair, the rendered dhclient hook binds an
address nobody holds after its 300 ms wait, and declines one a neighbour
defends, without applying or recording it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from orchestrator.model import registry
from services import plan
from services.dhcp_client import Dhclient
from tests.unit.test_dhcp_configs import write_files

pytestmark = pytest.mark.root

ADDRESS = "10.0.0.9"


def bind(tmp_path, defended: bool) -> tuple[subprocess.CompletedProcess, str, object]:
    topo = registry.load("enterprise")
    daemon = next(d for d in plan.daemons(topo, tmp_path) if isinstance(d, Dhclient)
                  and d.ctx.host.name == "xiaoming")
    launch = daemon.launch()
    write_files(launch)
    hook = next(iter(launch.executables))
    defend = f"ip addr add {ADDRESS}/24 dev v1;" if defended else ""
    script = (f"ip link add v0 type veth peer name v1 && ip link set v0 up && "
              f"ip link set v1 up && {defend} sleep 0.2 && "
              f"reason=BOUND interface=v0 new_ip_address={ADDRESS} new_subnet_mask=24 "
              f"new_dhcp_lease_time=3600 new_dhcp_server_identifier=10.0.0.1 "
              f"sh {hook}; rc=$?; ip -4 -o addr show dev v0; exit $rc")
    done = subprocess.run([shutil.which("unshare"), "-n", "sh", "-c", script],
                          capture_output=True, text=True, timeout=30)
    return done, done.stdout, daemon.lease()


def test_a_free_address_is_bound_after_the_probe(tmp_path):
    done, addresses, lease = bind(tmp_path, defended=False)
    assert done.returncode == 0, done.stderr
    assert f"{ADDRESS}/24" in addresses
    assert lease is not None and lease.ip == ADDRESS and lease.event == "bound"


def test_a_defended_address_is_declined(tmp_path):
    done, addresses, lease = bind(tmp_path, defended=True)
    assert done.returncode == 1
    assert f"{ADDRESS} is in use on v0" in done.stderr and "declining" in done.stderr
    assert ADDRESS not in addresses and lease is None

