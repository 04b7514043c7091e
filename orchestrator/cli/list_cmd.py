"""``list``: the topologies flowlab knows, with a line on each."""

from __future__ import annotations

from ..model import registry
from . import output
from .common import add_format_argument

NAME = "list"
HELP = "list the registered topologies"
DESCRIPTION = ("List the registered topologies with a one-line description. Any other "
               "topology can be run by giving the path of its .py file instead of a name.")


def configure(parser):
    add_format_argument(parser, "the topologies")


def run(args) -> int:
    infos = registry.available()
    if args.format == "json":
        output.print_json([{"name": i.name, "description": i.description, "module": i.source}
                           for i in infos])
    else:
        output.table("topologies", ["name", "description"],
                     [[i.name, i.description] for i in infos])
    return 0
