"""Users' own checks: declared beside their topology, run by ``verify`` like ours.

A user proves a flow of their own network the way the shipped checks do:
traffic scripted inside ``ctx.capture(points, bpf)``, then a judge over the
captured packets that returns one line of evidence or raises
:class:`~orchestrator.packets.ExpectationFailed`.  The ``@check`` decorator
is the whole registration: ``verify`` finds decorated functions (or
:class:`Check` subclasses) in the topology file itself and in
``<stem>_checks.py`` beside it, by scanning those modules, so no global
registry outlives a run and two topologies never see each other's checks::

    from orchestrator.checks import check
    from orchestrator.packets import expect, icmp

    @check("pc1-pings-pc2", summary="pc1's echo answered by pc2")
    def pc1_pings_pc2(ctx):
        with ctx.capture([("pc2", "pc2-eth0")], "icmp") as cap:
            ctx.lab.run_in("pc1", ["ping", "-c1", "10.9.0.12"])
        reply = expect(cap["pc2-eth0"]).first(icmp(type="echo-reply"))
        return f"pc2 answered from {reply.ip.src}"
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Callable

from ..errors import TopologyError
from ..model import Topology
from .base import Check, CheckContext

MARK = "__flowlab_check__"
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

CheckFunction = Callable[[CheckContext], str]


class FunctionCheck(Check):
    """A decorated function as a check: it applies to the topology it was
    declared with (or where ``applies`` says), and its return value is the
    evidence."""

    def __init__(self, function: CheckFunction, name: str, summary: str,
                 applies: Callable[[Topology], bool] | None):
        self.function = function
        self.name = name
        self.summary = summary
        self._applies = applies

    def applies_to(self, topo: Topology) -> bool:
        return True if self._applies is None else bool(self._applies(topo))

    def why_not(self, topo: Topology) -> str:
        return f"its applies= test refused {topo.name}"

    def run(self, ctx: CheckContext) -> str:
        evidence = self.function(ctx)
        return "" if evidence is None else str(evidence)


def _everywhere(_check: Check, _topo: Topology) -> bool:
    """A user's check applies to the topology it is declared with."""
    return True


def _check_name(name: str, where: str) -> str:
    if not NAME.match(name):
        raise TopologyError(None, f"check {name!r}",
                            f"{where}: a check name is lower-case letters, digits and '-'")
    return name


def check(name: str | None = None, *, summary: str = "",
          applies: Callable[[Topology], bool] | None = None):
    """Declare a check: ``@check("name", summary=...)`` on a function
    ``(ctx) -> evidence`` or on a :class:`Check` subclass.  The name defaults
    to the function's, with ``_`` written ``-``."""

    def mark(target):
        given = name or getattr(target, "name", "") or target.__name__.replace("_", "-")
        where = getattr(target, "__qualname__", repr(target))
        if isinstance(target, type) and issubclass(target, Check):
            target.name = _check_name(given, where)
            target.summary = summary or target.summary
            if target.applies_to is Check.applies_to:      # declared with its topology
                target.applies_to = _everywhere
            setattr(target, MARK, target)
            return target
        if not callable(target):
            raise TypeError(f"@check decorates a function or a Check subclass, not {target!r}")
        setattr(target, MARK, FunctionCheck(target, _check_name(given, where),
                                            summary or (target.__doc__ or "").strip()
                                            .split("\n")[0], applies))
        return target

    if callable(name) and not isinstance(name, str):      # bare @check
        target, name = name, None
        return mark(target)
    return mark


def checks_in(module: ModuleType) -> list[Check]:
    """The checks a module declares with ``@check``, in the order written."""
    found: list[Check] = []
    for value in vars(module).values():
        declared = getattr(value, MARK, None)
        if declared is None or getattr(value, "__module__", None) != module.__name__:
            continue
        found.append(declared() if isinstance(declared, type) else declared)
    return found
