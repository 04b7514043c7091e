"""Running daemons inside lab nodes: check, start, prove ready, stop by pid.

A :class:`services.base.Launch` says what to run; the supervisor writes its
files, runs its config's dry run inside the node, starts it (marked with the
run id, output to its log in the run directory), and waits until it proves
it is ready (a log line, a lease written) within its deadline.  A daemon
that dies or stalls is reported with the last lines of its log.  Daemons
start stage by stage, so a relay never starts before its server listens.

The supervisor knows nodes only through :class:`~orchestrator.processes.nodeexec.NodeExec`
(run a program in a node, record its pid), not the Lab; what a lab's daemons
are, and how checks find and restart one, is :mod:`orchestrator.processes.services_api`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from services.base import FileAppears, Launch, LogLine

from ..errors import LabError
from ..runs.rundir import Process
from .binaries import require
from .nodeexec import NodeExec

ROOT_NAMESPACE = "(root)"
"""The node of a Launch that runs in the machine's own namespaces (the
OpenFlow controller, which the switches reach on loopback)."""

TAIL_LINES = 15
POLL_SECONDS = 0.01
PACE = 100
"""Daemons of one stage starting at once, at most.  A thousand DHCP clients
started together broadcast faster than a userspace switch floods to a
thousand ports; lost DISCOVERs back off and the stage collapses."""
NAMED = 6
STOP_GRACE = 3.0


def _names(group: list[Launch]) -> str:
    names = [launch.name for launch in group]
    if len(names) <= NAMED:
        return ", ".join(names)
    return f"{len(names)} daemons: {', '.join(names[:NAMED - 2])}, ..., {names[-1]}"


def tail(path: str, lines: int = TAIL_LINES) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class NotReady(LabError):
    """A daemon still running at its deadline without proving it is ready.

    Distinct from a daemon that exited or a config that was refused: for a
    DHCP client it means "no lease" (a broken network), which a lab may be
    told to accept and report instead of failing (``LabSettings.unbound_ok``)."""

    def __init__(self, launch: Launch, waiting_for: str, log_tail: str):
        self.launch = launch
        self.waiting_for = waiting_for
        self.log_tail = log_tail
        super().__init__(f"{launch.name} was not ready within {launch.deadline:.0f} s "
                         f"({waiting_for}); last lines of {launch.log}:\n{log_tail}")


@dataclass
class Running:
    launch: Launch
    proc: subprocess.Popen
    started: float
    log_offset: int = 0            # readiness is judged on what this run wrote
    ready_after: float | None = None

    @property
    def pattern(self) -> re.Pattern | None:
        ready = self.launch.ready
        return re.compile(ready.pattern) if isinstance(ready, LogLine) else None


class Supervisor:
    def __init__(self, nodes: NodeExec, progress: Callable[[str], None] = lambda message: None):
        self.nodes = nodes
        self.progress = progress
        self.running: dict[str, Running] = {}

    # -- before anything starts ---------------------------------------------------
    def prepare(self, launches: list[Launch]) -> None:
        """Find every binary and check every config before starting anything:
        a broken config or a missing package fails the bring-up at once."""
        for launch in launches:
            if launch.binary:
                require(launch.binary)
        for launch in launches:
            for path, content in launch.files.items():
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                Path(path).write_text(content)
                if path in launch.executables:
                    os.chmod(path, 0o755)
        checks = [(launch, subprocess.Popen(self.nodes.exec_argv(launch.node, launch.check),
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                            text=True))
                  for launch in launches if launch.check]
        refused = []
        for launch, proc in checks:        # all dry runs at once: they are independent
            output, _ = proc.communicate()
            if proc.returncode != 0:
                refused.append(f"{launch.name}: its configuration was refused by "
                               f"'{' '.join(launch.check)}':\n{output.strip()}")
        if refused:
            raise LabError("\n".join(refused))

    # -- starting ---------------------------------------------------------------------
    def start_all(self, launches: list[Launch],
                  may_stay_unready: Callable[[Launch], bool] = lambda launch: False
                  ) -> list[NotReady]:
        """Check, then start stage by stage, each stage ready before the next.

        Within a stage at most :data:`PACE` daemons are starting at once: the
        next starts as soon as one proves ready, so each daemon's deadline
        runs from its own start and a stage of a thousand DHCP clients takes
        as long as its work, not a fixed deadline for all of it.

        A daemon for which ``may_stay_unready`` is true and that is still
        running, unready, at its deadline does not fail the start: it keeps
        running and its NotReady is returned.  Any other failure raises at
        once; what was started stays in ``running`` for :meth:`stop_all`."""
        self.prepare(launches)
        unready: list[NotReady] = []
        stages: dict[int, list[Launch]] = defaultdict(list)
        for launch in launches:
            stages[launch.stage].append(launch)
        for stage in sorted(stages):
            group = stages[stage]
            self.progress("starting " + _names(group))
            unready += self.start_paced(group, may_stay_unready)
        return unready

    def start_paced(self, group: list[Launch],
                    may_stay_unready: Callable[[Launch], bool] = lambda launch: False
                    ) -> list[NotReady]:
        """Start ``group`` (already prepared), at most :data:`PACE` starting at
        once; the NotReady of those allowed to stay unready, others raise."""
        queue, starting, unready = deque(group), [], []
        while queue or starting:
            while queue and len(starting) < PACE:
                starting.append(self.start(queue.popleft()))
            waiting = []
            for running in starting:
                try:
                    if not self._settled(running):
                        waiting.append(running)
                except NotReady as late:
                    if not may_stay_unready(running.launch):
                        raise
                    unready.append(late)
            starting = waiting
            if starting:
                time.sleep(POLL_SECONDS)
        return unready

    def start(self, launch: Launch) -> Running:
        if launch.name in self.running:
            raise LabError(f"{launch.name} is already running")
        argv = list(launch.argv)
        argv[0] = require(argv[0]) if not os.path.isabs(argv[0]) else argv[0]
        offset = os.path.getsize(launch.log) if os.path.exists(launch.log) else 0
        with open(launch.log, "ab") as log:
            proc = subprocess.Popen(self.nodes.exec_argv(launch.node, argv),
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        running = Running(launch, proc, time.monotonic(), offset)
        self.running[launch.name] = running
        self.nodes.record(Process(launch.node, proc.pid, launch.name))
        return running

    def wait_ready(self, running: Running) -> None:
        while not self._settled(running):
            time.sleep(POLL_SECONDS)

    def _settled(self, running: Running) -> bool:
        """True once the daemon proved ready; False while it may still;
        LabError if it exited, NotReady at its deadline."""
        launch = running.launch
        if self._is_ready(launch, running.pattern, running.log_offset):
            running.ready_after = time.monotonic() - running.started
            return True
        code = running.proc.poll()
        if code is not None:
            raise LabError(f"{launch.name} exited with status {code} before it was ready; "
                           f"last lines of {launch.log}:\n{tail(launch.log)}")
        if time.monotonic() > running.started + launch.deadline:
            raise NotReady(launch, self._waiting_for(launch), tail(launch.log))
        return False

    @staticmethod
    def _is_ready(launch: Launch, pattern: re.Pattern | None, offset: int) -> bool:
        """Ready by its own file, or by a line of the log written since this
        start (a restarted daemon appends to the log of the one before)."""
        if isinstance(launch.ready, FileAppears):
            return os.path.exists(launch.ready.path)
        try:
            with open(launch.log, "rb") as log:
                log.seek(offset)
                return bool(pattern.search(log.read().decode(errors="replace")))
        except OSError:
            return False

    @staticmethod
    def _waiting_for(launch: Launch) -> str:
        if isinstance(launch.ready, FileAppears):
            return f"waiting for {launch.ready.path}"
        return f"waiting for a log line matching {launch.ready.pattern!r}"

    # -- stopping -----------------------------------------------------------------------
    def stop(self, name: str) -> None:
        running = self.running.pop(name, None)
        if running is not None:
            _terminate([running.proc])

    def stop_all(self) -> None:
        """Stop daemons in reverse start order: clients before servers."""
        order = sorted(self.running.values(), key=lambda r: r.launch.stage, reverse=True)
        _terminate([r.proc for r in order])
        self.running.clear()


def _terminate(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_GRACE
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
