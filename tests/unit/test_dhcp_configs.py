"""DHCP configs rendered from the model: both backends from the same data,
accepted by the daemons' own dry runs, and hook scripts that parse."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrator.model import TopologyOptions, registry
from services import plan
from services.dhcp_client import Dhclient, Udhcpc
from services.dhcp_server import DnsmasqDhcp, IscDhcpd, server_data


def launches_of(name: str, tmp_path: Path, **options) -> dict:
    topo = registry.load(name, TopologyOptions(**options))
    return {d.label: d for d in plan.daemons(topo, tmp_path)}


def write_files(launch) -> None:
    for path, content in launch.files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content)


def test_both_backends_render_the_same_plan(tmp_path):
    dnsmasq = launches_of("enterprise", tmp_path, dhcp_server="dnsmasq")["dnsmasq-dhcp@srv"]
    isc = launches_of("enterprise", tmp_path, dhcp_server="isc")["dhcpd@srv"]
    assert isinstance(dnsmasq, DnsmasqDhcp) and isinstance(isc, IscDhcpd)
    assert server_data(dnsmasq.ctx) == server_data(isc.ctx)
    data = server_data(dnsmasq.ctx)
    assert {(r["name"], r["mac"], r["ip"]) for r in data["reservations"]} == {
        ("xiaoming", "02:00:0a:01:01:02", "10.1.1.2"),
        ("xiaomei", "02:00:0a:01:01:03", "10.1.1.3"),
        ("xiaoli", "02:00:0a:01:02:02", "10.1.2.2")}
    pools = {(s["network"], s["start"], s["end"], s["router"], tuple(s["dns"]))
             for s in data["subnets"]}
    assert pools == {("10.1.1.0", "10.1.1.100", "10.1.1.199", "10.1.1.1", ("10.10.10.10",)),
                     ("10.1.2.0", "10.1.2.100", "10.1.2.199", "10.1.2.1", ("10.10.10.10",))}
    assert [s["network"] for s in data["local_subnets"]] == ["10.10.10.0"]


@pytest.mark.parametrize("topology,label", [("enterprise", "dnsmasq-dhcp@srv"),
                                            ("home", "dnsmasq-dhcp@homegw")])
def test_dnsmasq_accepts_its_config(topology, label, tmp_path):
    launch = launches_of(topology, tmp_path, dhcp_server="dnsmasq")[label].launch()
    write_files(launch)
    result = subprocess.run(launch.check, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    conf = next(iter(launch.files.values()))
    assert "dhcp-host=02:00:0a:01:01:02,10.1.1.2,xiaoming" in conf or topology == "home"
    assert "port=0" in conf and "/var/lib" not in conf


@pytest.mark.parametrize("topology,label", [("enterprise", "dhcpd@srv"), ("home", "dhcpd@homegw")])
def test_dhcpd_accepts_its_config(topology, label, tmp_path):
    launch = launches_of(topology, tmp_path, dhcp_server="isc")[label].launch()
    write_files(launch)
    result = subprocess.run(launch.check, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/var/lib/dhcp" not in " ".join(launch.argv)


def test_a_broken_config_is_refused_by_the_dry_run(tmp_path):
    launch = launches_of("enterprise", tmp_path, dhcp_server="isc")["dhcpd@srv"].launch()
    write_files(launch)
    conf = next(p for p in launch.files if p.endswith("dhcpd.conf"))
    Path(conf).write_text(Path(conf).read_text().replace("range", "rnage", 1))
    assert subprocess.run(launch.check, capture_output=True).returncode != 0


def test_relays_forward_from_their_vlan_to_the_server(tmp_path):
    daemons = launches_of("enterprise", tmp_path)
    assert daemons["dhcrelay@gw1"].launch().argv[-5:] == ["-id", "gw1-eth0", "-iu", "gw1-eth1",
                                                           "10.10.10.10"]


@pytest.mark.parametrize("client", ["dhclient", "udhcpc"])
def test_client_hooks_are_valid_shell(client, tmp_path):
    topo = registry.load("enterprise")
    for iface in topo.interfaces("xiaoming"):
        iface.dhcp = dataclasses.replace(iface.dhcp, client=client)
    daemon = next(d for d in plan.daemons(topo, tmp_path) if d.name == client)
    assert isinstance(daemon, Dhclient if client == "dhclient" else Udhcpc)
    launch = daemon.launch()
    write_files(launch)
    for hook in launch.executables:
        result = subprocess.run([shutil.which("sh"), "-n", hook], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    # A PC with a local cache hands DHCP's DNS servers to the cache, not to glibc.
    assert daemon.resolv_target.endswith("dns-cache/upstream-resolv.conf")


def test_clients_keep_their_files_in_the_run_directory(tmp_path):
    daemon = next(d for d in plan.daemons(registry.load("enterprise"), tmp_path)
                  if d.name == "dhclient")
    launch = daemon.launch()
    paths = [a for a in launch.argv if a.startswith("/")]
    assert paths and all(p.startswith(str(tmp_path)) for p in paths)
