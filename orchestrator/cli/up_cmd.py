"""``up``: bring a lab up and keep it up until the user is done."""

from __future__ import annotations

from dataclasses import asdict

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
from .holding import hold, until_done

NAME = "up"
HELP = "bring a topology up (Mininet CLI, or --no-cli to wait for a signal)"
DESCRIPTION = ("Build the emulated network of TOPO and bring it up. By default opens "
               "Mininet's CLI; leaving it tears the lab down. With --no-cli, prints a "
               "summary of nodes, interfaces, VLANs and addresses and waits until SIGINT "
               "(Ctrl-C) or SIGTERM (for example from 'down'), then tears down and exits 0. "
               "While the lab is up, 'exec NODE -- CMD' runs commands in its nodes. "
               "A DHCP client without a lease by its deadline fails the bring-up, unless "
               "--allow-unbound: then the lab stays up, the client keeps trying, and the "
               "summary lists it as UNBOUND with the end of its log (a broken network to "
               "inspect or grade). With --controller os-ken the switches are driven over "
               "OpenFlow 1.3 by os-ken with the apps of --controller-app (default l2); if the "
               "controller dies while the lab is up, up tears down and exits 1 naming it.")


def configure(parser):
    add_topology_arguments(parser)
    parser.add_argument("--no-cli", action="store_true",
                        help="no Mininet CLI: print a summary and wait for SIGINT/SIGTERM")
    parser.add_argument("--datapath", choices=("auto", "user", "kernel"), default=None,
                        help="OVS datapath (default auto: kernel where the kernel has it)")
    parser.add_argument("--allow-unbound", action="store_true",
                        help="DHCP clients without a lease do not fail the bring-up: they are "
                             "listed as UNBOUND and keep trying")
    add_controller_arguments(parser)
    add_format_argument(parser, "the summary")


def run(args) -> int:
    topo = registry.load(args.topology, topology_options(args))
    controller = controller_settings(args, topo)
    require_root(NAME)
    settings = LabSettings(datapath=args.datapath, unbound_ok=args.allow_unbound,
                           controller=controller)
    failure = hold(topo, args.topology, settings, lambda lab: show_and_hold(args, lab),
                   stopped=None)
    if failure:
        output.error(failure)
        return 1
    return 0


def show_and_hold(args, lab: Lab) -> str | None:
    """Print the lab's summary and hold it until the user is done; why it
    failed meanwhile (its controller died), else None."""
    if args.format == "json":
        output.print_json({"topology": lab.topo.name, "run": lab.run.run_id,
                           "interfaces": lab.summary(),
                           "unbound": [asdict(u) for u in lab.unbound]})
    else:
        output.lab_summary(lab.topo.name, lab.run.run_id, lab.summary())
        output.unbound(lab.unbound)
    if args.no_cli:
        output.note(f"lab {lab.run.run_id} is up; Ctrl-C or 'down' tears it down")
    return until_done(lab, cli=not args.no_cli)
