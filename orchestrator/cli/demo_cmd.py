"""``demo``: the main job of ``make demo``: bring a lab up, show it working, tear it down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..lab import Lab, LabSettings
from ..model import registry
from . import output
from .common import (
    add_controller_arguments,
    add_format_argument,
    add_topology_arguments,
    controller_settings,
    require_root,
    topology_options,
)
from .holding import hold

NAME = "demo"
HELP = "bring a topology up, show it working, tear it down"
DESCRIPTION = ("A guided tour of a topology: bring it up with all its daemons, print its "
               "summary, then show the PCs' DHCP leases, traffic in a subnet, across the "
               "routers and through the edge NAT, a name resolved through the DNS chain, the "
               "web page fetched, and (with VLANs) the isolation of the VLANs; tear down. "
               "Exit status 0 when everything shown worked.")

INTERRUPTED = 1
"""The exit status of a tour cut short by Ctrl-C or SIGTERM: it did not
show everything working."""


@dataclass
class Step:
    """One thing the tour shows: what it is, and how to see it in the lab."""

    title: str
    shows: str
    run: Callable[[Lab], tuple[str, bool]]


def lease_of(node: str, expected: str | None = None) -> Step:
    def run(lab: Lab) -> tuple[str, bool]:
        lease = next((v for (n, _i), v in lab.services.leases().items() if n == node), None)
        if lease is None:
            return "no lease", False
        text = (f"{lease.ip} mask {lease.mask} router {' '.join(lease.routers)} "
                f"dns {' '.join(lease.dns)} from {lease.server or ''}")
        return text, expected is None or lease.ip == expected
    return Step(f"{node} DHCP lease", "DORA through its gateway's relay" if expected
                else "DHCP from the router", run)


def ping(source: str, target: str, shows: str) -> Step:
    def run(lab: Lab) -> tuple[str, bool]:
        ok = lab.run_in(source, ["ping", "-c1", "-W2", target]).returncode == 0
        return ("reached" if ok else "no answer"), ok
    return Step(f"{source} -> {target}", shows, run)


def resolve(node: str, name: str, expected: str) -> Step:
    def run(lab: Lab) -> tuple[str, bool]:
        out = lab.run_in(node, ["getent", "ahostsv4", name]).stdout.split()
        address = out[0] if out else "no answer"
        return address, address == expected
    return Step(f"{node} resolves {name}", "hosts file, local cache, resolver, root -> com. -> "
                "baidu.com.", run)


def fetch(node: str, url: str) -> Step:
    def run(lab: Lab) -> tuple[str, bool]:
        result = lab.run_in(node, ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w",
                                   "%{http_code} %{size_download} bytes from %{remote_ip}", url])
        return (result.stdout or result.stderr).strip(), result.stdout.startswith("200 ")
    return Step(f"{node} fetches {url}", "HTTP through the edge NAT", run)


def vlan_isolation() -> Step:
    def run(lab: Lab) -> tuple[str, bool]:
        probe = lab.run_in("xiaoming", ["arping", "-c1", "-w1", "-I", "xiaoming-eth0",
                                        "10.1.2.1"])
        return ("no reply: isolated" if probe.returncode else "gw2 answered"), \
            probe.returncode != 0
    return Step("xiaoming ARPs for gw2 (10.1.2.1)", "VLAN 10 and VLAN 20 are apart at layer 2",
                run)


def tour(lab: Lab) -> list[Step]:
    name, vlans = lab.topo.name, lab.topo.options.vlans
    if name == "enterprise":
        steps = [lease_of("xiaoming", "10.1.1.2" if vlans else None),
                 lease_of("xiaomei", "10.1.1.3" if vlans else None),
                 lease_of("xiaoli", "10.1.2.2" if vlans else None)]
        if vlans:
            steps += [ping("xiaoming", "10.1.1.3", "same subnet: ARP, then ICMP"),
                      ping("xiaoming", "10.1.2.2", "across gw1 and gw2")]
        steps += [ping("xiaoming", "61.135.169.125", "through the edge NAT"),
                  resolve("xiaoming", "www.baidu.com", "61.135.169.125"),
                  fetch("xiaoming", "http://www.baidu.com/")]
        return steps + ([vlan_isolation()] if vlans else [])
    if name == "home":
        return [lease_of("pc"), ping("pc", "192.168.1.100", "off-link for a /25: via the router"),
                resolve("pc", "www.baidu.com", "61.135.169.125"),
                fetch("pc", "http://www.baidu.com/")]
    if name == "arp-lan":
        return [ping("A", "192.168.1.2", "ARP request, reply, then ICMP")]
    return []


def configure(parser):
    add_topology_arguments(parser)
    add_controller_arguments(parser)
    add_format_argument(parser, "the summary and the tour")


def run(args) -> int:
    topo = registry.load(args.topology, topology_options(args))
    controller = controller_settings(args, topo)
    require_root(NAME)
    return hold(topo, args.topology, LabSettings(controller=controller),
                lambda lab: show(args, lab), stopped=INTERRUPTED)


def show(args, lab: Lab) -> int:
    """Take the tour of the lab that is up; 0 when every step worked."""
    rows, ok = [], True
    summary = lab.summary()
    if args.format == "table":
        output.lab_summary(lab.topo.name, lab.run.run_id, summary)
    for step in tour(lab):
        result, passed = step.run(lab)
        ok &= passed
        rows.append([step.title, step.shows, result, "ok" if passed else "FAIL"])
    died = lab.controller_failure()
    if died:
        ok = False
        rows.append(["the OpenFlow controller", "forwarding under secure fail mode",
                     died.splitlines()[0], "FAIL"])
    if args.format == "json":
        output.print_json({"topology": lab.topo.name, "run": lab.run.run_id,
                           "interfaces": summary, "passed": ok,
                           "steps": [dict(zip(("step", "shows", "result", "verdict"), row))
                                     for row in rows]})
    else:
        output.table("what the lab shows", ["step", "what it shows", "result", "verdict"],
                     rows)
    output.note(f"logs, configs and leases: {lab.run.path}")
    return 0 if ok else 1
