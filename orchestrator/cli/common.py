"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
import os

from services.dhcp_server import BACKENDS

from ..controller.launcher import KINDS, ControllerSettings, choose
from ..errors import FlowlabError, NoLabRunning
from ..model import Topology, TopologyOptions
from ..runs.rundir import RunDir, RunState, live_runs


class NotRoot(FlowlabError):
    exit_status = 1


def require_root(command: str) -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"'{command}' builds network namespaces and OVS bridges: run it as root "
                      "(sudo .venv/bin/python -m orchestrator ...)")


def add_topology_arguments(parser: argparse.ArgumentParser, vlan_default: bool = True,
                           topology_default: str | None = None,
                           topology_help: str | None = None) -> None:
    """TOPO, ``--vlan/--no-vlan`` and ``--dhcp-server``: the same flags, with
    the same meaning, on every command that builds or reads a topology.
    A command whose natural build is flat (the race) passes
    ``vlan_default=False``; one with a default topology passes it."""
    parser.add_argument("topology", metavar="TOPO",
                        nargs="?" if topology_default else None, default=topology_default,
                        help=topology_help or "a registered topology name (see 'list') or a "
                                              "path to a .py file")
    parser.add_argument("--vlan", action=argparse.BooleanOptionalAction, default=vlan_default,
                        help="--vlan: access ports in their VLANs; --no-vlan: flat access "
                             "switches, every access port in one broadcast domain (the DHCP "
                             "relay race set-up); default "
                             + ("--vlan" if vlan_default else "--no-vlan"))
    parser.add_argument("--dhcp-server", choices=tuple(BACKENDS),
                        help="DHCP server backend (default: the topology's choice)")
    parser.add_argument("--guests", type=_positive, metavar="N",
                        help="DHCP hosts, for a topology that takes them (scale: default 100)")


def add_controller_arguments(parser: argparse.ArgumentParser) -> None:
    """``--controller`` and ``--controller-app``: an OpenFlow controller
    instead of OVS's normal mode, the same flags on every command that
    brings a lab up."""
    parser.add_argument("--controller", choices=KINDS, default=None,
                        help="none: every switch in OVS normal mode; os-ken: the switches in "
                             "secure fail mode, OpenFlow 1.3, driven by os-ken (Ryu's API) with "
                             "the apps of --controller-app (default: the topology's choice, "
                             "declared with topo.controller(...), else none)")
    parser.add_argument("--controller-app", action="append", metavar="NAME|FILE", default=[],
                        help="an app for the controller (repeatable; default l2): l2 (VLAN-aware "
                             "learning switch), dhcp-guard (l2 with DHCP snooping), or a .py "
                             "file with a Ryu or os-ken app")


def controller_settings(args: argparse.Namespace, topo: Topology | None = None
                        ) -> ControllerSettings | None:
    """The controller the user asked for, else the one the topology
    declares, refused before any work when it cannot be used (exit 2)."""
    kind, apps = args.controller, args.controller_app
    declared = topo.controller_request if topo is not None else None
    if declared is not None and kind in (None, declared.kind):
        kind, apps = declared.kind, apps or list(declared.apps)
    return choose(kind, apps)


def add_format_argument(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """``--format table|json``: the same flag, with the same two values, on
    every command that prints a table or a list."""
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help=f"{what} as a table for people (default) or as JSON")


def topology_options(args: argparse.Namespace) -> TopologyOptions:
    return TopologyOptions(vlans=args.vlan, dhcp_server=args.dhcp_server,
                           guests=getattr(args, "guests", None))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: at least 1")
    return value


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", metavar="ID",
                        help="the run to act on, when several labs are up (see 'down --list')")


def find_live_run(run_id: str | None) -> tuple[RunDir, RunState]:
    """The lab that is up: the one named, or the only one."""
    runs = live_runs()
    if run_id:
        runs = [(r, s) for r, s in runs if s.run_id == run_id or s.topology == run_id]
    if not runs:
        raise NoLabRunning("no lab is up" + (f" matching '{run_id}'" if run_id else "")
                           + ": start one with 'up TOPO'")
    if len(runs) > 1:
        ids = ", ".join(s.run_id for _r, s in runs)
        raise NoLabRunning(f"several labs are up ({ids}): choose one with --run ID")
    return runs[0]
