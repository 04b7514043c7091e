"""The supervisor's promises, with real processes in a real lab: a daemon
that dies at start is reported with the end of its log, one that never
gets ready is stopped at its deadline, a refused config stops everything
before it starts, and whatever it started is gone after teardown."""

from __future__ import annotations

import pytest

from orchestrator.errors import LabError, MissingBinary
from orchestrator.lab import Lab, LabSettings
from orchestrator.model import registry
from orchestrator.processes.supervisor import Supervisor
from services.base import Launch, LogLine

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def lab(untouched_machine_module):
    with Lab(registry.load("arp-lan"), settings=LabSettings(services=False)) as running:
        yield running


def launch(lab, name: str, script: str, **extra) -> Launch:
    log = lab.run.path / f"{name}.log"
    return Launch(name=f"{name}@A", node="A", argv=["sh", "-c", script], log=str(log),
                  ready=LogLine(r"^ready"), stage=1, **extra)


def test_a_daemon_that_dies_at_start_shows_its_last_log_lines(lab):
    with pytest.raises(LabError) as failure:
        Supervisor(lab).start_all([launch(lab, "dies", "echo 'bad option --frob'; exit 3")])
    message = str(failure.value)
    assert "dies@A exited with status 3 before it was ready" in message
    assert "bad option --frob" in message


def test_a_daemon_that_never_gets_ready_is_reported_at_its_deadline(lab):
    supervisor = Supervisor(lab)
    with pytest.raises(LabError) as failure:
        supervisor.start_all([launch(lab, "stalls", "echo starting; sleep 30", deadline=0.5)])
    assert "stalls@A was not ready within" in str(failure.value)
    assert "waiting for a log line matching '^ready'" in str(failure.value)
    supervisor.stop_all()


def test_a_refused_config_stops_the_bring_up_before_anything_starts(lab):
    refused = launch(lab, "refused", "echo ready; sleep 30", check=["sh", "-c", "echo 'line 3: "
                                                                    "syntax error'; exit 1"])
    supervisor = Supervisor(lab)
    with pytest.raises(LabError) as failure:
        supervisor.start_all([refused])
    assert "its configuration was refused" in str(failure.value)
    assert "line 3: syntax error" in str(failure.value)
    assert supervisor.running == {}


def test_a_missing_binary_names_its_debian_package(lab):
    with pytest.raises(MissingBinary) as failure:
        Supervisor(lab).start_all([launch(lab, "absent", "true", binary="dhcpd-not-installed")])
    assert "'dhcpd-not-installed' is not installed" in str(failure.value)


def test_a_ready_daemon_runs_until_stopped_by_pid(lab):
    supervisor = Supervisor(lab)
    supervisor.start_all([launch(lab, "fine", "echo ready; exec sleep 30")])
    proc = supervisor.running["fine@A"].proc
    assert proc.poll() is None
    supervisor.stop_all()
    assert proc.poll() is not None
