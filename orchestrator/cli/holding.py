"""Holding a lab from the command line: ``up``, ``exercise start`` and ``demo``
bring one up, use it, and tear it down however they end.

What they share lives here once: bring-up and tear-down with progress;
SIGTERM (from ``down``) raised as :class:`Terminated` where the main thread
is, so that the tear-down runs; Ctrl-C and SIGTERM as the user's way to end
a lab, not a failure; and holding the lab until the user is done.
"""

from __future__ import annotations

import signal
import time
from typing import Callable, TypeVar

from ..lab import Lab, LabSettings
from ..model import Topology
from . import output

Result = TypeVar("Result")

WATCH_SECONDS = 0.5


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so that teardown runs.

    Not a KeyboardInterrupt: Mininet's CLI swallows those to stay open."""


def _raise_terminated(_signum, _frame):
    raise Terminated()


def hold(topo: Topology, spec: str, settings: LabSettings, use: Callable[[Lab], Result],
         stopped: Result, title: str | None = None) -> Result:
    """Bring ``topo`` up (progress under ``title``), return what ``use(lab)``
    returns, and tear the lab down with progress whatever happens.  Ctrl-C
    or SIGTERM, while the lab is used or still coming up (the bring-up then
    removes what it built), end it with ``stopped``; a crash is raised
    further, after the tear-down."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with output.progress(title or f"bringing {topo.name} up") as report:
            settings.progress = report
            lab = Lab(topo, spec, settings).start()
        try:
            return use(lab)
        finally:
            with output.progress(f"tearing {topo.name} down") as report:
                lab.settings.progress = report
                lab.stop()
    except (KeyboardInterrupt, Terminated):
        return stopped
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def until_done(lab: Lab, cli: bool) -> str | None:
    """Hold the lab until the user is done: until they leave Mininet's CLI
    (``cli``), else until a signal (raised as an exception).  Returns why
    the lab stopped being what was asked for meanwhile (its controller
    died), else None."""
    if cli:
        from mininet.cli import CLI
        from mininet.log import setLogLevel
        setLogLevel("output")   # the CLI prints through Mininet's log
        CLI(lab.net)
        return lab.controller_failure()
    while True:
        failure = lab.controller_failure()
        if failure:
            return failure
        if lab.controller is None:
            signal.pause()
        else:
            time.sleep(WATCH_SECONDS)      # a signal's handler raises out of it
