"""Removing what a run left behind: by its own record and its marks, never by name.

A run's processes carry ``FLOWLAB_RUN=<run id>`` in their environment (the
daemons in its nodes, and its OpenFlow controller in the machine's own
namespaces, which outlives a killed ``up`` in a session of its own), its
bridges carry ``external-ids:flowlab-run=<run id>``, and its state file lists
its root-side links.  Cleaning a run stops exactly those processes (by pid),
deletes exactly those bridges and links, and nothing else on the machine.
Mount namespaces are private to each node and die with its processes;
a mount of a run's file that shows up in the root namespace is unmounted
all the same.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..network import ovs
from ..network.nodes import RUN_ENV
from ..processes.binaries import which
from .rundir import DOWN, RunDir, RunState, all_runs, live_runs, owner_of, pid_alive


@dataclass
class Cleaned:
    """What a clean removed, for the report."""

    processes: list[int] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.processes, self.bridges, self.links, self.mounts))

    def merge(self, other: "Cleaned") -> None:
        for name in ("processes", "bridges", "links", "mounts", "runs"):
            getattr(self, name).extend(getattr(other, name))


def marked_processes() -> dict[int, str]:
    """pid -> run id of every process carrying our mark, except ourselves."""
    marked = {}
    needle = RUN_ENV.encode() + b"="
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        for var in environ.split(b"\0"):
            if var.startswith(needle):
                marked[int(entry)] = var[len(needle):].decode(errors="replace")
                break
    return marked


def stop_pids(pids: list[int], grace: float = 2.0) -> list[int]:
    """SIGTERM, then SIGKILL whatever is still there after ``grace`` seconds."""
    stopped = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    remaining = list(stopped)
    while remaining and time.monotonic() < deadline:
        remaining = [p for p in remaining if _exists(p)]
        if remaining:
            time.sleep(0.02)
    for pid in remaining:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return stopped


def _exists(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _delete_links(names: list[str]) -> list[str]:
    ip = which("ip")
    deleted = []
    for name in names:
        if ip and _link_exists(name):
            subprocess.run([ip, "link", "del", name], capture_output=True)
            deleted.append(name)
    return deleted


def _delete_bridges(names: list[str]) -> list[str]:
    if not names:
        return []
    args = []
    for name in names:
        args += ["--", "--if-exists", "del-br", name]
    ovs.vsctl(*args, check=False)
    _delete_links([n for n in names if _link_exists(n)])
    return names


def _unmount_run_files(run_dir: Path) -> list[str]:
    """Unmount anything in the root namespace whose source is in the run dir."""
    unmounted = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return unmounted
    prefix = str(run_dir)
    for line in lines:
        fields = line.split()
        root, mount_point = fields[3], fields[4]
        if root.startswith(prefix):
            subprocess.run(["umount", "-l", mount_point], capture_output=True)
            unmounted.append(mount_point)
    return unmounted


def clean_run(run: RunDir, state: RunState, processes: dict[int, str] | None = None) -> Cleaned:
    """Remove everything of one run; safe to call twice."""
    processes = marked_processes() if processes is None else processes
    result = Cleaned(runs=[state.run_id])
    ours = [pid for pid, owner in processes.items() if owner == state.run_id]
    ours += [p.pid for p in state.processes if p.pid in processes and p.pid not in ours]
    result.processes = stop_pids(sorted(set(ours)))
    result.bridges = _delete_bridges(sorted(set(state.bridges)
                                            | set(ovs.bridges_of_run(state.run_id))))
    result.links = _delete_links(state.root_links)
    result.mounts = _unmount_run_files(run.path)
    state.status = DOWN
    run.save(state)
    return result


def clean_all(base: Path | None = None) -> Cleaned:
    """Clean every run that is not live (its owner died or it was never
    brought down), and every marked bridge or process whose run is not live."""
    live = {state.run_id for _run, state in live_runs(base)}
    processes = marked_processes()
    total = Cleaned()
    for run, state in all_runs(base):
        if state.run_id in live:
            continue
        has_leftovers = (state.status != DOWN or state.run_id in processes.values()
                         or ovs.bridges_of_run(state.run_id))
        if has_leftovers:
            total.merge(clean_run(run, state, processes))
    # Marks of runs whose directory is gone (another base, or deleted).
    def abandoned(run_id: str) -> bool:
        return run_id not in live and not pid_alive(owner_of(run_id))

    orphans = [pid for pid, owner in processes.items()
               if abandoned(owner) and pid not in total.processes]
    total.processes += stop_pids(orphans)
    stray = [name for name, owner in ovs.bridges_of_run().items() if abandoned(owner)]
    total.bridges += _delete_bridges(stray)
    return total
