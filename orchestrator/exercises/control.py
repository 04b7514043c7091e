"""How ``exercise check/solve/reset/answer`` reach the lab that ``exercise
start`` holds, from another shell.

The lab's daemons are children of the holding process and its supervisor
knows them by their Popen objects, so restarting a DHCP client or a relay
can only be done there.  The holder therefore serves requests on a Unix
socket in the run directory (``exercise/control.sock``, root only, as the
lab is), one at a time: a request is one JSON line (``{"op": "check",
"out": "/dir"}``); the answer is JSON lines of progress
(``{"progress": "check dhcp"}``) and one last line, ``{"result": ...}`` or
``{"error": "...", "status": 1}``.  The command in the other shell finds
the run as ``exec`` and ``down`` do (:func:`~orchestrator.cli.common.find_live_run`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import traceback
from pathlib import Path
from typing import Callable

from ..errors import FlowlabError
from ..processes.pipes import read_until

SOCKET = "control.sock"
EXERCISE_DIR = "exercise"
STATE = "exercise.json"


class ControlError(FlowlabError):
    """The holder refused or failed a request; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.exit_status = status


Handler = Callable[[dict, Callable[[str], None]], dict]


class Server:
    """Serve requests on ``path`` in a thread; ``handle(request, progress)``
    returns the result or raises (a FlowlabError's message goes back as
    is, anything else with its traceback)."""

    def __init__(self, path: Path, handle: Handler):
        self.path = Path(path)
        self.handle = handle
        self.lock = threading.Lock()         # one request at a time
        if self.path.exists():
            self.path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, name="exercise-control",
                                       daemon=True)
        self._closed = False

    def start(self) -> "Server":
        self.thread.start()
        return self

    def close(self) -> None:
        self._closed = True
        try:
            self.sock.close()
        finally:
            if self.path.exists():
                self.path.unlink()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, self.lock:
                self._one(conn)

    def _one(self, conn: socket.socket) -> None:
        stream = conn.makefile("rw", encoding="utf-8")

        def send(message: dict) -> None:
            try:
                stream.write(json.dumps(message, default=str) + "\n")
                stream.flush()
            except OSError:
                pass                          # the asker left; the work goes on

        try:
            request = json.loads(stream.readline() or "{}")
            send({"result": self.handle(request, lambda text: send({"progress": text}))})
        except FlowlabError as exc:
            send({"error": str(exc), "status": getattr(exc, "exit_status", 1)})
        except Exception:                     # a bug is reported, the lab stays up
            send({"error": traceback.format_exc(), "status": 1})


def request(path: Path, message: dict, progress: Callable[[str], None]) -> dict:
    """Send one request to the holder and return its result; its progress
    lines go to ``progress``; an error raises ControlError."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        raise ControlError(f"the exercise's holder does not answer on {path} ({exc}): is "
                           "'exercise start' still running?") from None
    with sock, sock.makefile("rw", encoding="utf-8") as stream:
        stream.write(json.dumps(message) + "\n")
        stream.flush()
        for line in stream:
            answer = json.loads(line)
            if "progress" in answer:
                progress(answer["progress"])
            elif "result" in answer:
                return answer["result"]
            elif "error" in answer:
                raise ControlError(answer["error"], int(answer.get("status", 1)))
    raise ControlError("the exercise's holder closed the connection without an answer "
                       "(did it stop?)")


def wait_started(proc: subprocess.Popen, timeout: float) -> dict:
    """What ``exercise start --format json`` (``proc``, its stdout a pipe)
    prints once the exercise is ready, read as it comes: the process goes
    on holding the lab, so its output never ends.  ControlError when it
    printed no whole JSON document by ``timeout`` or ended first."""
    shown, seen = read_until(proc, proc.stdout, _document, timeout)
    if shown is not None:
        return shown
    ended = proc.poll() is not None
    said = proc.stderr.read() if ended and proc.stderr else b""
    raise ControlError(f"exercise start printed no exercise within {timeout:.0f} s "
                       f"({'it ended' if ended else 'it still runs'}): {seen!r} {said!r}")


def _document(seen: bytes) -> dict | None:
    """``seen`` as a JSON document, once it is a whole one."""
    try:
        return json.loads(seen)
    except ValueError:
        return None
