"""What running a program inside a lab node takes, and nothing more.

The supervisor and the captures need two things of a lab: the command line
that runs a program in a node, and a place to record what they started so
that teardown and ``clean`` find it.  Depending on this protocol instead of
the whole Lab keeps them testable with any small object that provides both,
and keeps the Lab free to change around them.
"""

from __future__ import annotations

from typing import Protocol

from ..runs.rundir import Process


class NodeExec(Protocol):
    def exec_argv(self, node: str, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` inside ``node``, marked as the run's."""
        ...

    def record(self, process: Process) -> None:
        """Note a process the run started, so teardown and clean stop it."""
        ...
