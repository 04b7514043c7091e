"""The schedule of an overlapped verify, with fake checks and fake work (no
lab): conflicting checks never overlap, the others do, the longest idle
waits start first, no more than AT_ONCE run, results come back in the
given order, and a crash in one check stops the others' waits and reaches
the caller."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from orchestrator.checks import runner
from orchestrator.checks.base import Check, CheckContext, CheckStopped
from orchestrator.checks.footprint import Footprint
from orchestrator.checks.runner import Schedule
from orchestrator.results.verify import CheckRecord

pytestmark = pytest.mark.timeout(30)

GUARD = 10.0   # seconds a fake check waits for its peers before the test is called hung


class Fake(Check):
    def __init__(self, name: str, idle_wait: float = 0.0):
        self.name = name
        self.idle_wait = idle_wait


def checks(*names: str, **idle: float) -> list[Fake]:
    return [Fake(n, idle.get(n, 0.0)) for n in names]


class Journal:
    """What the fake work saw, in the order it happened."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running: set[str] = set()
        self.most = 0
        self.changed = threading.Condition(self.lock)

    def enter(self, name: str) -> None:
        with self.lock:
            self.events.append(("start", name))
            self.running.add(name)
            self.most = max(self.most, len(self.running))
            self.changed.notify_all()

    def leave(self, name: str) -> None:
        with self.lock:
            self.events.append(("end", name))
            self.running.discard(name)
            self.changed.notify_all()

    def progress(self, message: str) -> None:
        """The schedule's own word, said before a check's thread starts."""
        with self.lock:
            self.events.append(("scheduled", message.removeprefix("check ")))

    def most_scheduled(self) -> int:
        """The most checks scheduled and not yet ended, at any point."""
        most = now = 0
        for what, _ in self.events:
            now += {"scheduled": 1, "end": -1}.get(what, 0)
            most = max(most, now)
        return most

    def scheduled(self) -> list[str]:
        with self.lock:
            return [n for what, n in self.events if what == "scheduled"]

    def starts(self) -> list[str]:
        return [n for what, n in self.events if what == "start"]

    def overlapped(self, a: str, b: str) -> bool:
        """Whether one started before the other ended."""
        at = {e: i for i, e in enumerate(self.events)}
        return at[("start", a)] < at[("end", b)] and at[("start", b)] < at[("end", a)]

    def wait_for(self, predicate) -> None:
        with self.lock:
            assert self.changed.wait_for(lambda: predicate(self), timeout=GUARD), self.events


def simple_work(journal: Journal, hold=None):
    """Work that records itself; ``hold``: name -> callable run while it is in."""
    def work(check, stop):
        journal.enter(check.name)
        try:
            if hold and check.name in hold:
                hold[check.name]()
        finally:
            journal.leave(check.name)
        return CheckRecord(check.name, passed=True, evidence=f"{check.name} done")
    return work


def run_in_thread(schedule: Schedule, work):
    box: dict = {}

    def target():
        try:
            box["results"] = schedule.run(work)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


FREE = Footprint.of   # checks on nodes of their own never conflict
RENEW = Footprint.of(changes={"xiaoli"}, uses={"gw2"})
PING_XIAOLI = Footprint.of(uses={"xiaoming", "xiaoli"})
DNS = Footprint.of(uses={"srv"})


# ---------------------------------------------------------------- conflicts

def test_conflicting_checks_never_overlap_and_the_others_do():
    journal = Journal()
    together = threading.Barrier(2, timeout=GUARD)   # renew and dns meet inside their work
    schedule = Schedule(checks("renew", "ping", "dns"),
                        {"renew": RENEW, "ping": PING_XIAOLI, "dns": DNS}, lambda m: None)
    assert not schedule._may_start(schedule.pending[1], {"renew"})
    assert schedule._may_start(schedule.pending[2], {"renew"})
    results = schedule.run(simple_work(journal, {"renew": together.wait,
                                                 "dns": together.wait}))
    assert [r.name for r in results] == ["renew", "ping", "dns"]
    assert journal.overlapped("renew", "dns")
    assert not journal.overlapped("renew", "ping")
    assert journal.events.index(("end", "renew")) < journal.events.index(("start", "ping"))


