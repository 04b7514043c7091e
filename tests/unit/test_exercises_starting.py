"""``exercise check`` (solve, answer, reset) while ``exercise start`` is still starting.

The holder answers only once the lab is up and the exercise prepared; before that a student's
request must hear that the exercise is still starting and wait for it, never that the lab "is
not an exercise". Decided here over a run directory written as a lab writes it, no lab.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from orchestrator.exercises import control
from orchestrator.exercises.holder import (
    PURPOSE,
    NotAnExercise,
    StillStarting,
    exercise_dir,
    wait_ready,
)
from orchestrator.runs.rundir import DOWN, UP, RunDir, RunState


def a_run(tmp_path, purpose: str = PURPOSE, owner_pid: int | None = None) -> RunDir:
    """A run directory as a lab writes it; its name short, as a socket's path may not pass
    108 bytes and pytest's temporary directory is already long."""
    run = RunDir(tmp_path / "chain-1")
    run.path.mkdir()
    run.save(RunState(run_id=run.run_id, topology="chain", spec="chain", options={},
                      owner_pid=owner_pid or os.getpid(), purpose=purpose))
    return run


def becomes(run: RunDir, status: str) -> None:
    state = run.load()
    state.status = status
    run.save(state)


def test_a_plain_lab_is_no_exercise_at_once(tmp_path):
    run = a_run(tmp_path, purpose="")
    with pytest.raises(NotAnExercise, match=r"\(chain-1\) is not an exercise"):
        wait_ready(run, print, timeout=60)


def test_an_exercise_bringing_its_lab_up_says_so_and_how_long(tmp_path):
    run = a_run(tmp_path)
    said = []
    with pytest.raises(StillStarting, match="still starting") as late:
        wait_ready(run, said.append, timeout=0.3, poll=0.02)
    assert "bringing the lab up" in str(late.value) and "s since 'exercise start'" in str(
        late.value)
    assert "is not an exercise" not in str(late.value)
    assert said == [said[0]] and said[0].startswith(
        "the exercise is still starting: bringing the lab up, 0 s since")


def test_a_request_waits_through_bring_up_and_preparation_then_is_answered(tmp_path):
    run = a_run(tmp_path)
    sock = exercise_dir(run.path) / control.SOCKET
    sock.parent.mkdir()
    holder = {}

    def start_exercise():
        time.sleep(0.2)
        becomes(run, UP)
        time.sleep(0.2)
        try:
            holder["server"] = control.Server(
                sock, lambda request, _progress: {"op": request["op"]}).start()
        except OSError as exc:            # said by the test, not left to a timeout
            holder["failed"] = exc
            becomes(run, DOWN)

    starting = threading.Thread(target=start_exercise)
    said = []
    starting.start()
    try:
        assert wait_ready(run, said.append, timeout=30, poll=0.02) == sock
        assert control.request(sock, {"op": "check"}, print) == {"op": "check"}
    finally:
        starting.join()
        assert "failed" not in holder, f"the holder could not serve: {holder.get('failed')}"
        holder["server"].close()
    stages = [line.split(": ", 1)[1].split(",")[0] for line in said]
    assert stages == ["bringing the lab up", "preparing the exercise"]


def test_an_exercise_whose_holder_ended_while_starting_is_said_so(tmp_path):
    ended = subprocess.Popen(["true"])
    ended.wait()
    run = a_run(tmp_path, owner_pid=ended.pid)
    with pytest.raises(control.ControlError, match="ended before the exercise was ready"):
        wait_ready(run, print, timeout=60)
