"""reach and l2-scope in real labs of the test tree's user-style topologies.

On the router chain and on the campus both checks pass.  Broken variants
fail the one check they break, with a sentence that names the fault: the
chain without r1's route to lan2 fails ``reach`` naming r1 and
10.9.1.0/24 (l2-scope still passes); a campus port that also carries the
other VLAN fails ``l2-scope`` naming the host that hears it (reach still
passes); a campus PC moved to the wrong VLAN fails ``l2-scope`` naming it.
The last two are faults of the running switch, which no model declares:
exactly what a check derived from the model is for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.checks.derived.l2scope import L2Scope
from orchestrator.checks.derived.reach import Reach
from orchestrator.checks.runner import run_check
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import Port, Topology
from orchestrator.network.ovs import vsctl
from tests.topologies import campus, chain

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]


def run(lab: Lab, check, tmp_path: Path):
    result = run_check(lab, check, tmp_path / "pcaps")
    return result, (result.evidence if result.passed else "\n".join(result.failures))


def switch_port(topo: Topology, node: str) -> str:
    """The OVS port a host's first interface is plugged into."""
    iface = topo.interfaces(node)[0]
    port = topo.link_of(iface).other(iface)
    assert isinstance(port, Port)
    return port.name


@pytest.fixture
def chain_lab(untouched_machine_module):
    with Lab(chain.build(), settings=LabSettings(services=True)) as lab:
        yield lab


@pytest.fixture
def campus_lab(untouched_machine_module):
    with Lab(campus.build(), settings=LabSettings(services=True)) as lab:
        yield lab


def test_chain_reach_and_l2_scope_pass(chain_lab, tmp_path):
    reach, said = run(chain_lab, Reach(), tmp_path)
    assert reach.passed, said
    assert said.startswith("12 pairs: each echo and reply seen on every wire of its predicted "
                           "path, 32 router crossings")
    scope, said = run(chain_lab, L2Scope(), tmp_path)
    assert scope.passed, said
    assert said.endswith("lan1 (3 interfaces), lan2 (3 interfaces)")


def test_campus_reach_and_l2_scope_pass(campus_lab, tmp_path):
    reach, said = run(campus_lab, Reach(), tmp_path)
    assert reach.passed, said
    assert said.startswith("25 pairs: each echo and reply seen")
    assert "not expected (one-way by NAT): ext > srv (srv is behind core's NAT)" in said
    scope, said = run(campus_lab, L2Scope(), tmp_path)
    assert scope.passed, said
    assert "acc1/vlan10 (3 interfaces), acc1/vlan20 (3 interfaces)" in said


def test_chain_without_a_route_fails_reach_naming_router_and_network(tmp_path,
                                                                    untouched_machine_module):
    with Lab(chain.build(missing_route=True), settings=LabSettings(services=True)) as lab:
        reach, said = run(lab, Reach(), tmp_path)
        scope, scope_said = run(lab, L2Scope(), tmp_path)
    assert not reach.passed
    assert said.startswith(
        "8 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1-eth0, "
        "reached r1 on r1-eth0, not forwarded: r1 has no route to 10.9.1.0/24"), said
    # r1's answer (ICMP net unreachable) is named when the kernel sent one;
    # its ICMP errors are rate-limited, so it is not required here.
    assert scope.passed, scope_said


def test_campus_port_leaking_the_other_vlan_fails_l2_scope_only(campus_lab, tmp_path):
    # a2's access port (VLAN 10) also sends VLAN 20 out, tagged.
    vsctl("set", "port", switch_port(campus_lab.topo, "a2"), "vlan_mode=native-untagged",
        "trunks=10,20")
    reach, reach_said = run(campus_lab, Reach(), tmp_path)
    scope, said = run(campus_lab, L2Scope(), tmp_path)
    assert reach.passed, reach_said
    assert not scope.passed
    assert said.startswith("2 of 6 broadcasts left their broadcast domain or missed part of "
                           "it: b1's broadcast who-has 10.20.20.254 tell "), said
    assert "from b1-eth0: heard on a2-eth0, outside its broadcast domain; the model's domain " \
           "acc1/vlan20 is b1-eth0, b2-eth0, core-eth1" in said


def test_campus_pc_on_the_wrong_vlan_fails_l2_scope_naming_it(campus_lab, tmp_path):
    vsctl("set", "port", switch_port(campus_lab.topo, "a2"), "tag=20")
    scope, said = run(campus_lab, L2Scope(), tmp_path)
    assert not scope.passed
    assert "a2's broadcast who-has 10.20.10.254 tell " in said
    assert "from a2-eth0: heard on b1-eth0, b2-eth0, core-eth1, outside its broadcast domain " \
           "and not heard on a1-eth0, core-eth0, inside it; the model's domain acc1/vlan10 is " \
           "a1-eth0, a2-eth0, core-eth0" in said, said
