"""Run retention: the last N runs and every run of the last D days are kept,
a run that is up or crashed never goes, and nothing but run directories is
ever removed."""

from __future__ import annotations

import json
import os
import time

import pytest

from orchestrator.cli import main
from orchestrator.errors import FlowlabError
from orchestrator.runs import retention
from orchestrator.runs.rundir import DOWN, UP, RunDir, RunState

DAY = retention.DAY


def make_run(base, name: str, age_days: float, status: str = DOWN, owner: int | None = None,
             payload: int = 0) -> RunDir:
    run = RunDir(base / name)
    run.path.mkdir(parents=True)
    run.save(RunState(run_id=name, topology="t", spec="t", options={},
                      owner_pid=owner if owner is not None else 999_999_999, status=status,
                      created=time.time() - age_days * DAY))
    if payload:
        (run.path / "pcaps").mkdir()
        (run.path / "pcaps" / "x.pcap").write_bytes(b"\0" * payload)
    return run


@pytest.fixture
def runs(tmp_path):
    base = tmp_path / "runs"
    for n, age in enumerate([30, 20, 10, 5, 1, 0.1]):
        make_run(base, f"old{n}", age)
    make_run(base, "up-long-ago", 40, status=UP, owner=os.getpid())     # a lab that is up
    make_run(base, "crashed", 50, status=UP)                            # owner gone, not down
    (base / "notes").mkdir()                                            # not a run
    (base / "notes" / "mine.txt").write_text("keep me")
    return base


def names(base) -> set[str]:
    return {p.name for p in base.iterdir()}


def test_the_last_runs_and_the_recent_days_are_kept(runs):
    removed = retention.prune(retention.Policy(keep_runs=2, keep_days=7), runs)
    assert sorted(removed) == ["old0", "old1", "old2"]
    assert names(runs) == {"old3", "old4", "old5", "up-long-ago", "crashed", "notes"}


def test_keeping_the_last_n_keeps_old_runs_too(runs):
    removed = retention.prune(retention.Policy(keep_runs=5, keep_days=0), runs)
    assert removed == ["old0"]            # the newest five: old5, old4, old3, old2, old1


def test_a_run_that_is_up_or_crashed_is_never_removed(runs):
    retention.prune(retention.Policy(keep_runs=0, keep_days=0), runs)
    assert names(runs) == {"up-long-ago", "crashed", "notes"}
    assert (runs / "notes" / "mine.txt").read_text() == "keep me"


def test_the_policy_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLOWLAB_KEEP_RUNS", "3")
    monkeypatch.setenv("FLOWLAB_KEEP_DAYS", "0.5")
    assert retention.Policy.from_environment() == retention.Policy(3, 0.5)
    monkeypatch.setenv("FLOWLAB_KEEP_RUNS", "many")
    with pytest.raises(FlowlabError, match="FLOWLAB_KEEP_RUNS='many' is not a number"):
        retention.Policy.from_environment()
    monkeypatch.setenv("FLOWLAB_KEEP_RUNS", "-1")
    with pytest.raises(FlowlabError, match="neither may be negative"):
        retention.Policy.from_environment()


def test_the_listing_gives_each_runs_size(tmp_path):
    make_run(tmp_path, "big", 1, payload=5000)
    [entry] = retention.listing(tmp_path)
    assert entry.bytes >= 5000 and 0.9 < entry.age_days < 1.1


@pytest.mark.root
def test_clean_runs_prunes_and_down_list_all_shows_sizes(runs, monkeypatch, capsys):
    monkeypatch.setenv("FLOWLAB_RUNS", str(runs))
    assert main(["clean", "--runs", "--keep", "1", "--days", "2", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "crashed" in report["runs"]          # cleaned first: then it is down, and old
    assert sorted(report["pruned"]) == ["crashed", "old0", "old1", "old2", "old3"]
    assert main(["down", "--list", "--all", "--format", "json"]) == 0
    listed = {r["run"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"old4", "old5", "up-long-ago"}
    assert listed["up-long-ago"]["up"] and all(r["bytes"] > 0 for r in listed.values())
    assert main(["down", "--list", "--format", "json"]) == 0
    assert [r["run"] for r in json.loads(capsys.readouterr().out)] == ["up-long-ago"]
