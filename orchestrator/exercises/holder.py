"""The process that holds an exercise's lab: it answers the other shells'
``check``, ``solve``, ``reset`` and ``answer`` through :mod:`.control`."""

from __future__ import annotations

import json
from pathlib import Path

from ..results import grade as grades
from .control import EXERCISE_DIR, SOCKET, STATE, ControlError, Server
from .session import Session

OPS = ("check", "solve", "reset", "answer", "status")


def exercise_dir(run_path: Path) -> Path:
    return Path(run_path) / EXERCISE_DIR


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
