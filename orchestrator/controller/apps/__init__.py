"""The controller apps flowlab ships, by the name ``--controller-app`` takes.

Each is an os-ken app driven by the lab's model (:mod:`..fabric`):

- ``l2``: a VLAN-aware learning switch, what OVS's normal mode does;
- ``dhcp-guard``: ``l2`` plus DHCP snooping, the SDN fix of the relay race.

The monitor (:mod:`.monitor`) is loaded beside any app, a user's too: it
counts packet-ins and reports which datapaths are connected and ready.
"""

from __future__ import annotations

SHIPPED = {
    "l2": "orchestrator.controller.apps.l2",
    "dhcp-guard": "orchestrator.controller.apps.dhcp_guard",
}
"""Name -> module of every app flowlab ships."""

FORWARDING = {"l2", "dhcp-guard"}
"""Shipped apps that forward every frame: two of them at once would both
flood and both install flows, so only one may be chosen."""

DEFAULT = ("l2",)

MONITOR = "orchestrator.controller.apps.monitor"
