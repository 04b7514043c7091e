"""Pool accounting from the model, the servers' lease databases, and the
messages that name an exhausted pool and the clients that got nothing."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from orchestrator.model import Topology, pools, registry
from orchestrator.model.pools import Demand, Pool, judge_exhaustion
from orchestrator.model.validation import problems, warnings
from orchestrator.processes.services_api import Unbound
from services.dhcp_server import DnsmasqDhcp
from services.lease import LeaseError, ServerLease, server_leases
from tests.topologies import smallpool

SMALL = "tests/topologies/smallpool.py"
POOL = Pool("srv", IPv4Network("10.77.0.0/28"), IPv4Address("10.77.0.8"),
            IPv4Address("10.77.0.11"))
CLIENTS = tuple((f"h{n}", f"h{n}-eth0") for n in range(1, 7))
SMALL_HEADLINE = ("the pool of 10.77.0.0/28 on srv (10.77.0.8-10.77.0.11, 4 addresses) is "
                  "exhausted: 6 DHCP clients asked for it, srv's lease database holds all 4")
MACS = {key: f"02:00:00:00:00:0{n}" for n, key in enumerate(CLIENTS, 1)}


def held(*pairs: tuple[str, str]) -> list[ServerLease]:
    return [ServerLease(IPv4Address(address), mac) for address, mac in pairs]


def test_each_pool_counts_its_clients_and_not_the_reservations():
    full, spare = pools.demands(registry.load(SMALL))
    assert full.pool == POOL and full.pool.size == 4
    assert full.clients == CLIENTS and full.oversubscribed
    assert str(spare.pool.network) == "10.77.1.0/28"
    assert spare.clients == () and not spare.oversubscribed    # res holds a reservation


def test_a_pool_that_fits_its_clients_is_not_oversubscribed():
    topo = Topology("fits", "a pool of 4 for 4 clients")
    smallpool.add_lan(topo, "lan", "srv", "10.77.0.0/28", "10.77.0.1/28",
                      ("10.77.0.8", "10.77.0.11"), ["h1", "h2", "h3", "h4"], "dnsmasq")
    assert [len(d.clients) for d in pools.demands(topo)] == [4]
    assert pools.oversubscribed(topo) == []
    assert warnings(topo) == []


def test_shipped_labs_have_pools_that_fit():
    for name in ("enterprise", "home"):
        assert pools.oversubscribed(registry.load(name)) == [], name


def test_validate_warns_of_a_pool_smaller_than_its_clients_but_does_not_refuse_it():
    topo = registry.load(SMALL)
    assert problems(topo) == []
    (warning,) = warnings(topo)
    assert warning.node == "srv"
    assert str(warning).endswith(
        "the pool of 10.77.0.0/28 on srv (10.77.0.8-10.77.0.11, 4 addresses) is smaller than "
        "its 6 DHCP clients: 2 of them will get no address (a starved network; 'up "
        "--allow-unbound' keeps such a lab up)")


def test_dnsmasq_leases_are_read_one_a_line():
    text = ("1764339000 02:00:00:00:00:01 10.77.0.8 h1 01:02:00:00:00:00:01\n"
            "1764339001 02:AA:00:00:00:02 10.77.0.9 * *\n"
            "duid 00:01:00:01:2c:00:00:00:02:00:00:00:00:01\n")
    assert server_leases("dnsmasq", text) == [
        ServerLease(IPv4Address("10.77.0.8"), "02:00:00:00:00:01", "h1"),
        ServerLease(IPv4Address("10.77.0.9"), "02:aa:00:00:00:02", "")]


def test_dhcpd_leases_keep_the_last_block_of_an_address_and_only_active_ones():
    text = """# The format of this file is documented in the dhcpd.leases(5) manual page.
