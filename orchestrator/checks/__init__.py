"""The checks flowlab ships: the textbook's, then those derived from any model.

The textbook checks of FLOWS.md come first, in the order the specification
lists them; each module owns one family (DHCP, ARP and forwarding, DNS, the
web visit and NAT, RARP against DHCP, TCP connection management) and applies
to the labs of the texts.  The derived checks (``derived/``) look at the model only and
apply to any topology that has what they prove.  Users declare their own
with ``@check`` (:mod:`.user`).  This registry is the one place that knows
the shipped ones.

Opt-in checks (``OPT_IN_MODULES``: starvation, which leaves a DHCP pool
empty) are not among :func:`all_checks`, what ``verify`` runs by default;
they run when named (``verify --check starvation``) and :func:`by_name`
knows them.
"""

from __future__ import annotations

from ..results.verify import CheckRecord
from .base import Check, CheckContext
from .user import check

CHECK_MODULES = ("dhcp", "arp", "dns", "web", "rarp", "tcp",
                 "derived.dhcp", "derived.l2scope", "derived.reach", "derived.nat",
                 "derived.dns", "derived.http")

OPT_IN_MODULES = ("dhcp.starvation",)


def _checks_of(modules: tuple[str, ...]) -> list[Check]:
    import importlib
    found: list[Check] = []
    for module_name in modules:
        module = importlib.import_module(f"{__name__}.{module_name}")
        found += [cls() for cls in module.CHECKS]
    return found


def all_checks() -> list[Check]:
    """The checks ``verify`` runs by default (where they apply)."""
    return _checks_of(CHECK_MODULES)


def opt_in_checks() -> list[Check]:
    """The checks that run only when named."""
    return _checks_of(OPT_IN_MODULES)


def by_name() -> dict[str, Check]:
    return {check.name: check for check in all_checks() + opt_in_checks()}


__all__ = ["Check", "CheckContext", "CheckRecord", "all_checks", "by_name", "check",
           "opt_in_checks"]
