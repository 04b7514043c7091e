"""How long run directories are kept: the last N runs and every run of the
last D days, never a run that is up.

Each run keeps its configs, logs and pcaps under the runs directory so that
they can be read after the lab is gone; without a limit they pile up for
ever.  Pruning happens when a lab starts and on ``clean --runs``; both use
the same policy, set by ``FLOWLAB_KEEP_RUNS`` and ``FLOWLAB_KEEP_DAYS`` (or
``clean --runs --keep N --days D``).  Only directories that hold a readable
``state.json`` of a run that was brought down are ever removed: a run that
is up is never touched, nor one that crashed (``clean`` needs its record to
remove what it left), nor whatever else lives under the runs directory.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import FlowlabError
from .rundir import DOWN, RunDir, RunState, all_runs

KEEP_RUNS = 20
KEEP_DAYS = 7.0
DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    keep_runs: int = KEEP_RUNS
    keep_days: float = KEEP_DAYS

    @classmethod
    def from_environment(cls) -> "Policy":
        """The policy set by FLOWLAB_KEEP_RUNS / FLOWLAB_KEEP_DAYS, else the defaults."""
        return cls(_setting("FLOWLAB_KEEP_RUNS", int, KEEP_RUNS),
                   _setting("FLOWLAB_KEEP_DAYS", float, KEEP_DAYS)).checked()

    def checked(self) -> "Policy":
        if self.keep_runs < 0 or self.keep_days < 0:
            raise FlowlabError(f"run retention: keep {self.keep_runs} runs and {self.keep_days} "
                               "days: neither may be negative")
        return self


def _setting(name: str, kind, default):
    text = os.environ.get(name)
    if text in (None, ""):
        return default
    try:
        return kind(text)
    except ValueError:
        raise FlowlabError(f"{name}={text!r} is not a number") from None


@dataclass(frozen=True)
class RunEntry:
    """A run directory as listed: its state, size and whether it is kept."""

    run: RunDir
    state: RunState
    bytes: int

    @property
    def age_days(self) -> float:
        return (time.time() - self.state.created) / DAY


def size_of(path: Path) -> int:
    """Bytes of the files under ``path`` (not following links)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def listing(base: Path | None = None) -> list[RunEntry]:
    """Every run, oldest first, with its size."""
    return [RunEntry(run, state, size_of(run.path)) for run, state in all_runs(base)]


def to_prune(runs: list[tuple[RunDir, RunState]], policy: Policy,
             now: float | None = None) -> list[tuple[RunDir, RunState]]:
    """The runs the policy lets go: brought down, neither among the newest
    ``keep_runs`` nor created within ``keep_days``."""
    now = time.time() if now is None else now
    newest = sorted(runs, key=lambda pair: pair[1].created, reverse=True)
    kept = {id(run) for run, _ in newest[:policy.keep_runs]}
    return [(run, state) for run, state in newest
            if id(run) not in kept and state.status == DOWN
            and now - state.created > policy.keep_days * DAY]


def prune(policy: Policy, base: Path | None = None) -> list[str]:
    """Remove the run directories the policy lets go; returns their ids."""
    removed = []
    for run, _state in to_prune(all_runs(base), policy):
        shutil.rmtree(run.path, ignore_errors=True)
        removed.append(run.run_id)
    return removed
