"""How the commands that hold a lab (up, exercise start, demo) end it: the
lab is torn down on a return, a crash, Ctrl-C and SIGTERM, and a user's
stop is not a failure.  The lab is a stand-in that records its bring-up
and tear-down (no root); the signals are real, sent to this process."""

from __future__ import annotations

import os
import signal

import pytest

from orchestrator.cli import holding
from orchestrator.lab import LabSettings
from orchestrator.model import registry


class Lab:
    """Comes up (or is interrupted coming up) and records what happened."""

    made: list["Lab"] = []
    interrupted_coming_up = False

    def __init__(self, topo, spec, settings):
        self.topo, self.settings = topo, settings
        self.events = []
        Lab.made.append(self)

    def start(self) -> "Lab":
        self.settings.progress("creating nodes")
        if self.interrupted_coming_up:
            self.events.append("torn down by its own start")
            raise KeyboardInterrupt
        self.events.append("up")
        return self

    def stop(self) -> None:
        self.events.append("torn down")


@pytest.fixture
def topo(monkeypatch):
    monkeypatch.setattr(holding, "Lab", Lab)
    Lab.made.clear()
    return registry.load("arp-lan")


def held(topo, use, stopped="stopped"):
    return holding.hold(topo, "arp-lan", LabSettings(), use, stopped=stopped)


def events():
    (lab,) = Lab.made
    return lab.events


def test_what_the_use_returns_after_the_tear_down(topo):
    assert held(topo, lambda lab: (lab.events.append("used"), 3)[1]) == 3
    assert events() == ["up", "used", "torn down"]


def interrupt(lab):
    raise KeyboardInterrupt


def terminate(lab):
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL   # else pytest dies
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()                         # the handler raises out of it, as in 'up'
    raise AssertionError("SIGTERM was not raised where the main thread is")


@pytest.mark.parametrize("use", [interrupt, terminate], ids=["Ctrl-C", "SIGTERM"])
def test_a_user_stop_tears_down_and_returns_stopped(topo, use):
    assert held(topo, use) == "stopped"
    assert events() == ["up", "torn down"]


def test_a_crash_is_raised_after_the_tear_down(topo):
    def crash(lab):
        raise RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        held(topo, crash)
    assert events() == ["up", "torn down"]


def test_ctrl_c_during_bring_up_is_a_stop_too(topo, monkeypatch):
    monkeypatch.setattr(Lab, "interrupted_coming_up", True)
    assert held(topo, lambda lab: "used") == "stopped"
    assert events() == ["torn down by its own start"]


def test_sigterm_is_ours_only_while_a_lab_is_held(topo):
    before = signal.getsignal(signal.SIGTERM)
    seen = []
    held(topo, lambda lab: seen.append(signal.getsignal(signal.SIGTERM)))
    assert seen != [before] and signal.getsignal(signal.SIGTERM) == before
