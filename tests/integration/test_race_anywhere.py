"""``race`` on a topology that is not enterprise: two relays r1 and r2 on
one flat LAN (tests/topologies/tworelays.py), everything derived from the
model; and refused before anything is built where there is no race."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator.results import race as results

from .test_cli_lifecycle import flowlab

pytestmark = pytest.mark.root

TOPOLOGIES = Path(__file__).parents[1] / "topologies"
TWORELAYS = str(TOPOLOGIES / "tworelays.py")

ONE_RELAY = '''"""One relay: pc1 behind r1, the DHCP server behind it."""
from orchestrator.model import Dhcp, Topology, service

def build(options):
    topo = Topology("onerelay", "one relay", options)
    ten = topo.vlan(10, "a", topo.subnet("10.50.1.0/24", gateway="10.50.1.1",
                                         pool=("10.50.1.100", "10.50.1.199")))
    lan = topo.switch("lan", vlans=options.vlans)
    back = topo.switch("back", subnet=topo.subnet("10.50.0.0/24"))
    srv = topo.host("srv", services=[service("dhcp-server", subnets=[ten.subnet])])
    topo.link(srv, back, ip="10.50.0.10/24")
    srv.route("10.50.1.0/24", via="10.50.0.1")
    r1 = topo.router("r1", services=[service("dhcp-relay", server="10.50.0.10",
                                             downstream=["r1-eth0"], upstream="r1-eth1")])
    topo.link(r1, lan, vlan=ten, ip="10.50.1.1/24")
    topo.link(r1, back, ip="10.50.0.1/24")
    topo.link(topo.host("pc1"), lan, vlan=ten, dhcp=Dhcp(server="srv", relay="r1"))
    return topo
'''


def test_two_relays_race_for_pc1_without_vlans(tmp_path, untouched_machine):
    # 30 trials: r1 wins about 4 in 5 here, so one relay winning them all
    # happens about once in 800 runs (20 trials: once in 90).
    result = flowlab("race", TWORELAYS, "--client", "pc1", "--trials", "30",
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = results.read(tmp_path)
    assert run.topology == "tworelays" and run.client == "pc1"
    assert set(run.distribution) == {"172.16.1.0/24", "172.16.2.0/24"}
    assert set(run.first_offer) == {"r1", "r2"}
    for trial in run.trials:
        assert {(o.relay, o.giaddr) for o in trial.offers} == {
            ("r1", "172.16.1.1"), ("r2", "172.16.2.1")}, trial
        # The server's side was captured where the model says it is.
        assert all(o.reached_server_ms is not None for o in trial.offers), trial
    trial = tmp_path / "pcaps" / "trial-01"
    for point in ("pc1-eth0", "r1-eth0", "r1-eth1", "r2-eth0", "r2-eth1", "dhcp1-eth0",
                  "merged"):
        assert (trial / f"{point}.pcap").stat().st_size > 24, point
    assert "race reproduced: the client ended in 2 subnets" in result.stdout


def test_vlans_fix_it_for_pc1(tmp_path, untouched_machine):
    result = flowlab("race", TWORELAYS, "--client", "pc1", "--trials", "3", "--vlan",
                     "--format", "json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["vlans"] and report["distribution"] == {"172.16.1.0/24": 3}
    assert all([(o["relay"], o["giaddr"]) for o in t["offers"]] == [("r1", "172.16.1.1")]
               for t in report["trials"])


def runs() -> list[str]:
    return sorted(os.listdir(os.environ["FLOWLAB_RUNS"]))


@pytest.mark.parametrize("vlan", ["--no-vlan", "--vlan"])
def test_one_relay_is_refused_before_anything_is_built(vlan, tmp_path, untouched_machine):
    topology = tmp_path / "onerelay.py"
    topology.write_text(ONE_RELAY)
    before = runs()
    result = flowlab("race", str(topology), "--client", "pc1", vlan, "--out",
                     str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    reason = "pc1's broadcast domain lan holds one DHCP relay (r1): a race needs two"
    assert reason in result.stderr
    if vlan == "--vlan":
        assert "no race for VLANs to fix" in result.stderr
    assert "creating" not in result.stderr
    assert runs() == before and not (tmp_path / "out").exists()


def test_a_client_without_dhcp_is_refused_before_anything_is_built(untouched_machine):
    before = runs()
    result = flowlab("race", str(TOPOLOGIES / "chain.py"), "--client", "pc1")
    assert result.returncode == 2 and "pc1 takes no address by DHCP" in result.stderr
    assert runs() == before
