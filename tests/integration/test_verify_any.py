"""``verify`` on networks a user wrote (tests/topologies/, not shipped labs).

Every check derived from the model passes on the router chain, the campus
(two switches joined by a trunk, one relay for both VLANs, NAT out) and the
two relays on one LAN (with VLANs); the chain's own check beside it
(``chain_checks.py``, the README's example) runs in the same table.  Broken
networks are verdicts: a relay deaf on one VLAN still comes up, and the
``dhcp`` check alone fails, naming the step where those clients' exchange
stopped (their ARP probes still prove layer 2; reach names them as not
taking part);
NAT switched off in the running campus fails ``nat``, naming the inside
address seen outside; the checks that do not depend on either still pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.checks import all_checks
from orchestrator.checks.derived.dhcp import Dhcp
from orchestrator.checks.derived.l2scope import L2Scope
from orchestrator.checks.derived.nat import Nat
from orchestrator.checks.runner import run_check
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.results import verify as results
from orchestrator.results.verify import CheckRecord, VerifyRun
from tests.topologies import campus

from .reportpage import visit
from .test_cli_lifecycle import flowlab

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]

TOPOLOGIES = Path(__file__).resolve().parent.parent / "topologies"
DERIVED = {"dhcp", "reach", "l2-scope", "nat", "dns", "http"}


def verify(name: str, out: Path, *args: str) -> tuple[int, VerifyRun, str]:
    result = flowlab("verify", str(TOPOLOGIES / name), "--out", str(out), *args, timeout=600)
    return result.returncode, results.read(out), result.stdout + result.stderr


def by_name(report: VerifyRun) -> dict[str, CheckRecord]:
    return {c.name: c for c in report.checks}


@pytest.mark.parametrize("name,expected", [
    ("chain.py", {"reach", "l2-scope", "pc1-reaches-pc3"}),
    ("campus.py", {"dhcp", "reach", "l2-scope", "nat"}),
    ("tworelays.py", {"dhcp", "reach", "l2-scope"}),
])
def test_every_derived_check_passes_on_a_users_network(name, expected, tmp_path,
                                                       untouched_machine):
    code, report, said = verify(name, tmp_path)
    checks = by_name(report)
    failed = {n: c.failures for n, c in checks.items() if not c.passed}
    assert code == 0 and not failed, f"{failed}\n{said[-3000:]}"
    assert set(checks) == expected
    topo = registry.load(str(TOPOLOGIES / name))
    assert {c.name for c in all_checks() if c.applies_to(topo)} == expected & DERIVED
    for check in checks.values():
        assert check.evidence and any(p.endswith("merged.pcap") for p in check.pcaps)
    assert report.unbound == ()


def test_a_relay_deaf_on_one_vlan_is_a_verdict_of_the_dhcp_check(tmp_path, untouched_machine):
    code, report, said = verify("campus_deaf_relay.py", tmp_path)
    checks = by_name(report)
    assert [n for n, c in checks.items() if not c.passed] == ["dhcp"], said[-5000:]
    assert code == 1, said[-3000:]
    assert [u.split(" ")[0] for u in report.unbound] == ["b1:b1-eth0", "b2:b2-eth0"]
    assert "when the lab came up, b1:b1-eth0 got no lease" in said
    failure = "\n".join(checks["dhcp"].failures)
    assert "2 of 4 DHCP interface(s) failed" in failure
    for pc in ("b1", "b2"):
        assert (f"{pc} (") in failure
    assert ("the DHCP exchange stopped at step 3 of 10: no DISCOVER relayed by core from "
            "10.20.0.1 with giaddr 10.20.20.1 on core-eth2; it got as far as: DISCOVER heard "
            "by core on core-eth1") in failure
    assert "a1 (" not in failure and "a2 (" not in failure
    # The other checks prove what does not depend on those leases, and say
    # who could not take part.
    assert "not taking part, holding no address: b1, b2" in checks["reach"].evidence
    assert set(checks) == {"dhcp", "l2-scope", "reach", "nat"}
    # The report draws the packet that never came, dashed, on the dhcp check.
    page = visit(tmp_path / "report.html", tmp_path / "report.png")
    dhcp = next(c for c in page.value if c["name"] == "dhcp")
    assert dhcp["failed"] and dhcp["ladders"][-1]["missing"] == 1, dhcp
    assert dhcp["ladders"][-1]["dashed"][0] not in ("", "none"), dhcp
    assert all(not c["failed"] and not any(l["missing"] for l in c["ladders"])
               for c in page.value if c["name"] != "dhcp")


def test_nat_switched_off_in_the_running_lab_fails_the_nat_check(tmp_path,
                                                                 untouched_machine):
    with Lab(campus.build(), settings=LabSettings()) as lab:
        assert run_check(lab, Nat(), tmp_path / "before").passed
        flushed = lab.run_in("core", ["iptables", "-t", "nat", "-F", "POSTROUTING"])
        assert flushed.returncode == 0, flushed.stderr
        lab.run_in("core", ["conntrack", "-F"])
        nat = run_check(lab, Nat(), tmp_path / "after")
        assert not nat.passed
        failure = "\n".join(nat.failures)
        assert "not translated to 198.18.0.1" in failure, failure
        assert run_check(lab, L2Scope(), tmp_path / "after").passed
        assert run_check(lab, Dhcp(), tmp_path / "after").passed
