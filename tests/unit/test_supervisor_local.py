"""The supervisor needs of a lab only NodeExec (run a program in a node,
record its pid): with one that runs programs here, its promises about
readiness, stalls, exits and tolerated unreadiness hold without a network.
Real short shell processes, no daemons mocked."""

from __future__ import annotations

import pytest

from orchestrator.errors import LabError
from orchestrator.processes.supervisor import NotReady, Supervisor
from orchestrator.runs.rundir import Process
from services.base import FileAppears, Launch, LogLine


class Here:
    """Runs programs on this machine, as the only node; records what it started."""

    def __init__(self):
        self.recorded: list[Process] = []

    def exec_argv(self, node: str, argv: list[str]) -> list[str]:
        return list(argv)

    def record(self, process: Process) -> None:
        self.recorded.append(process)


def launch(tmp_path, name: str, script: str, stage: int = 1, **extra) -> Launch:
    return Launch(name=name, node="here", argv=["sh", "-c", script],
                  log=str(tmp_path / f"{name}.log"), ready=LogLine(r"^ready"), stage=stage,
                  **extra)


@pytest.fixture
def supervisor():
    running = Supervisor(Here())
    yield running
    running.stop_all()


def test_started_processes_are_recorded_and_ready_by_their_log(supervisor, tmp_path):
    assert supervisor.start_all([launch(tmp_path, "fine", "echo ready; exec sleep 30")]) == []
    assert [(p.node, p.what) for p in supervisor.nodes.recorded] == [("here", "fine")]
    assert supervisor.running["fine"].ready_after is not None


def test_a_stall_is_not_ready_with_what_it_waited_for(supervisor, tmp_path):
    with pytest.raises(NotReady) as failure:
        supervisor.start_all([launch(tmp_path, "stalls", "echo starting; exec sleep 30",
                                     deadline=0.3)])
    assert failure.value.waiting_for == "waiting for a log line matching '^ready'"
    assert "starting" in failure.value.log_tail


def test_a_tolerated_stall_keeps_running_and_is_returned(supervisor, tmp_path):
    lease = tmp_path / "lease.json"
    client = launch(tmp_path, "client", "echo discover; exec sleep 30", stage=2,
                    deadline=0.3)
    client.ready = FileAppears(str(lease))
    late = supervisor.start_all([launch(tmp_path, "server", "echo ready; exec sleep 30"), client],
                                may_stay_unready=lambda launch: launch.name == "client")
    assert [n.launch.name for n in late] == ["client"]
    assert supervisor.running["client"].proc.poll() is None


def test_an_exit_is_never_tolerated(supervisor, tmp_path):
    with pytest.raises(LabError) as failure:
        supervisor.start_all([launch(tmp_path, "dies", "echo 'bad option'; exit 3")],
                             may_stay_unready=lambda launch: True)
    assert not isinstance(failure.value, NotReady)
    assert "dies exited with status 3 before it was ready" in str(failure.value)


def test_a_tolerated_stall_elsewhere_still_fails_the_start(supervisor, tmp_path):
    with pytest.raises(NotReady):
        supervisor.start_all([launch(tmp_path, "server", "exec sleep 30", deadline=0.3)],
                             may_stay_unready=lambda launch: launch.name == "client")


def test_a_stage_is_started_in_paces_each_deadline_from_its_own_start(supervisor, tmp_path,
                                                                       monkeypatch):
    """Five daemons that each take 0.2 s to be ready, two at a time, each with
    a 0.5 s deadline: all ready, though the stage takes longer than any one
    deadline, and never more than two were starting at once."""
    import orchestrator.processes.supervisor as module
    monkeypatch.setattr(module, "PACE", 2)
    stage = [launch(tmp_path, f"d{i}", "sleep 0.2; echo ready; exec sleep 30", deadline=0.5)
             for i in range(5)]
    assert supervisor.start_all(stage) == []
    runs = sorted(supervisor.running.values(), key=lambda r: r.started)
    for run in runs:
        overlapping = [r for r in runs if r.started <= run.started < r.started + r.ready_after]
        assert len(overlapping) <= 2, f"{run.launch.name}: {len(overlapping)} starting at once"
    assert runs[-1].started - runs[0].started > 0.3     # the last began after others were ready
