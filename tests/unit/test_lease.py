"""The lease record: what each client's hook writes, read once into a Lease.

The hooks run here for real (``sh``), with stand-ins for ``ip`` and
``arping`` on the PATH so that nothing touches this machine's interfaces;
the environment each client gives its hook is the one its manual documents.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from orchestrator.model import registry
from services import plan
from services.lease import Lease, LeaseError

DHCLIENT_ENV = {"interface": "pc-eth0", "new_ip_address": "10.1.1.2",
                "new_subnet_mask": "255.255.255.0", "new_routers": "10.1.1.1",
                "new_domain_name_servers": "10.10.10.10 10.10.10.11",
                "new_dhcp_lease_time": "3600", "new_dhcp_server_identifier": "10.10.10.10"}
UDHCPC_ENV = {"interface": "pc-eth0", "ip": "10.1.1.2", "mask": "24", "router": "10.1.1.1",
              "dns": "10.10.10.10 10.10.10.11", "lease": "3600", "serverid": "10.10.10.10"}


def hook_of(client: str, tmp_path: Path) -> tuple[Path, Path]:
    topo = registry.load("enterprise")
    for iface in topo.interfaces("xiaoming"):
        iface.dhcp = dataclasses.replace(iface.dhcp, client=client)
    daemon = next(d for d in plan.daemons(topo, tmp_path) if d.name == client)
    launch = daemon.launch()
    for path, content in launch.files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)
    return Path(launch.executables[0]), Path(daemon.lease_record)


def run_hook(hook: Path, tmp_path: Path, args: list[str], env: dict) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    for name in ("ip", "arping"):
        (stubs / name).write_text("#!/bin/sh\nexit 0\n")
        (stubs / name).chmod(0o755)
    subprocess.run(["sh", str(hook), *args], check=True, capture_output=True,
                   env={**env, "PATH": f"{stubs}:{os.environ['PATH']}"})


@pytest.mark.parametrize("reason,event", [("BOUND", "bound"), ("REBOOT", "reboot"),
                                          ("RENEW", "renew"), ("REBIND", "rebind")])
def test_dhclient_events_are_recorded_in_the_one_vocabulary(reason, event, tmp_path):
    hook, record = hook_of("dhclient", tmp_path)
    run_hook(hook, tmp_path, [], {**DHCLIENT_ENV, "reason": reason})
    lease = Lease.read(record)
    assert lease == Lease(client="dhclient", event=event, iface="pc-eth0",
                          address="10.1.1.2/24", routers=("10.1.1.1",),
                          dns=("10.10.10.10", "10.10.10.11"),
                          lease_time=3600, server="10.10.10.10", time=lease.time)
    assert lease.time > 0


@pytest.mark.parametrize("arg,event", [("bound", "bound"), ("renew", "renew")])
def test_udhcpc_events_are_recorded_in_the_one_vocabulary(arg, event, tmp_path):
    hook, record = hook_of("udhcpc", tmp_path)
    run_hook(hook, tmp_path, [arg], UDHCPC_ENV)
    lease = Lease.read(record)
    assert (lease.client, lease.event, lease.ip, lease.mask, lease.router, lease.lease_time) == (
        "udhcpc", event, "10.1.1.2", "255.255.255.0", "10.1.1.1", 3600)


@pytest.mark.parametrize("client,args,env", [
    ("dhclient", [], {**DHCLIENT_ENV, "reason": "EXPIRE"}),
    ("udhcpc", ["deconfig"], UDHCPC_ENV)])
def test_losing_the_lease_removes_the_record(client, args, env, tmp_path):
    hook, record = hook_of(client, tmp_path)
    record.write_text("stale")
    run_hook(hook, tmp_path, args, env)
    assert Lease.read(record) is None


def record(**changes) -> str:
    raw = {"client": "udhcpc", "event": "bound", "interface": "pc-eth0", "address": "10.1.1.2",
           "mask": "255.255.255.128", "routers": "", "dns": "", "lease_time": "60",
           "server": "", "time": 1.5}
    raw.update(changes)
    return json.dumps({k: v for k, v in raw.items() if v is not None})


def test_a_lease_without_router_dns_or_server_reads_as_empty():
    lease = Lease.parse(record())
    assert lease.address == "10.1.1.2/25" and lease.mask == "255.255.255.128"
    assert lease.routers == () and lease.router is None and lease.dns == () and lease.server is None


@pytest.mark.parametrize("text,says", [
    ("", "not JSON"),
    ("[1, 2]", "not an object"),
    (record(event="RENEW"), "'event' is 'RENEW'"),
    (record(client="dhcpcd"), "'client' is 'dhcpcd'"),
    (record(address="10.1.1.300"), "'address'"),
    (record(mask="255.0.255.0"), "'address'"),
    (record(routers="10.1.1.1 gateway"), "'routers'"),
    (record(lease_time=""), "'lease_time'"),
    (record(lease_time="-5"), "'lease_time'"),
    (record(time=None), "no 'time'"),
    (record(interface=["pc-eth0"]), "'interface' is not a value"),
])
def test_garbage_is_refused_naming_the_field(text, says):
    with pytest.raises(LeaseError, match=says.replace("(", r"\(")):
        Lease.parse(text)


def test_a_missing_record_is_no_lease_and_a_broken_one_names_its_file(tmp_path):
    assert Lease.read(tmp_path / "lease.json") is None
    (tmp_path / "lease.json").write_text("{")
    with pytest.raises(LeaseError, match="lease.json"):
        Lease.read(tmp_path / "lease.json")


# -- one convention for addresses: text, as written and as the packets give them -----------

def test_lease_addresses_compare_equal_to_the_address_written_as_text():
    lease = Lease.parse(record(routers="172.16.10.1 172.16.10.2", dns="10.10.10.10",
                               server="10.10.10.10"))
    assert lease.router == "172.16.10.1" and lease.routers == ("172.16.10.1", "172.16.10.2")
    assert (lease.ip, lease.address, lease.dns, lease.server) == (
        "10.1.1.2", "10.1.1.2/25", ("10.10.10.10",), "10.10.10.10")
    assert {lease.router} == {"172.16.10.1"} and {lease.ip: "pc"}["10.1.1.2"] == "pc"
    assert f"{lease.ip} via {lease.router}" == "10.1.1.2 via 172.16.10.1"


def test_a_lease_offers_its_address_typed_for_code_that_computes():
    lease = Lease.parse(record())
    assert lease.ip_interface == IPv4Interface("10.1.1.2/25")
    assert lease.ip_interface.ip in IPv4Network("10.1.1.0/25")
    assert lease.ip_interface.network == IPv4Network("10.1.1.0/25")


def test_addresses_given_typed_are_kept_as_text():
    typed = Lease("dhclient", "bound", "pc-eth0", IPv4Interface("10.1.1.2/24"),
                  (IPv4Address("10.1.1.1"),), (IPv4Address("10.10.10.10"),), 60,
                  IPv4Address("10.10.10.10"), 0.0)
    assert typed == Lease("dhclient", "bound", "pc-eth0", "10.1.1.2/24", ("10.1.1.1",),
                          ("10.10.10.10",), 60, "10.10.10.10", 0.0)
    assert typed.router == "10.1.1.1" and type(typed.router) is str
    with pytest.raises(ValueError):
        Lease("dhclient", "bound", "pc-eth0", "10.1.1.2/24", ("gateway",), (), 60, None, 0.0)


def test_a_lease_and_the_ack_that_granted_it_answer_alike(tmp_path):
    """What the client's record says and what the packets say compare with ``==``."""
    from orchestrator.packets import synth
    ack = next(p for p in synth.load(synth.dora_relay(), tmp_path, "dora")["xiaoming-eth0"]
               if p.dhcp and p.dhcp.type == "ACK").dhcp
    lease = Lease.parse(json.dumps({
        "client": "dhclient", "event": "bound", "interface": "xiaoming-eth0",
        "address": ack.yiaddr, "mask": ack.subnet_mask, "routers": " ".join(ack.router),
        "dns": " ".join(ack.dns_servers), "lease_time": ack.lease_time,
        "server": ack.server_id, "time": 1.0}))
    assert (lease.ip, lease.mask, lease.server) == (ack.yiaddr, ack.subnet_mask, ack.server_id)
    assert lease.router == ack.router[0] == "10.1.1.1" and ack.yiaddr == "10.1.1.2"
    assert list(lease.routers) == ack.router and list(lease.dns) == ack.dns_servers


def test_the_demo_shows_a_lease_and_compares_it_with_the_address_as_text():
    from types import SimpleNamespace

    from orchestrator.cli.demo_cmd import lease_of
    lease = Lease.parse(record(routers="10.1.1.1", dns="10.10.10.10 10.10.10.11",
                               server="10.10.10.10"))
    lab = SimpleNamespace(services=SimpleNamespace(leases=lambda: {("pc", "pc-eth0"): lease}))
    assert lease_of("pc", "10.1.1.2").run(lab) == (
        "10.1.1.2 mask 255.255.255.128 router 10.1.1.1 dns 10.10.10.10 10.10.10.11 "
        "from 10.10.10.10", True)
    assert lease_of("pc", "10.1.1.3").run(lab)[1] is False
