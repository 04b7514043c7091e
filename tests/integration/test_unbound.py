"""A broken network is a verdict, not a crash: DHCP clients that get no lease.

``tests/topologies/lostrelay.py``: gw2 relays lan2's DISCOVERs to an
address nobody has, so pc2 (dhclient) and pc3 (udhcpc) stay unbound while
pc1, through gw1, binds.  With ``unbound_ok`` the lab comes up and names
them; without it the bring-up fails naming the client, and leaves nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import LabError
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry

from .conftest import assert_unchanged, leftovers, machine_snapshot
from .test_cli_lifecycle import flowlab, start_up, wait_for

pytestmark = pytest.mark.root

TOPOLOGY = str(Path(__file__).resolve().parent.parent / "topologies" / "lostrelay.py")


@pytest.fixture(scope="class")
def lab():
    """Down again before the tests below build the same topology."""
    before = machine_snapshot()
    with Lab(registry.load(TOPOLOGY), settings=LabSettings(unbound_ok=True)) as running:
        yield running
    assert_unchanged(before)


class TestWithUnboundOk:
    def test_the_lab_comes_up_naming_the_clients_without_a_lease(self, lab):
        assert [(u.node, u.iface) for u in lab.unbound] == [("pc2", "pc2-eth0"),
                                                              ("pc3", "pc3-eth0")]
        pc2, pc3 = lab.unbound
        assert "dhclient@pc2:pc2-eth0 held no lease after 30 s" in pc2.reason
        assert "udhcpc@pc3:pc3-eth0 held no lease after 30 s" in pc3.reason
        # The end of each client's own log says what it was doing: asking, unanswered.
        assert "DHCPDISCOVER on pc2-eth0" in pc2.reason
        assert "broadcasting discover" in pc3.reason

    def test_the_served_client_is_bound_and_the_others_keep_trying(self, lab):
        assert set(lab.leases()) == {("pc1", "pc1-eth0")}
        assert lab.leases()[("pc1", "pc1-eth0")].router == "10.30.1.1"
        for node in ("pc1", "pc2", "pc3"):
            assert lab.services.is_running(lab.services.find("dhcp-client", node))

    def test_the_summary_marks_them_unbound(self, lab):
        rows = {(r["node"], r["interface"]): r for r in lab.summary()}
        assert rows[("pc2", "pc2-eth0")]["lease"] == "UNBOUND: no lease"
        assert rows[("pc3", "pc3-eth0")]["lease"] == "UNBOUND: no lease"
        assert rows[("pc1", "pc1-eth0")]["lease"].startswith("DHCP ")


def test_without_unbound_ok_the_bring_up_fails_naming_the_client(untouched_machine):
    lab = Lab(registry.load(TOPOLOGY))
    with pytest.raises(LabError) as failure:
        lab.start()
    message = str(failure.value)
    assert message.startswith("pc2:pc2-eth0 got no lease: dhclient@pc2:pc2-eth0 held no lease "
                              "after 30 s")
    assert "unbound_ok" in message and "--allow-unbound" in message
    assert leftovers() == {}


def test_up_allow_unbound_lists_them_and_down_tears_down(untouched_machine):
    up = start_up(TOPOLOGY, "--no-cli", "--allow-unbound")
    said = wait_for(up, "is up;", timeout=90)
    assert "2 DHCP client(s) UNBOUND" in said
    assert "pc2:pc2-eth0 got no lease" in said and "pc3:pc3-eth0 got no lease" in said
    down = flowlab("down")
    assert down.returncode == 0, down.stderr
    assert up.wait(30) == 0
    rows = [line for line in up.stdout.read().splitlines() if "UNBOUND" in line]
    assert len(rows) == 2
