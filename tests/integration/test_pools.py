"""Pool exhaustion as a verdict, in real labs (dnsmasq, then ISC dhcpd).

``smallpool``: a pool of 4 for 6 clients comes up (verify keeps unbound
clients) with each unbound client's account naming the pool, its size, how
many asked, and the server's lease database holding all of it; then the
starvation check empties both of its pools from a host of each LAN and the
reservation beside the second is still ACKed.  ``largepool``: 1,100
addresses outlast the 1,000 made-up MACs, and the check fails saying how
many were leased.  Two bring-ups in all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .test_cli_lifecycle import flowlab

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]

TOPOLOGIES = Path(__file__).resolve().parent.parent / "topologies"
SMALL_POOL = ("the pool of 10.77.0.0/28 on srv (10.77.0.8-10.77.0.11, 4 addresses) is "
              "exhausted: 6 DHCP clients asked for it, srv's lease database holds all 4")


def verify_starvation(name: str, out: Path) -> tuple[int, dict, str]:
    result = flowlab("verify", str(TOPOLOGIES / name), "--check", "starvation", "--out",
                     str(out), timeout=240)
    report = json.loads((out / "results.json").read_text())
    return result.returncode, report, result.stdout + result.stderr


def test_an_exhausted_pool_is_named_and_starvation_empties_small_pools(tmp_path,
                                                                       untouched_machine):
    code, report, said = verify_starvation("smallpool.py", tmp_path)
    (check,) = report["checks"]
    assert code == 0 and check["passed"], f"{check['failures']}\n{said[-3000:]}"
    unbound = report["unbound"]
    assert len(unbound) == 2, unbound
    for line in unbound:
        assert re.fullmatch(rf"h[1-6]:h[1-6]-eth0 got no lease: {re.escape(SMALL_POOL)}", line)
    assert f"when the lab came up, {unbound[0]}" in said
    evidence = check["evidence"]
    assert "from h1 " in evidence and "from mallory " in evidence
    assert "the pool of 10.77.1.0/28 on srv2 (10.77.1.8-10.77.1.11, 4 addresses) exhausted: " \
           "1000 made-up MACs sent DISCOVERs" in evidence
    assert "(4 taken by the attack); after it res ACKed 10.77.1.4" in evidence
    assert "(0 taken by the attack); no reservation beside the pool to renew" in evidence


def test_a_pool_larger_than_the_attack_fails_starvation(tmp_path, untouched_machine):
    code, report, said = verify_starvation("largepool.py", tmp_path)
    (check,) = report["checks"]
    assert code == 1 and not check["passed"], said[-3000:]
    assert report["unbound"] == []
    failure = check["failures"][0]
    found = re.search(r"the pool of 10.77.0.0/21 on srv \(10.77.1.0-10.77.5.75, 1100 "
                      r"addresses\) was not exhausted: (\d+) of 1100 addresses leased", failure)
    assert found, failure
    assert 1000 <= int(found.group(1)) < 1100, failure
