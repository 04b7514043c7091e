"""The catalogue of faults, seeded variants, model transformations, grading
and the control socket, without a lab (models, rendered configs, a fake
lab that records commands)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from orchestrator.exercises import catalogue, control, faults_net
from orchestrator.exercises.faults import FaultError, Variant, seeded_index
from orchestrator.exercises.session import (
    BREAKS,
    KEEPS,
    Decider,
    Exercise,
    Session,
    from_fault,
    grade,
)
from orchestrator.model import TopologyOptions, registry
from orchestrator.results import grade as grades
from orchestrator.results.verify import CheckRecord
from services import plan

TOPOLOGIES = ["enterprise", "home", "arp-lan", "tests/topologies/chain.py",
              "tests/topologies/campus.py", "tests/topologies/tworelays.py"]


def load(spec: str, vlans: bool = True):
    return registry.load(spec, TopologyOptions(vlans=vlans))


def applicable(spec: str) -> set[str]:
    return {f.name for f in catalogue.applicable(load(spec))}


# -- the catalogue -------------------------------------------------------------------------

def test_catalogue_has_at_least_eight_named_faults():
    faults = catalogue.all_faults()
    names = [f.name for f in faults]
    assert len(faults) >= 8
    assert len(set(names)) == len(names)
    assert all(f.title and f.kind in ("model", "live") and f.why for f in faults)
    assert {f.kind for f in faults} == {"model", "live"}


def test_enterprise_takes_every_fault_but_the_multi_interface_relay():
    assert applicable("enterprise") == {f.name for f in catalogue.all_faults()} - {
        "relay-deaf-interface"}


@pytest.mark.parametrize("spec, expected", [
    ("arp-lan", {"duplicate-address"}),
    ("tests/topologies/chain.py", {"route-missing", "route-wrong-via", "duplicate-address"}),
    ("tests/topologies/campus.py", {"relay-stopped", "relay-wrong-server",
                                    "relay-deaf-interface", "dhcp-wrong-router",
                                    "port-wrong-vlan", "route-missing", "route-wrong-via",
                                    "nat-off", "duplicate-address"}),
    ("tests/topologies/tworelays.py", {"relay-stopped", "relay-wrong-server",
                                       "dhcp-wrong-router", "port-wrong-vlan", "route-missing",
                                       "route-wrong-via"}),
])
def test_faults_apply_where_the_model_has_what_they_break(spec, expected):
    assert applicable(spec) == expected


def test_a_fault_that_does_not_apply_says_why_and_refuses_to_start():
    topo = load("arp-lan")
    nat = catalogue.by_name("nat-off")
    assert not nat.applies_to(topo)
    assert "nat=True" in nat.why_not(topo)
    with pytest.raises(FaultError, match="nat-off does not apply to arp-lan"):
        from_fault("nat-off", topo, "arp-lan", "s1")


def test_an_unknown_fault_is_refused_naming_the_catalogue():
    with pytest.raises(FaultError, match="unknown fault 'relay-broken'.*relay-stopped"):
        catalogue.by_name("relay-broken")


def test_flat_access_switch_has_no_port_to_move_to_another_vlan():
    assert not catalogue.by_name("port-wrong-vlan").applies_to(load("enterprise", vlans=False))


def test_faults_never_name_a_lab_node():
    """Derived from the model: no cast of a shipped lab in the catalogue's code."""
    package = Path(catalogue.__file__).parent
    sources = [*package.glob("faults*.py"), package / "where.py", package / "actions.py",
               package / "catalogue.py"]
    assert len(sources) >= 7
    for source in sources:
        text = source.read_text()
        for name in ("xiaoming", "xiaoli", "gw1", "gw2", "'srv'", '"srv"', "edge", "baidu",
                     "'enterprise'", "10.1.1."):
            assert name not in text, f"{source.name} names {name}"


@pytest.mark.parametrize("spec", TOPOLOGIES)
def test_every_variant_breaks_an_applicable_check_and_names_no_fault_in_its_symptom(spec):
    from orchestrator.checks import all_checks
    topo = load(spec)
    checks = {c.name for c in all_checks() if c.applies_to(topo)}
    for fault in catalogue.applicable(topo):
        for variant in fault.placements(topo):
            assert variant.breaks and set(variant.breaks) <= checks
            assert set(variant.keeps) <= checks - set(variant.breaks)
            assert fault.name not in variant.symptom
            for word in ("relay", "route", "VLAN", "NAT", "firewall", "duplicate", "resolver"):
                assert word.lower() not in variant.symptom.lower(), variant.symptom


