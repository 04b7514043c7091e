"""The checks of FLOWS.md, by name, in the order the specification lists them.

Each check module owns one family (DHCP, ARP and forwarding, DNS, the web
visit and NAT, TCP connection management); this registry is the one place
that knows them all.
"""

from __future__ import annotations

from .base import Check, CheckContext, CheckResult

CHECK_MODULES = ("dhcp", "arp", "dns", "web", "tcp")


def all_checks() -> list[Check]:
    import importlib
    found: list[Check] = []
    for module_name in CHECK_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        found += [cls() for cls in module.CHECKS]
    return found


def by_name() -> dict[str, Check]:
    return {check.name: check for check in all_checks()}


__all__ = ["Check", "CheckContext", "CheckResult", "all_checks", "by_name"]