def test_a_check_without_footprint_runs_alone():
    journal = Journal()
    schedule = Schedule(checks("a", "l2-scope", "b"),
                        {"a": FREE(uses={"x"}), "l2-scope": None, "b": FREE(uses={"y"})},
                        lambda m: None)
    schedule.run(simple_work(journal))
    for other in ("a", "b"):
        assert not journal.overlapped("l2-scope", other)


def test_a_later_check_starts_while_an_earlier_one_waits_for_its_conflict():
    """Greedy: ``ping`` waits for ``renew``; ``dns``, later in the list,
    does not wait for ``ping``."""
    journal = Journal()
    release = threading.Event()
    schedule = Schedule(checks("renew", "ping", "dns"),
                        {"renew": RENEW, "ping": PING_XIAOLI, "dns": DNS}, lambda m: None)
    thread, box = run_in_thread(schedule, simple_work(journal, {
        "renew": lambda: release.wait(GUARD)}))
    journal.wait_for(lambda j: {"renew", "dns"} <= set(j.starts()))
    assert "ping" not in journal.starts()        # renew still holds xiaoli
    release.set()
    thread.join(GUARD)
    assert "error" not in box
    assert journal.starts()[-1] == "ping"


# ---------------------------------------------------------------- order

def test_longest_idle_waits_start_first_then_the_given_order():
    journal = Journal()
    progress: list[str] = []
    names = ("a", "b", "c", "d", "e")
    schedule = Schedule(checks(*names, c=30.0, e=10.0, b=10.0),
                        dict.fromkeys(names), progress.append)   # all alone: one at a time
    assert [c.name for c in schedule.pending] == ["c", "b", "e", "a", "d"]
    results = schedule.run(simple_work(journal))
    assert journal.starts() == ["c", "b", "e", "a", "d"]
    assert progress == [f"check {n}" for n in ("c", "b", "e", "a", "d")]
    assert journal.most == 1
    assert [r.name for r in results] == list(names)     # the given order, not the run's
    assert [r.evidence for r in results] == [f"{n} done" for n in names]
    started = {r.name: r.started for r in results}
    assert started["c"] <= started["b"] <= started["e"] <= started["a"] <= started["d"]


def test_results_come_back_in_the_given_order_whatever_ends_first():
    journal = Journal()
    second_done = threading.Event()
    schedule = Schedule(checks("slow", "fast"),
                        {"slow": FREE(uses={"x"}), "fast": FREE(uses={"y"})}, lambda m: None)

    def fast():
        second_done.set()

    results = schedule.run(simple_work(journal, {
        "slow": lambda: second_done.wait(GUARD), "fast": fast}))
    assert journal.events.index(("end", "fast")) < journal.events.index(("end", "slow"))
    assert [r.name for r in results] == ["slow", "fast"]


class WatchedQueue(queue.Queue):
    """The schedule's queue of finished checks, telling the test each time
    the schedule blocks on it: by then it has started all it may."""

    def __init__(self):
        super().__init__()
        self.waits = 0
        self.changed = threading.Condition()

    def get(self, *args, **kwargs):
        with self.changed:
            self.waits += 1
            self.changed.notify_all()
        return super().get(*args, **kwargs)

    def wait_for(self, waits: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.waits >= waits, timeout=GUARD)


