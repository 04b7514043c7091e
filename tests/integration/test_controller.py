"""The optional OpenFlow controller in real labs: os-ken with flowlab's apps
or a user's Ryu app, the switches in secure fail mode, OpenFlow 1.3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

ROOT = Path(__file__).resolve().parents[2]


def flowlab(*args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_verify_enterprise_under_the_l2_app_passes_every_check(tmp_path, untouched_machine):
    result = flowlab("verify", "enterprise", "--controller", "os-ken", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checks = json.loads((tmp_path / "results.json").read_text())["checks"]
    assert checks and all(c["passed"] for c in checks), [c["name"] for c in checks
                                                        if not c["passed"]]
    assert "starting the os-ken controller (l2)" in result.stderr


@pytest.mark.parametrize("backend", ["dnsmasq", "isc"])
def test_dhcp_guard_fixes_the_flat_race_with_both_backends(backend, tmp_path, untouched_machine):
    result = flowlab("race", "enterprise", "--no-vlan", "--controller", "os-ken",
                     "--controller-app", "dhcp-guard", "--dhcp-server", backend, "--trials", "3",
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    race = json.loads((tmp_path / "race.json").read_text())
    assert (race["vlans"], race["guard"], race["backend"]) == (False, "dhcp-guard", backend)
    assert len(race["trials"]) == 3
    for trial in race["trials"]:
        assert [o["giaddr"] for o in trial["offers"]] == ["10.1.1.1"], trial
        assert trial["subnet"] == "10.1.1.0/24"
