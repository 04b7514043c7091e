"""What a fault is: a named deviation from the model, its variants, and how it
is applied to a running lab and repaired.

A fault never knows a lab by name.  ``variants(topo)`` finds, in the model
alone, every place the fault can be put (each relay, each static route,
each access port and the VLANs it could be moved to), with what the
student is told (the *symptom*, never the fault), which model-derived
checks the fault must break and which it must leave passing.  A fault with
no variant does not apply, and ``why_not`` says why.

Two kinds, both reversible:

- a *model* fault (:class:`ModelFault`) transforms a copy of the model and
  restarts the daemons whose rendering changes from it, in place of the
  lab's own (same files, same names: a check restarting them restarts the
  broken one); ``solve`` renders them from the lab's model again;
- a *live* fault changes the running lab with commands in its nodes (a
  route deleted, an iptables rule, an OVS port tag), and ``solve`` runs the
  inverse commands.

The lab's own model (``lab.topo``) is never changed: it stays the design
the checks judge the broken lab against.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from typing import Iterable

from ..errors import FlowlabError
from ..model import Topology


class FaultError(FlowlabError):
    """A fault cannot be used as asked (unknown, not applicable, no such variant)."""

    exit_status = 2


@dataclass(frozen=True)
class Variant:
    """One placement of a fault in one topology.

    ``target``: where it is put, as plain strings (stored with the exercise
    and shown to instructors); ``summary``: what is wrong, in words, for the
    instructor and the answer key; ``symptom``: what the student is told;
    ``breaks``/``keeps``: the model-derived checks that must fail with the
    fault in place, and those that must still pass."""

    fault: str
    target: dict[str, str]
    summary: str
    symptom: str
    breaks: tuple[str, ...]
    keeps: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """A stable name of the placement: ``route-missing:r1:10.9.1.0/24``."""
        return ":".join([self.fault, *self.target.values()])

    def as_dict(self) -> dict:
        return {"fault": self.fault, "target": dict(self.target), "summary": self.summary,
                "symptom": self.symptom, "breaks": list(self.breaks),
                "keeps": list(self.keeps)}

    @classmethod
    def from_dict(cls, data: dict) -> "Variant":
        return cls(data["fault"], dict(data["target"]), data["summary"], data["symptom"],
                   tuple(data["breaks"]), tuple(data.get("keeps", ())))


def seeded_index(seed: str, count: int) -> int:
    """An index in ``range(count)`` that depends only on ``seed``: the same
    student gets the same variant on every machine and run (Python's
    ``hash`` is salted per process, so a digest is used)."""
    if count <= 0:
        raise ValueError("nothing to choose from")
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


class Fault:
    """Subclasses set ``name``, ``title``, ``kind`` and ``why``, and implement
    :meth:`variants`, :meth:`apply` and :meth:`solve`."""

    name = ""
    title = ""
    kind = "live"                 # "model" or "live"
    why = ""                      # why_not's text: what a topology lacks

    def variants(self, topo: Topology) -> list[Variant]:
        raise NotImplementedError

    def placements(self, topo: Topology) -> list[Variant]:
        """The variants whose checks apply to ``topo``: a check named in
        ``breaks`` or ``keeps`` that has nothing to prove there is dropped,
        and a variant left breaking nothing is no variant."""
        applicable = applicable_checks(topo)
        found = []
        for variant in self.variants(topo):
            breaks = tuple(c for c in variant.breaks if c in applicable)
            keeps = tuple(c for c in variant.keeps if c in applicable and c not in breaks)
            if breaks:
                found.append(replace(variant, breaks=breaks, keeps=keeps))
        return found

    def applies_to(self, topo: Topology) -> bool:
        return bool(self.placements(topo))

    def why_not(self, topo: Topology) -> str:
        return f"{self.name} does not apply to {topo.name}: {self.why}"

    def choose(self, topo: Topology, student: str | None) -> Variant:
        """The variant of ``student`` (None: the first one)."""
        found = self.placements(topo)
        if not found:
            raise FaultError(self.why_not(topo))
        if student is None:
            return found[0]
        return found[seeded_index(f"{self.name}\0{topo.name}\0{student}", len(found))]

    def variant(self, topo: Topology, key: str) -> Variant:
        """The variant named by its key (see :attr:`Variant.key`)."""
        for found in self.placements(topo):
            if found.key == key:
                return found
        raise FaultError(f"{self.name} has no variant {key!r} in {topo.name}; it has: "
                         + ", ".join(v.key for v in self.placements(topo)))

    def apply(self, lab, variant: Variant) -> None:
        raise NotImplementedError

    def solve(self, lab, variant: Variant) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Swap:
    """A daemon a model fault re-renders: its service kind and node."""

    kind: str
    node: str


@dataclass
class ModelChange:
    """What a model fault does to its copy of the model, and what must be
    restarted for the lab to show it."""

    topo: Topology
    swaps: list[Swap] = field(default_factory=list)
    clients: list[tuple[str, str]] = field(default_factory=list)   # DHCP (node, iface)
    wait_clients: bool = True      # False: they will not bind; do not wait for them


class ModelFault(Fault):
    """A fault that is a transformation of the model: implement
    :meth:`transform`, which changes a deep copy and says which daemons
    and DHCP clients must restart."""

    kind = "model"

    def transform(self, topo: Topology, variant: Variant) -> ModelChange:
        raise NotImplementedError

    def changed(self, topo: Topology, variant: Variant) -> ModelChange:
        return self.transform(copy.deepcopy(topo), variant)

    def apply(self, lab, variant: Variant) -> None:
        from . import actions
        change = self.changed(lab.topo, variant)
        for swap in change.swaps:
            actions.swap_daemon(lab, swap.kind, swap.node, change.topo)
        actions.restart_clients(lab, change.clients, wait=change.wait_clients)

    def solve(self, lab, variant: Variant) -> None:
        from . import actions
        change = self.changed(lab.topo, variant)
        for swap in change.swaps:
            actions.swap_daemon(lab, swap.kind, swap.node, lab.topo)
        actions.restart_clients(lab, change.clients, wait=True)


def applicable_checks(topo: Topology) -> set[str]:
    """The names of the shipped checks that apply to ``topo``."""
    from ..checks import all_checks
    return {c.name for c in all_checks() if c.applies_to(topo)}


def with_params(topo: Topology, node: str, kind: str, **params) -> None:
    """Replace the parameters of ``node``'s ``kind`` service in ``topo``."""
    host = topo.node(node)
    host.services = [type(s)(s.kind, {**s.params, **params}) if s.kind == kind else s
                     for s in host.services]


def names(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: hosts in a symptom."""
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