def test_route_variants_are_the_routes_a_pair_of_hosts_needs():
    topo = load("tests/topologies/chain.py")
    missing = catalogue.by_name("route-missing").placements(topo)
    keys = {v.key for v in missing}
    assert "route-missing:r1:10.9.1.0/24:10.9.255.2" in keys
    assert "route-missing:r2:default:10.9.255.1" in keys
    r1 = next(v for v in missing if v.target["node"] == "r1")
    assert r1.symptom == "pc1 cannot reach pc3 (10.9.1.13)"
    assert r1.breaks == ("reach",) and r1.keeps == ("l2-scope",)


def test_a_route_nobody_needs_is_no_variant():
    topo = load("tests/topologies/chain.py")
    topo.node("pc1").route("192.0.2.0/24", via="10.9.0.1")    # nothing lives there
    keys = {v.key for v in catalogue.by_name("route-missing").placements(topo)}
    assert not any("192.0.2.0/24" in k for k in keys)
    assert faults_net.broken_pairs(topo, topo) == []


# -- seeded variants -----------------------------------------------------------------------

def test_the_same_student_gets_the_same_variant():
    topo = load("enterprise")
    fault = catalogue.by_name("route-missing")
    assert fault.choose(topo, "alice") == fault.choose(load("enterprise"), "alice")


def test_students_get_different_variants_where_the_fault_allows():
    topo = load("enterprise")
    fault = catalogue.by_name("route-missing")
    chosen = {fault.choose(topo, f"student{i:02d}").key for i in range(20)}
    assert len(chosen) >= 5
    assert fault.choose(topo, "alice") != fault.choose(topo, "bob")


def test_a_fault_with_one_variant_gives_it_to_everyone():
    topo = load("enterprise")
    nat = catalogue.by_name("nat-off")
    assert {nat.choose(topo, s).key for s in ("a", "b", "c")} == {"nat-off:edge:edge-eth1"}