lease 10.77.0.8 {
  starts 6 2026/11/28 13:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 02:00:00:00:00:01;
  client-hostname "h1";
}
lease 10.77.0.9 {
  binding state active;
  hardware ethernet 02:00:00:00:00:02;
}
lease 10.77.0.9 {
  binding state free;
  hardware ethernet 02:00:00:00:00:02;
}
"""
    assert server_leases("isc", text) == [
        ServerLease(IPv4Address("10.77.0.8"), "02:00:00:00:00:01", "h1")]


@pytest.mark.parametrize("backend,text,says", [
    ("dnsmasq", "1764339000 02:00:00:00:00:01\n", "line 1 has 2 fields"),
    ("dnsmasq", "1764339000 02:00:00:00:00:01 10.77.0.300 * *\n", "line 1"),
    ("isc", "lease 10.77.0.x {\n  binding state active;\n}\n", "dhcpd.leases"),
    ("kea", "", "no reader for the lease database of 'kea'"),
])
def test_a_lease_database_that_cannot_be_read_says_where(backend, text, says):
    with pytest.raises(LeaseError, match=says):
        server_leases(backend, text)


def test_a_full_pool_is_named_with_its_size_demand_holders_and_the_starved():
    leases = held(("10.77.0.8", MACS[CLIENTS[0]]), ("10.77.0.9", MACS[CLIENTS[1]]),
                  ("10.77.0.10", MACS[CLIENTS[3]]), ("10.77.0.11", "02:5a:00:00:00:01"),
                  ("10.77.0.4", "02:00:0a:4d:00:04"))                # a reservation
    verdict = judge_exhaustion(Demand(POOL, CLIENTS), leases, MACS, bound=CLIENTS[:2],
                               database="/run/srv/leases")
    assert verdict.starved == (("h3", "h3-eth0"), ("h5", "h5-eth0"), ("h6", "h6-eth0"))
    assert verdict.describe() == (
        "the pool of 10.77.0.0/28 on srv (10.77.0.8-10.77.0.11, 4 addresses) is exhausted: "
        "6 DHCP clients asked for it, srv's lease database holds all 4 (h1, h2, h4, "
        "02:5a:00:00:00:01; /run/srv/leases); got nothing: h3:h3-eth0, h5:h5-eth0, h6:h6-eth0")


def test_a_pool_with_a_free_address_is_not_called_exhausted():
    leases = held(("10.77.0.8", MACS[CLIENTS[0]]), ("10.77.0.9", MACS[CLIENTS[1]]),
                  ("10.77.0.10", MACS[CLIENTS[2]]))
    assert judge_exhaustion(Demand(POOL, CLIENTS), leases, MACS, (), "leases") is None


def test_the_same_address_twice_does_not_fill_a_pool():
    leases = held(*[("10.77.0.8", mac) for mac in MACS.values()])
    assert judge_exhaustion(Demand(POOL, CLIENTS), leases, MACS, (), "leases") is None


def test_a_long_list_of_holders_is_cut_short():
    big = Pool("srv", IPv4Network("10.77.0.0/24"), IPv4Address("10.77.0.10"),
               IPv4Address("10.77.0.29"))
    leases = held(*[(f"10.77.0.{10 + n}", f"02:5a:00:00:00:{n:02x}") for n in range(20)])
    verdict = judge_exhaustion(Demand(big, CLIENTS), leases, MACS, (), "leases")
    assert "02:5a:00:00:00:07 and 12 more;" in verdict.describe()


# -- what a running lab says: a stand-in lab with a real lease file -----------------------------

class FakeDnsmasq(DnsmasqDhcp):
    """A dnsmasq whose lease database is a file the test wrote."""

    def __init__(self, database: Path):
        self.database = database

    @property
    def lease_database(self) -> str:
        return str(self.database)


class FakeServices:
    def __init__(self, database: Path):
        self.daemon = FakeDnsmasq(database)

    def find(self, kind, node, iface=None):
        assert (kind, node) == ("dhcp-server", "srv")
        return type("Instance", (), {"daemon": self.daemon})()


class FakeLab:
    """The few things pools reads from a lab: its topology, its clients'
    own leases and MACs, and the server's lease database."""

    def __init__(self, database: Path, bound: list):
        self.topo = registry.load(SMALL)
        self.services = FakeServices(database)
        self._bound = bound

    def leases(self):
        return {key: object() for key in self._bound}

    def mac(self, node, iface):
        return MACS[(node, iface)]


def lease_file(tmp_path: Path, holders: list[int]) -> Path:
    path = tmp_path / "leases"
    path.write_text("".join(f"1764339000 {MACS[CLIENTS[n - 1]]} 10.77.0.{7 + i} h{n} *\n"
                            for i, n in enumerate(holders, 1)))
    return path


def test_up_fails_naming_the_pool_and_every_client_that_got_nothing(tmp_path):
    lab = FakeLab(lease_file(tmp_path, [1, 2, 3, 4]), bound=CLIENTS[:4])
    late = Unbound("h5", "h5-eth0", "dhclient@h5:h5-eth0 held no lease after 30 s")
    assert pools.failure(lab, late) == (
        f"{SMALL_HEADLINE} (h1, h2, h3, h4; {tmp_path / 'leases'}); got nothing: h5:h5-eth0, "
        "h6:h6-eth0")
    (explained,) = pools.explain_unbound(lab, [late])
    assert explained.describe() == (f"h5:h5-eth0 got no lease: {SMALL_HEADLINE}\n"
                                    "dhclient@h5:h5-eth0 held no lease after 30 s")


def test_a_client_unbound_while_its_pool_has_room_keeps_its_own_account(tmp_path):
    lab = FakeLab(lease_file(tmp_path, [1, 2, 3]), bound=CLIENTS[:3])
    late = Unbound("h5", "h5-eth0", "dhclient@h5:h5-eth0 held no lease after 30 s")
    assert pools.failure(lab, late) == late.describe()
    assert pools.explain_unbound(lab, [late]) == [late]


def test_an_unreadable_lease_database_is_said_beside_the_clients_account(tmp_path):
    broken = tmp_path / "leases"
    broken.write_text("garbage\n")
    lab = FakeLab(broken, bound=[])
    late = Unbound("h5", "h5-eth0", "no lease")
    assert pools.failure(lab, late).startswith(
        "h5:h5-eth0 got no lease: no lease (the DHCP servers' lease databases could not be "
        "read: dnsmasq lease line 1 has 1 fields")
