"""The run directory: everything one run writes, and the record of what it made.

Every run gets its own directory (configs, pids, logs, leases, captures,
and each node's private /etc/hosts and /etc/resolv.conf), never a fixed
shared path.  ``state.json`` records what the run created (node shell pids,
bridges, root-side links, daemons) so that ``exec`` and ``down`` can find a
lab that another process holds up, and ``clean`` can remove exactly what a
crashed run left behind, and nothing else.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_BASE = Path("/var/tmp/flowlab/runs")

STARTING, UP, STOPPING, DOWN = "starting", "up", "stopping", "down"


def runs_base() -> Path:
    """Where run directories live: $FLOWLAB_RUNS, or /var/tmp/flowlab/runs
    (kept across reboots, unlike /run, so logs and captures stay readable)."""
    return Path(os.environ.get("FLOWLAB_RUNS") or DEFAULT_BASE)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Process:
    """A process the run started, to be stopped by pid."""

    node: str
    pid: int
    what: str


@dataclass
class RunState:
    run_id: str
    topology: str
    spec: str
    options: dict
    owner_pid: int
    status: str = STARTING
    purpose: str = ""                  # what holds the lab, e.g. "exercise"; "" for a plain lab
    created: float = field(default_factory=time.time)
    nodes: dict[str, int] = field(default_factory=dict)        # node -> shell pid
    roles: dict[str, str] = field(default_factory=dict)        # node -> host/router/switch
    bridges: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)        # interfaces in the root netns
    processes: list[Process] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "RunState":
        data = dict(data)
        data["processes"] = [Process(**p) for p in data.get("processes", [])]
        return cls(**data)

    @property
    def owner_alive(self) -> bool:
        return pid_alive(self.owner_pid)

    @property
    def live(self) -> bool:
        """Not yet brought down, and its owner still holding it."""
        return self.status != DOWN and self.owner_alive


class RunDir:
    """One run's directory and its state file."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def create(cls, topology: str, base: Path | None = None) -> "RunDir":
        base = base or runs_base()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = base / f"{topology}-{stamp}-{os.getpid()}"
        suffix = 0
        while path.exists():
            suffix += 1
            path = base / f"{topology}-{stamp}-{os.getpid()}.{suffix}"
        path.mkdir(parents=True, mode=0o755)
        return cls(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def state_file(self) -> Path:
        return self.path / "state.json"

    def node_dir(self, node: str) -> Path:
        path = self.path / "nodes" / node
        path.mkdir(parents=True, exist_ok=True)
        return path

    def subdir(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self, state: RunState) -> None:
        """Write atomically: a reader never sees half a state file."""
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2, sort_keys=True))
        os.replace(tmp, self.state_file)

    def load(self) -> RunState:
        return RunState.from_json(json.loads(self.state_file.read_text()))


def all_runs(base: Path | None = None) -> list[tuple[RunDir, RunState]]:
    """Every run directory under ``base`` with a readable state, oldest first."""
    base = base or runs_base()
    found = []
    if not base.is_dir():
        return found
    for path in sorted(base.iterdir()):
        run = RunDir(path)
        try:
            found.append((run, run.load()))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(found, key=lambda pair: pair[1].created)


def owner_of(run_id: str) -> int | None:
    """The owner pid a run id carries (``<topology>-<date>-<time>-<pid>[.n]``),
    so that marks of a run whose directory is elsewhere can still be judged."""
    tail = run_id.rsplit("-", 1)[-1].split(".")[0]
    return int(tail) if tail.isdigit() else None


def live_runs(base: Path | None = None) -> list[tuple[RunDir, RunState]]:
    return [(run, state) for run, state in all_runs(base) if state.live]