def test_seeded_index_is_stable_across_processes():
    code = ("from orchestrator.exercises.faults import seeded_index;"
            "print(seeded_index('route-missing\\0enterprise\\0alice', 11))")
    runs = {subprocess.run([".venv/bin/python", "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).parents[2]).stdout for _ in range(2)}
    assert runs == {f"{seeded_index('route-missing' + chr(0) + 'enterprise' + chr(0) + 'alice', 11)}\n"}
    with pytest.raises(ValueError):
        seeded_index("x", 0)


def test_a_variant_named_by_its_key_and_refused_when_unknown():
    topo = load("enterprise")
    fault = catalogue.by_name("nat-off")
    assert fault.variant(topo, "nat-off:edge:edge-eth1").target["router"] == "edge"
    with pytest.raises(FaultError, match="no variant 'nat-off:isp:x'"):
        fault.variant(topo, "nat-off:isp:x")


def test_variant_round_trips_through_json():
    variant = catalogue.by_name("relay-stopped").placements(load("enterprise"))[0]
    assert Variant.from_dict(json.loads(json.dumps(variant.as_dict()))) == variant


# -- model transformations ------------------------------------------------------------------

def launches_of(topo, tmp_path, kind_name: str, node: str):
    from orchestrator.processes.services_api import kind_of
    daemon = next(d for d in plan.daemons(topo, tmp_path)
                  if kind_of(d) == kind_name and d.ctx.host.name == node)
    return daemon.launch()


def test_wrong_router_renders_the_servers_config_and_keeps_the_design(tmp_path):
    topo = load("enterprise")
    fault = catalogue.by_name("dhcp-wrong-router")
    variant = fault.variant(topo, "dhcp-wrong-router:srv:10.1.2.0/24:10.1.2.254")
    change = fault.changed(topo, variant)
    broken = launches_of(change.topo, tmp_path / "b", "dhcp-server", "srv")
    right = launches_of(topo, tmp_path / "r", "dhcp-server", "srv")
    broken_conf = next(iter(broken.files.values()))
    right_conf = next(iter(right.files.values()))
    assert "option:router,10.1.2.254" in broken_conf
    assert "option:router,10.1.2.1" not in broken_conf
    assert "option:router,10.1.2.1" in right_conf
    # The design the checks judge by is untouched, in the copy too.
    assert str(topo.vlan_by_id(20).subnet.gateway) == "10.1.2.1"
    assert str(change.topo.vlan_by_id(20).subnet.gateway) == "10.1.2.1"
    assert [s.kind for s in change.swaps] == ["dhcp-server"]
    assert change.clients == [("xiaoli", "xiaoli-eth0")] and change.wait_clients


def test_relay_to_a_wrong_server_changes_only_the_relays_command(tmp_path):
    topo = load("enterprise")
    fault = catalogue.by_name("relay-wrong-server")
    variant = next(v for v in fault.placements(topo) if v.target["router"] == "gw2")
    change = fault.changed(topo, variant)
    broken = launches_of(change.topo, tmp_path, "dhcp-relay", "gw2")
    assert broken.argv[-1] == variant.target["server"] != "10.10.10.10"
    assert launches_of(topo, tmp_path, "dhcp-relay", "gw2").argv[-1] == "10.10.10.10"
    assert launches_of(change.topo, tmp_path, "dhcp-relay", "gw1").argv[-1] == "10.10.10.10"
    assert not change.wait_clients


def test_deaf_relay_drops_one_interface(tmp_path):
    topo = load("tests/topologies/campus.py")
    fault = catalogue.by_name("relay-deaf-interface")
    variant = fault.variant(topo, "relay-deaf-interface:core:core-eth1")
    change = fault.changed(topo, variant)
    argv = launches_of(change.topo, tmp_path, "dhcp-relay", "core").argv
    assert "core-eth0" in argv and "core-eth1" not in argv
    assert sorted(n for n, _ in change.clients) == ["b1", "b2"]
    assert variant.symptom == "b1 and b2 get no IPv4 address"


def test_dead_upstream_renders_the_resolvers_forwarder(tmp_path):
    topo = load("enterprise")
    fault = catalogue.by_name("resolver-dead-upstream")
    srv = next(v for v in fault.placements(topo) if v.target["resolver"] == "srv")
    conf = next(iter(launches_of(fault.changed(topo, srv).topo, tmp_path, "dns-resolver",
                                 "srv").files.values()))
    assert f'forwarders = ["{srv.target["upstream"]}"]' in conf
    assert srv.symptom == "xiaoming cannot resolve www.baidu.com"
    pub = next(v for v in fault.placements(topo) if v.target["resolver"] == "pubdns")
    conf = next(iter(launches_of(fault.changed(topo, pub).topo, tmp_path, "dns-resolver",
                                 "pubdns").files.values()))
    assert pub.target["upstream"] in conf and "198.41.0.4" not in conf
    assert pub.symptom == "xiaoming cannot resolve www.baidu.com"   # the end user, not srv


# -- live faults on a fake lab --------------------------------------------------------------

class FakeLab:
    """Records the commands a fault runs in nodes; answers 0 unless told."""

    def __init__(self, topo, refuse: dict[tuple, int] | None = None):
        self.topo = topo
        self.ran: list[tuple[str, tuple]] = []
        self.refuse = refuse or {}

    def run_in(self, node, argv, **_kwargs):
        self.ran.append((node, tuple(argv)))
        code = self.refuse.get(tuple(argv), 0)
        return subprocess.CompletedProcess(argv, code, "", "refused" if code else "")


def test_route_missing_deletes_and_solve_puts_it_back():
    topo = load("tests/topologies/chain.py")
    fault = catalogue.by_name("route-missing")
    variant = fault.variant(topo, "route-missing:r1:10.9.1.0/24:10.9.255.2")
    lab = FakeLab(topo)
    fault.apply(lab, variant)
    fault.solve(lab, variant)
    assert lab.ran == [("r1", ("ip", "route", "del", "10.9.1.0/24", "via", "10.9.255.2")),
                       ("r1", ("ip", "route", "replace", "10.9.1.0/24", "via", "10.9.255.2"))]


def test_a_command_a_node_refuses_fails_the_fault_naming_it():
    from orchestrator.errors import LabError
    topo = load("tests/topologies/chain.py")
    fault = catalogue.by_name("route-missing")
    variant = fault.variant(topo, "route-missing:r1:10.9.1.0/24:10.9.255.2")
    lab = FakeLab(topo, {("ip", "route", "del", "10.9.1.0/24", "via", "10.9.255.2"): 2})
    with pytest.raises(LabError, match="r1: ip route del 10.9.1.0/24 .* failed \\(2\\): refused"):
        fault.apply(lab, variant)


def test_nat_off_removes_the_masquerade_and_solve_adds_it_once():
    topo = load("enterprise")
    fault = catalogue.by_name("nat-off")
    variant = fault.choose(topo, None)
    lab = FakeLab(topo, {("iptables", "-w", "-t", "nat", "-C", "POSTROUTING", "-o", "edge-eth1",
                          "-j", "MASQUERADE"): 1})
    fault.apply(lab, variant)
    fault.solve(lab, variant)
    actions = [argv[4] for node, argv in lab.ran if argv[0] == "iptables"]
    assert actions == ["-D", "-C", "-A"]
    assert all(node == "edge" for node, _ in lab.ran)
    assert ("edge", ("conntrack", "-F")) in lab.ran


def test_duplicate_address_is_a_host_route_on_the_holder():
    topo = load("tests/topologies/chain.py")
    fault = catalogue.by_name("duplicate-address")
    variant = next(v for v in fault.placements(topo) if v.target["holder"] == "pc1")
    lab = FakeLab(topo)
    fault.apply(lab, variant)
    assert lab.ran == [("pc1", ("ip", "addr", "add", "10.9.0.12/32", "dev", "pc1-eth0"))]
    assert variant.symptom == "pc1 cannot reach pc2 (10.9.0.12)"


# -- grading --------------------------------------------------------------------------------

def exercise_of(*deciders: Decider) -> Exercise:
    variant = Variant("route-missing", {"node": "r1"}, "r1 lacks a route", "pc1 cannot reach pc3",
                      ("reach",), ("l2-scope",))
    return Exercise("route-missing", "chain", [variant], variant.symptom, list(deciders), "s1")


def test_grade_names_the_missing_packet_and_the_hint():
    exercise = exercise_of(Decider("reach", 3, BREAKS, "look at r1's routes"),
                           Decider("l2-scope", 1, KEEPS))
    failed = CheckRecord("reach", False, failures=[
        "1 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13 left pc1 on pc1:pc1-eth0, "
        "reached r1 on r1:r1-eth0, not forwarded: r1 has no route to 10.9.1.0/24\n"
        "pairs that failed:\n  echo 10.9.0.11 > 10.9.1.13 ..."])
    passed = CheckRecord("l2-scope", True, evidence="4 broadcasts heard by their domain only")
    graded = grade(exercise, [failed, passed], 3.2)
    assert graded.points == 1 and graded.max_points == 4 and not graded.solved
    reach = graded.checks[0]
    assert reach.reason.startswith("1 of 12 pairs did not reach: echo 10.9.0.11 > 10.9.1.13")
    assert "r1 has no route to 10.9.1.0/24" in reach.reason
    assert reach.packets[0] == "pairs that failed:"
    assert reach.hint == "look at r1's routes"
    assert graded.checks[1].hint == "" and graded.checks[1].passed
    assert grades.from_dict(json.loads(json.dumps(grades.to_dict(graded)))) == graded


def test_a_counted_failure_is_graded_by_the_first_one_it_counts():
    exercise = exercise_of(Decider("dhcp", 2))
    failed = CheckRecord("dhcp", False, failures=[
        "2 of 3 DHCP interface(s) failed\nnot bound: xiaoming:xiaoming-eth0\n"
        "xiaoming (xiaoming-eth0, 02:00:0a:01:01:02): the DHCP exchange stopped at step 3 of "
        "10: no DISCOVER relayed by gw1\n  12.0 DHCP DISCOVER xid 0x1"])
    reason = grade(exercise, [failed], 1.0).checks[0].reason
    assert reason == ("2 of 3 DHCP interface(s) failed: xiaoming (xiaoming-eth0, "
                      "02:00:0a:01:01:02): the DHCP exchange stopped at step 3 of 10: no "
                      "DISCOVER relayed by gw1")


def test_grade_of_a_repaired_lab_is_full_marks():
    exercise = exercise_of(Decider("reach", 2), Decider("l2-scope", 1, KEEPS))
    graded = grade(exercise, [CheckRecord("reach", True), CheckRecord("l2-scope", True)], 1.0)
    assert graded.solved and graded.points == graded.max_points == 3


def test_exercise_of_a_fault_decides_by_what_it_breaks_then_what_it_keeps():
    exercise = from_fault("dhcp-wrong-router", load("enterprise"), "enterprise", "alice")
    assert [(d.check, d.role) for d in exercise.deciders] == [
        ("dhcp", BREAKS), ("reach", BREAKS), ("l2-scope", KEEPS)]
    assert Exercise.from_dict(json.loads(json.dumps(exercise.as_dict()))) == exercise


def test_answer_is_graded_against_the_applied_fault(tmp_path):
    topo = load("tests/topologies/chain.py")
    exercise = from_fault("route-missing", topo, "chain", "s1")
    session = Session(FakeLab(topo), exercise, tmp_path)
    assert session.answer("Route-Missing")["correct"]
    assert not session.answer("duplicate-address")["correct"]
    with pytest.raises(FaultError, match="'the cable' is none of the faults"):
        session.answer("the cable")
    kept = json.loads((tmp_path / "answers.json").read_text())
    assert [a["points"] for a in kept] == [1, 0]


# -- the control socket ---------------------------------------------------------------------

def test_control_socket_streams_progress_then_the_result(tmp_path):
    def handle(request, progress):
        progress("working")
        if request["op"] == "boom":
            raise FaultError("no such thing")
        if request["op"] == "bug":
            raise KeyError("oops")
        return {"echo": request["op"]}

    server = control.Server(tmp_path / "c.sock", handle).start()
    try:
        said = []
        assert control.request(tmp_path / "c.sock", {"op": "check"}, said.append) == {
            "echo": "check"}
        assert said == ["working"]
        with pytest.raises(control.ControlError, match="no such thing") as refused:
            control.request(tmp_path / "c.sock", {"op": "boom"}, said.append)
        assert refused.value.exit_status == 2
        with pytest.raises(control.ControlError, match="KeyError: 'oops'"):
            control.request(tmp_path / "c.sock", {"op": "bug"}, said.append)
    finally:
        server.close()
    assert not (tmp_path / "c.sock").exists()
    with pytest.raises(control.ControlError, match="does not answer"):
        control.request(tmp_path / "c.sock", {"op": "check"}, said.append)


def test_control_socket_serves_one_request_at_a_time(tmp_path):
    running, overlaps = [], []
    gate = threading.Event()

    def handle(request, progress):
        if running:
            overlaps.append(request)
        running.append(request)
        gate.wait(0.2)
        running.pop()
        return {}

    server = control.Server(tmp_path / "c.sock", handle).start()
    try:
        threads = [threading.Thread(target=control.request,
                                    args=(tmp_path / "c.sock", {"op": str(i)}, print))
                   for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.close()
    assert overlaps == []


def test_the_holder_answers_status_and_answer_and_refuses_an_unknown_request(tmp_path):
    from orchestrator.exercises.holder import serve
    topo = load("tests/topologies/chain.py")
    session = Session(FakeLab(topo), from_fault("route-missing", topo, "chain", "bob"),
                      tmp_path / "exercise")
    server = serve(session)
    sock = tmp_path / "exercise" / control.SOCKET
    try:
        status = control.request(sock, {"op": "status"}, print)
        assert status["student"] == "bob" and status["symptom"] == session.exercise.symptom
        assert control.request(sock, {"op": "answer", "text": "route-missing"}, print)["correct"]
        with pytest.raises(control.ControlError, match="unknown request 'fly'") as refused:
            control.request(sock, {"op": "fly"}, print)
        assert refused.value.exit_status == 2
    finally:
        server.close()
    saved = json.loads((tmp_path / "exercise" / control.STATE).read_text())
    assert saved["variants"][0]["fault"] == "route-missing" and saved["student"] == "bob"
