"""Exceptions of flowlab.

Library code raises these; only the CLI turns them into messages and exit
statuses, so that users calling the library from their own tests get
exceptions they can catch instead of a process that exits under them.
"""

from __future__ import annotations


class FlowlabError(Exception):
    """Base class of every error flowlab raises on purpose."""

    exit_status = 1


class TopologyError(FlowlabError):
    """A topology that cannot be built, found before anything was created.

    It names the node and the field so that the user can go straight to the
    line of their topology file that is wrong.
    """

    exit_status = 2

    def __init__(self, node: str | None, field: str, message: str):
        self.node = node
        self.field = field
        self.message = message
        where = f"{node}: {field}" if node else field
        super().__init__(f"{where}: {message}")


class TopologyNotFound(FlowlabError):
    """A topology name that is neither registered nor a readable .py file."""

    exit_status = 2


class TopologyImportError(FlowlabError):
    """A user's topology file raised while it was imported or built.

    Carries the formatted traceback of the user's code so the CLI can show it
    as it is, instead of a message of ours that hides where the fault is.
    """

    exit_status = 2

    def __init__(self, path: str, user_traceback: str):
        self.path = path
        self.user_traceback = user_traceback
        super().__init__(f"{path}: the topology file failed to load\n{user_traceback}")


class MissingBinary(FlowlabError):
    """A program flowlab needs is not installed; says which package has it."""

    def __init__(self, binary: str, package: str):
        self.binary = binary
        self.package = package
        super().__init__(
            f"'{binary}' is not installed: install the Debian package "
            f"'{package}' (apt-get install {package}), or run 'sudo make setup'")


class LabError(FlowlabError):
    """Building, starting or stopping the emulated network failed."""


class CaptureIncomplete(FlowlabError):
    """tcpdump reported packets dropped by the kernel: an expectation of
    absence or of an exact count could pass or fail on what is missing."""


class NoLabRunning(FlowlabError):
    """exec/down were asked for a lab, and none is up."""
