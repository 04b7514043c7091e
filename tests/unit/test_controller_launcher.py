"""The controller's launcher, from the model alone: the fabric the apps get,
the choice of controller and apps refused before any work, the config."""

from __future__ import annotations

import pytest

from orchestrator.controller.config import ControllerConfig
from orchestrator.controller.fabric import Fabric
from orchestrator.controller.launcher import (
    ControllerChoiceError,
    ControllerSettings,
    choose,
    render_fabric,
    resolve_apps,
)
from orchestrator.model import TopologyOptions
from topologies import enterprise


def test_enterprise_fabric_has_the_models_ports_vlans_and_dhcp_roles():
    fabric = render_fabric(enterprise.build(TopologyOptions(vlans=True)))
    access = next(s for s in fabric.switches if s.name == "access")
    assert access.vlans and access.dpid == 1
    ports = {p.peer_node: p for p in access.ports}
    assert ports["xiaoming"].vlan == 10 and ports["xiaoli"].vlan == 20
    assert ports["xiaoming"].subnet == "10.1.1.0/24"
    assert ports["xiaoming"].peer_mac == "02:00:0a:01:01:02"
    assert not ports["xiaoming"].dhcp_trusted and not ports["xiaoming"].dhcp_agent
    assert ports["gw1"].dhcp_agent and ports["gw1"].dhcp_trusted
    agents = {(a.node, a.subnet) for a in fabric.dhcp_agents}
    assert ("gw1", "10.1.1.0/24") in agents and ("gw2", "10.1.2.0/24") in agents


def test_flat_build_keeps_the_tags_as_the_subnet_a_port_is_meant_for():
    fabric = render_fabric(enterprise.build(TopologyOptions(vlans=False)))
    access = next(s for s in fabric.switches if s.name == "access")
    assert not access.vlans
    assert {p.peer_node: p.subnet for p in access.ports}["xiaoli"] == "10.1.2.0/24"


def test_fabric_survives_its_json():
    fabric = render_fabric(enterprise.build(TopologyOptions()))
    import json
    assert Fabric.from_dict(json.loads(fabric.to_json())) == fabric


def test_config_survives_its_file(tmp_path):
    config = ControllerConfig(6653, ("a", "b.py"), "f.json", "s.json")
    assert ControllerConfig.read(config.write(tmp_path / "c.json")) == config


def test_no_controller_by_default_and_l2_by_default_with_one():
    assert choose("none", []) is None
    assert choose(None, None) is None
    assert choose("os-ken", []) == ControllerSettings("os-ken", ("l2",))


@pytest.mark.parametrize("kind, apps, refusal", [
    ("none", ["l2"], "--controller-app needs --controller os-ken"),
    ("os-ken", ["./missing.py"], "no such file"),
    ("os-ken", ["l2", "dhcp-guard"], "both forward every frame"),
    ("os-ken", ["no_such_module_anywhere"], "not an app flowlab ships"),
    ("floodlight", [], "one of none, os-ken"),
])
def test_bad_choices_are_refused_before_any_work(kind, apps, refusal):
    with pytest.raises(ControllerChoiceError, match=refusal) as refused:
        choose(kind, apps)
    assert refused.value.exit_status == 2


def test_a_file_that_is_not_python_is_refused(tmp_path):
    text = tmp_path / "app.txt"
    text.write_text("")
    with pytest.raises(ControllerChoiceError, match="not a .py file"):
        resolve_apps((str(text),))


def test_user_file_is_loaded_by_its_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "myapp.py").write_text("")
    monkeypatch.chdir(tmp_path)
    assert resolve_apps(("./myapp.py",)) == (str(tmp_path / "myapp.py"),)


def test_check_evidence_counts_packet_ins_and_saves_flow_tables(tmp_path, monkeypatch):
    import json
    import time

    from orchestrator.controller import launcher
    topo = enterprise.build(TopologyOptions())
    controller = launcher.Controller(topo, tmp_path / "controller", ControllerSettings())
    controller.status_path.write_text(json.dumps(
        {"written": time.time() + 60, "packet_in": {"1": 12, "2": 3}}))
    tables = {"access": " cookie=0x0, priority=0 actions=CONTROLLER:65535\n"
                        " cookie=0xf10a0002, priority=10,in_port=1 actions=output:2\n",
              "srvlan": " cookie=0x0, priority=0 actions=CONTROLLER:65535\n"}
    monkeypatch.setattr(launcher, "flow_table", lambda bridge: tables[bridge])
    note = controller.evidence({"access": 2, "srvlan": 3}, tmp_path / "check")
    assert "packet-ins access 10, srvlan 0" in note
    assert "flows now access 2, srvlan 1" in note
    assert (tmp_path / "check" / "flows-access.txt").read_text() == tables["access"]


def test_readiness_names_the_switches_not_yet_connected_or_not_ready(tmp_path):
    from orchestrator.controller import launcher
    topo = enterprise.build(TopologyOptions())
    controller = launcher.Controller(topo, tmp_path, ControllerSettings())
    assert controller.unready({"connected": [1], "apps": ["L2Switch"],
                               "ready": {"L2Switch": []}}) == [
        "access (L2Switch not ready)", "srvlan (not connected)"]
    assert controller.unready({"connected": [1, 2], "apps": ["L2Switch"],
                               "ready": {"L2Switch": [1, 2]}}) == []
