"""The topologies that ship with flowlab, by the name users type.

A topology module defines ``build(options) -> Topology``; its docstring's
first line is the one-line description that ``list`` prints.  A user's own
topology file follows the same contract and is run by path.
"""

REGISTRY: dict[str, str] = {
    "enterprise": "topologies.enterprise",
    "home": "topologies.home",
    "arp-lan": "topologies.arp_lan",
    "scale": "topologies.scale",
}
