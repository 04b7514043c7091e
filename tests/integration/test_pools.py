"""Pool exhaustion as a verdict, in real labs (dnsmasq, then ISC dhcpd).

``smallpool``: a pool of 4 for 6 clients comes up as ``up --allow-unbound``
brings it (``unbound_ok``), each unbound client's account naming the pool,
its size, how many asked and the server's lease database holding all of it;
the failure ``up`` without the flag raises names the holders and the two
clients that got nothing; then the starvation check empties both of its
pools from a host of each LAN and the reservation beside the second is
still ACKed.  ``largepool`` (``verify --check starvation``): 1,100
addresses outlast the 1,000 made-up MACs, and the check fails saying how
many were leased.  Two bring-ups in all.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.checks import by_name
from orchestrator.checks.runner import run_check
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import pools, registry
from orchestrator.results import verify as results

from .test_cli_lifecycle import flowlab

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]

TOPOLOGIES = Path(__file__).resolve().parent.parent / "topologies"
SMALL_POOL = ("the pool of 10.77.0.0/28 on srv (10.77.0.8-10.77.0.11, 4 addresses) is "
              "exhausted: 6 DHCP clients asked for it, srv's lease database holds all 4")


def verify_starvation(name: str, out: Path) -> tuple[int, results.VerifyRun, str]:
    result = flowlab("verify", str(TOPOLOGIES / name), "--check", "starvation", "--out",
                     str(out), timeout=240)
    return result.returncode, results.read(out), result.stdout + result.stderr


def test_an_exhausted_pool_is_named_and_starvation_empties_small_pools(tmp_path,
                                                                       untouched_machine):
    topo = registry.load(str(TOPOLOGIES / "smallpool.py"))
    with Lab(topo, settings=LabSettings(unbound_ok=True)) as lab:      # up --allow-unbound
        starved = {(u.node, u.iface) for u in lab.unbound}
        for record in lab.unbound:
            assert record.describe().startswith(
                f"{record.node}:{record.iface} got no lease: {SMALL_POOL}\n"), record
        failed_up = pools.failure(lab, lab.unbound[0])                # up without it
        bound = sorted(node for node, _iface in lab.leases() if node.startswith("h"))
        _backend, database = pools.lease_database(lab, "srv")
        result = run_check(lab, by_name()["starvation"], tmp_path)
    assert len(starved) == 2 and len(bound) == 4
    said = re.fullmatch(rf"{re.escape(SMALL_POOL)} \((.*); {re.escape(str(database))}\); got "
                        r"nothing: (.*)", failed_up)
    assert said, failed_up
    assert sorted(said.group(1).split(", ")) == bound       # holders, in address order
    assert said.group(2) == ", ".join(f"{n}:{i}" for n, i in sorted(starved))
    assert result.passed, result.failures
    assert "from h1 " in result.evidence and "from mallory " in result.evidence
    assert "the pool of 10.77.1.0/28 on srv2 (10.77.1.8-10.77.1.11, 4 addresses) exhausted: " \
           "1000 made-up MACs sent DISCOVERs" in result.evidence
    assert "(4 taken by the attack); after it res ACKed 10.77.1.4" in result.evidence
    assert "(0 taken by the attack); no reservation beside the pool to renew" in result.evidence


def test_a_pool_larger_than_the_attack_fails_starvation(tmp_path, untouched_machine):
    code, report, said = verify_starvation("largepool.py", tmp_path)
    (check,) = report.checks
    assert code == 1 and not check.passed, said[-3000:]
    assert report.unbound == ()
    failure = check.failures[0]
    found = re.search(r"the pool of 10.77.0.0/21 on srv \(10.77.1.0-10.77.5.75, 1100 "
                      r"addresses\) was not exhausted: (\d+) of 1100 addresses leased", failure)
    assert found, failure
    assert 1000 <= int(found.group(1)) < 1100, failure