def test_at_most_at_once(monkeypatch):
    monkeypatch.setattr(runner, "AT_ONCE", 2)
    watched = WatchedQueue()
    monkeypatch.setattr(runner, "queue", SimpleNamespace(Queue=lambda: watched,
                                                         Empty=queue.Empty))
    journal = Journal()
    names = [f"c{i}" for i in range(5)]
    release = {n: threading.Event() for n in names}
    schedule = Schedule(checks(*names), {n: FREE(uses={n}) for n in names}, journal.progress)
    thread, box = run_in_thread(schedule, simple_work(
        journal, {n: (lambda n=n: release[n].wait(GUARD)) for n in names}))
    watched.wait_for(1)
    assert journal.scheduled() == ["c0", "c1"]   # then it waits for one to end
    for waits, name in enumerate(names, start=2):   # end them one by one, in order
        journal.wait_for(lambda j, name=name: name in j.running)
        release[name].set()
        if waits <= len(names):
            watched.wait_for(waits)
            with journal.lock:
                assert journal.most_scheduled() <= 2, journal.events
    thread.join(GUARD)
    assert "error" not in box
    assert journal.starts() == journal.scheduled() == names
    assert journal.most == 2
    assert journal.most_scheduled() == 2        # a third was scheduled only after one ended
    assert [r.name for r in box["results"]] == names


def test_at_once_default_allows_several():
    journal = Journal()
    names = [f"c{i}" for i in range(runner.AT_ONCE)]
    everyone = threading.Barrier(len(names), timeout=GUARD)
    schedule = Schedule(checks(*names), {n: FREE(uses={n}) for n in names}, lambda m: None)
    schedule.run(simple_work(journal, dict.fromkeys(names, everyone.wait)))
    assert journal.most == runner.AT_ONCE


# ---------------------------------------------------------------- crashes

def test_a_crash_reaches_the_caller_and_stops_the_others():
    journal = Journal()
    saw_stop = threading.Event()
    waiting = threading.Event()

    def crash():
        waiting.wait(GUARD)          # the other check is waiting on its timer
        raise RuntimeError("bug in a check")

    def idle_wait(stop):
        def hold():
            waiting.set()
            if stop.wait(GUARD):
                saw_stop.set()
        return hold

    schedule = Schedule(checks("renew", "crashing", "after"),
                        {"renew": RENEW, "crashing": DNS, "after": None}, lambda m: None)
    work = simple_work(journal, {"renew": idle_wait(schedule.stop), "crashing": crash})
    with pytest.raises(RuntimeError, match="bug in a check"):
        schedule.run(work)
    assert schedule.stop.is_set()
    assert saw_stop.is_set()                        # its wait ended at the stop
    assert ("end", "renew") in journal.events       # and it was let finish
    assert "after" not in journal.starts()          # nothing starts after a crash


def test_work_gets_the_schedules_stop_event():
    seen = []

    def work(check, stop):
        seen.append(stop)
        return CheckRecord(check.name, passed=True)

    schedule = Schedule(checks("a"), {"a": None}, lambda m: None)
    schedule.run(work)
    assert seen == [schedule.stop]


def test_a_failed_check_is_a_result_not_a_crash():
    schedule = Schedule(checks("a", "b"), {"a": FREE(uses={"x"}), "b": FREE(uses={"y"})},
                        lambda m: None)
    results = schedule.run(lambda check, stop: CheckRecord(check.name, passed=check.name == "b",
                                                           failures=["no"] * (check.name == "a")))
    assert [(r.name, r.passed) for r in results] == [("a", False), ("b", True)]
    assert not schedule.stop.is_set()


# ---------------------------------------------------------------- waits

def test_wait_ends_at_once_when_verify_stops():
    stop = threading.Event()
    ctx = CheckContext(None, "renew", Path("unused"), stop)
    ctx.wait(0.0)
    assert ctx.protocol_wait == 0.0
    stop.set()
    with pytest.raises(CheckStopped, match="renew: stopped while waiting"):
        ctx.wait(3600.0)
    assert ctx.protocol_wait == 0.0             # the stopped wait is not counted


def test_wait_counts_protocol_time():
    ctx = CheckContext(None, "tcp-faults", Path("unused"))
    assert not ctx.stop.is_set()
    ctx.wait(0.0)
    ctx.wait(0.0)
    assert ctx.protocol_wait == 0.0 and ctx.errata == []
