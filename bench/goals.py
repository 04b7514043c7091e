"""The project's goals for its benchmarks, in one place, and the line a bench prints about each.

A bench measures a figure against a baseline of the same run (bare Mininet, tshark, dnsmasq);
whether the figure reaches its goal is said at the end of the bench's output, "met" or "NOT met"
with the figure, so that a figure short of its goal is never left for the reader to work out
from a table. When the project moves a goal, it moves here and every bench follows.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Iterable, TextIO


@dataclass(frozen=True)
class Goal:
    """A figure that must stay at most (``at_most``) or reach at least ``bound``."""

    name: str
    bound: float
    at_most: bool
    unit: str = "x"            # "x" for a ratio to the baseline, " s", " MB"
    baseline: str = ""         # what a ratio is taken against: "bare Mininet"

    def met(self, figure: float) -> bool:
        return figure <= self.bound if self.at_most else figure >= self.bound

    def __str__(self) -> str:
        return (f"{self.name} {'<=' if self.at_most else '>='} {self.bound:.1f}{self.unit}"
                + (f" {self.baseline}" if self.baseline else ""))

    def verdict(self, figure: float | None, where: str = "") -> str:
        """``goal NAME <= 1.2x bare Mininet (where): met (1.05x)``, or ``NOT met (figure
        1.34x)``, or ``not measured`` when the bench skipped the figure."""
        said = f"goal {self}" + (f" ({where})" if where else "")
        if figure is None:
            return f"{said}: not measured"
        shown = f"{figure:.2f}{self.unit}"
        return f"{said}: met ({shown})" if self.met(figure) else f"{said}: NOT met (figure {shown})"


Measured = tuple[Goal, float | None, str]
"""A goal, the figure measured for it (None: not measured) and where (a topology, a size)."""


def report(measured: Iterable[Measured], stream: TextIO | None = None) -> bool:
    """Print one verdict a line (on standard output, or ``stream``: standard error beside a
    JSON document); whether every measured figure met its goal."""
    all_met = True
    for goal, figure, where in measured:
        print(goal.verdict(figure, where), file=stream or sys.stdout)
        all_met = all_met and (figure is None or goal.met(figure))
    return all_met


# -- the project's goals -------------------------------------------------------------------
BRINGUP = Goal("bring-up", 1.2, at_most=True, baseline="bare Mininet")
PCAP = Goal("pcap library speed", 10.0, at_most=False, baseline="tshark")
RESOLVER = Goal("resolver cache-hit queries/s", 1.0, at_most=False, baseline="dnsmasq")

# -- each bench's own targets ----------------------------------------------------------------
PCAP_SCAPY = Goal("pcap library speed", 20.0, at_most=False, baseline="scapy")
CONTROLLER_BRINGUP = Goal("bring-up under os-ken", 1.3, at_most=True, baseline="normal mode")
SCALE_UP = Goal("scale bring-up", 3.0, at_most=True, baseline="bare Mininet")
SCALE_DOWN = Goal("scale teardown", 1.2, at_most=True, baseline="bare Mininet")
REPORT_TIME = Goal("report render", 1.0, at_most=True, unit=" s")
REPORT_SIZE = Goal("report size", 5.0, at_most=True, unit=" MB")
VERIFY = Goal("verify time", 1.4, at_most=True, baseline="its protocol waits")
