"""The process that holds an exercise's lab: it answers the other shells'
``check``, ``solve``, ``reset`` and ``answer`` through :mod:`.control`.

It answers only once the lab is up and the exercise prepared, which takes a while; a
student's ``check`` in that time must hear that the exercise is still starting (and wait for
it), not that the lab is no exercise. The run says so from its first moment: its state's
``purpose`` is :data:`PURPOSE`, then its status is up, then the socket is there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from ..errors import FlowlabError
from ..results import grade as grades
from ..runs.rundir import STARTING, UP, RunDir, RunState
from .control import EXERCISE_DIR, SOCKET, STATE, ControlError, Server
from .session import Session

OPS = ("check", "solve", "reset", "answer", "status")
PURPOSE = "exercise"        # the purpose (LabSettings, RunState) of a lab held for an exercise
READY_WAIT = 300.0          # seconds a request waits for an exercise that is still starting
REPORT_EVERY = 10.0         # seconds between two reports of the same stage


class NotAnExercise(FlowlabError):
    exit_status = 2


class StillStarting(FlowlabError):
    """The exercise was not ready within the wait; 'exercise start' goes on."""


def exercise_dir(run_path: Path) -> Path:
    return Path(run_path) / EXERCISE_DIR


def starting_stage(run: RunDir, state: RunState) -> str | None:
    """What the exercise of ``run`` is still doing before it can answer (None: it answers).
    Refuses a plain lab, and an exercise whose holder is gone or tearing down."""
    if (exercise_dir(run.path) / SOCKET).exists():
        return None
    if state.purpose != PURPOSE:
        raise NotAnExercise(f"the lab that is up ({state.run_id}) is not an exercise: it was "
                            "not started with 'exercise start'")
    if not state.live:
        raise ControlError(f"'exercise start' of run {state.run_id} ended before the exercise "
                           "was ready: see what it printed")
    if state.status == STARTING:
        return "bringing the lab up"
    if state.status == UP:
        return "preparing the exercise"
    raise ControlError(f"the exercise of run {state.run_id} is being torn down")


def wait_ready(run: RunDir, progress: Callable[[str], None], timeout: float = READY_WAIT,
               poll: float = 0.2) -> Path:
    """The socket of the exercise of ``run`` once it answers, waiting up to ``timeout`` while
    it starts and reporting how long it has been starting."""
    began = time.monotonic()
    said, said_at = None, 0.0
    while True:
        state = run.load()
        stage = starting_stage(run, state)
        if stage is None:
            return exercise_dir(run.path) / SOCKET
        starting = f"{stage}, {time.time() - state.created:.0f} s since 'exercise start'"
        now = time.monotonic()
        if now - began >= timeout:
            raise StillStarting(f"the exercise of run {state.run_id} is still starting "
                                f"({starting}); ask again once 'exercise start' has printed "
                                "the symptom")
        if stage != said or now - said_at >= REPORT_EVERY:
            progress(f"the exercise is still starting: {starting}")
            said, said_at = stage, now
        time.sleep(poll)


def serve(session: Session) -> Server:
    """Write the exercise's state beside the lab and start answering."""
    session.directory.mkdir(parents=True, exist_ok=True)
    (session.directory / STATE).write_text(json.dumps(session.exercise.as_dict(), indent=2))

    def handle(request: dict, progress) -> dict:
        op = request.get("op")
        if op == "check":
            out, graded = session.check(request.get("out"), progress)
            return {"directory": str(out), "grade": grades.to_dict(graded)}
        if op == "solve":
            progress("applying the reference repair")
            session.solve()
            return {"done": "solved: the reference repair is applied"}
        if op == "reset":
            progress("back to the start of the exercise")
            undone = session.reset()
            return {"done": "reset: the lab is as at the start of the exercise"
                            + (f" (undone: {'; '.join(undone)})" if undone else ""),
                    "symptom": session.exercise.symptom, "undone": undone}
        if op == "answer":
            return session.answer(str(request.get("text", "")))
        if op == "status":
            return {"exercise": session.exercise.name, "student": session.exercise.student,
                    "symptom": session.exercise.symptom, "applied": session.applied,
                    "attempts": session.attempts}
        raise ControlError(f"unknown request {op!r}; known: {', '.join(OPS)}", 2)

    return Server(session.directory / SOCKET, handle).start()
