"""The ``l2`` app's decisions, with os-ken's packet library and a fake datapath."""

from __future__ import annotations

import pytest
from os_ken.ofproto import ofproto_v1_3_parser as parser

from orchestrator.controller.apps.l2 import IDLE_TIMEOUT, L2Switch
from orchestrator.controller.fabric import FabricSwitch, load

from .controller_fakes import FakeDatapath, fabric_of, frame, packet_in, port, sent_to

A, B, C, D = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c", "02:00:00:00:00:0d"
BCAST = "ff:ff:ff:ff:ff:ff"
PORTS = ("s1-eth1", "s1-eth2", "s1-eth3", "s1-eth4", "s1-eth5")


def vlan_switch(vlans: bool = True) -> FabricSwitch:
    """Two PCs in VLAN 10, one in VLAN 20, a trunk carrying both, an untagged port."""
    return FabricSwitch("s1", 1, vlans, (
        port("s1-eth1", "pc1", vlan_id=10), port("s1-eth2", "pc2", vlan_id=10),
        port("s1-eth3", "pc3", vlan_id=20), port("s1-eth4", "s2", trunk=(10, 20), role="switch"),
        port("s1-eth5", "mgmt")))


def up(vlans: bool = True) -> tuple[L2Switch, FakeDatapath]:
    app = L2Switch(fabric=fabric_of(vlan_switch(vlans)))
    datapath = FakeDatapath(1, list(PORTS))
    app.datapath_up(datapath)
    return app, datapath


def test_ready_datapath_gets_the_table_miss_flow_to_the_controller():
    _app, datapath = up()
    [miss] = datapath.take(parser.OFPFlowMod)
    assert miss.priority == 0 and len(miss.match.to_jsondict()["OFPMatch"]["oxm_fields"]) == 0
    [action] = miss.instructions[0].actions
    assert action.port == datapath.ofproto.OFPP_CONTROLLER
    assert action.max_len == datapath.ofproto.OFPCML_NO_BUFFER


def test_broadcast_from_an_access_port_floods_its_vlan_only_tagged_on_the_trunk():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    assert sent_to(datapath) == [("s1-eth2", None), ("s1-eth4", 10)]


def test_tagged_frame_from_the_trunk_reaches_its_vlan_untagged():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth4", frame(A, BCAST, vid=20)))
    assert sent_to(datapath, tagged=20) == [("s1-eth3", None)]


def test_trunk_drops_a_vlan_it_does_not_carry_and_untagged_frames():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth4", frame(A, BCAST, vid=30)))
    app._packet_in(packet_in(datapath, "s1-eth4", frame(A, BCAST)))
    assert sent_to(datapath) == []


def test_untagged_port_is_a_domain_of_its_own():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth5", frame(A, BCAST)))
    assert sent_to(datapath) == []       # no other untagged port on this switch
    app._packet_in(packet_in(datapath, "s1-eth1", frame(B, BCAST)))
    assert ("s1-eth5", None) not in sent_to(datapath)


def test_known_destination_gets_a_flow_with_idle_timeout_and_only_its_port():
    app, datapath = up()
    datapath.take(parser.OFPFlowMod)
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    sent_to(datapath)
    app._packet_in(packet_in(datapath, "s1-eth2", frame(B, A)))
    assert sent_to(datapath) == [("s1-eth1", None)]
    [flow] = datapath.take(parser.OFPFlowMod)
    fields = dict(flow.match.items())
    assert fields["in_port"] == datapath.number("s1-eth2")
    assert (fields["eth_src"], fields["eth_dst"]) == (B, A)
    assert fields["vlan_vid"] == datapath.ofproto.OFPVID_NONE
    assert flow.idle_timeout == IDLE_TIMEOUT and flow.priority > 0


def test_learning_is_per_vlan():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    sent_to(datapath)
    # A is known in VLAN 10; a frame to A in VLAN 20 is flooded in VLAN 20, never to eth1.
    app._packet_in(packet_in(datapath, "s1-eth3", frame(C, A)))
    assert sent_to(datapath) == [("s1-eth4", 20)]


def test_trunk_to_access_flow_pops_the_tag():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth3", frame(C, BCAST)))
    sent_to(datapath)
    datapath.take(parser.OFPFlowMod)
    app._packet_in(packet_in(datapath, "s1-eth4", frame(D, C, vid=20)))
    assert sent_to(datapath, tagged=20) == [("s1-eth3", None)]
    [flow] = datapath.take(parser.OFPFlowMod)
    assert dict(flow.match.items())["vlan_vid"] == datapath.ofproto.OFPVID_PRESENT | 20


def test_flat_switch_is_one_domain_whatever_the_tags():
    app, datapath = up(vlans=False)
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    assert sent_to(datapath) == [(p, None) for p in PORTS[1:]]


def test_a_mac_that_moves_has_its_flows_deleted():
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    datapath.take(parser.OFPFlowMod)
    app._packet_in(packet_in(datapath, "s1-eth2", frame(A, BCAST)))
    [delete] = datapath.take(parser.OFPFlowMod)
    assert delete.command == datapath.ofproto.OFPFC_DELETE
    assert dict(delete.match.items()) == {"eth_dst": A}


def test_frame_from_a_port_outside_the_model_is_dropped():
    app = L2Switch(fabric=fabric_of(vlan_switch()))
    datapath = FakeDatapath(1, [*PORTS, "s1-eth9"])
    app.datapath_up(datapath)
    app._packet_in(packet_in(datapath, "s1-eth9", frame(A, BCAST)))
    assert sent_to(datapath) == []


def test_a_wrong_expectation_fails_readably():
    """The helper's answer is what an assertion compares: a frame flooded in
    VLAN 10 is not where VLAN 20's port is."""
    app, datapath = up()
    app._packet_in(packet_in(datapath, "s1-eth1", frame(A, BCAST)))
    with pytest.raises(AssertionError, match="s1-eth3"):
        assert sent_to(datapath) == [("s1-eth3", None)]


def test_malformed_fabric_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "fabric.json"
    path.write_text('{"switches": []}')
    with pytest.raises(ValueError, match="fabric.json: not a flowlab fabric file"):
        load(path)
