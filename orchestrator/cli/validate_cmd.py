"""``validate``: check a topology without touching the system."""

from __future__ import annotations

from ..model import registry
from ..model.validation import problems, warnings
from . import output
from .common import add_format_argument, add_topology_arguments, topology_options

NAME = "validate"
HELP = "check a topology without creating anything"
DESCRIPTION = ("Load a topology (name or path) and check the whole model: names, "
               "interfaces, addresses, subnets, VLANs, routes, services. Needs no root and "
               "creates nothing. Warns, without refusing, of what will not work out for "
               "everyone (a DHCP pool smaller than its clients). Exit status 0 when valid, 2 "
               "when not.")


def configure(parser):
    add_topology_arguments(parser)
    add_format_argument(parser, "the problems found")


def run(args) -> int:
    topo = registry.load(args.topology, topology_options(args))
    found, warned = problems(topo), warnings(topo)
    if args.format == "json":
        output.print_json({"topology": topo.name, "valid": not found,
                           "problems": [{"node": p.node, "field": p.field, "message": p.message}
                                        for p in found],
                           "warnings": [{"node": w.node, "field": w.field, "message": w.message}
                                        for w in warned]})
    else:
        for problem in found:
            output.error(str(problem))
        for warning in warned:
            output.note(f"warning: {warning}")
        if not found:
            vlans = f", {len(topo.vlans)} VLANs" if topo.vlans else ""
            output.out.print(f"{topo.name}: valid ({len(topo.nodes)} nodes, "
                             f"{len(topo.links)} links{vlans})")
    return 2 if found else 0
