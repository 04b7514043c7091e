"""The derived dns and http checks fail on the fault they are about, and only
on it, in a running lab whose model still declares the service.

On enterprise: both pass; the ordinary web server stopped fails ``http``
naming the missing handshake while ``dns`` still passes; DNS dropped at the
edge fails ``dns`` naming the answer that never came while ``http`` (whose
name is pinned to the server's address) still passes.
"""

from __future__ import annotations

import pytest

from orchestrator.checks.derived.dns import Dns
from orchestrator.checks.derived.http import Http
from orchestrator.checks.runner import run_check
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry

pytestmark = [pytest.mark.root, pytest.mark.timeout(300)]


def failure(result) -> str:
    assert not result.passed, result.evidence
    return "\n".join(result.failures)


def test_dns_and_http_fail_on_their_own_faults(tmp_path, untouched_machine):
    with Lab(registry.load("enterprise"), settings=LabSettings()) as lab:
        pcaps = tmp_path / "pcaps"
        assert run_check(lab, Http(), pcaps / "ok").passed
        assert run_check(lab, Dns(), pcaps / "ok").passed

        web = next(i for i in lab.services.all("http", "web") if i.daemon.mode == "normal")
        lab.services.stop(web)
        said = failure(run_check(lab, Http(), pcaps / "no-web"))
        assert "xiaoming → 61.135.169.125:80: no handshake (first segments ['S', 'RA'])" \
            in said, said
        assert "object at 0x" not in said
        assert run_check(lab, Dns(), pcaps / "no-web").passed
        lab.services.start(web)

        dropped = lab.run_in("edge", ["iptables", "-I", "FORWARD", "-p", "udp", "--dport", "53",
                                      "-j", "DROP"])
        assert dropped.returncode == 0, dropped.stderr
        said = failure(run_check(lab, Dns(), pcaps / "no-dns"))
        assert "expected at least 1 packet matching" in said and "NOERROR" in said, said
        assert run_check(lab, Http(), pcaps / "no-dns").passed
