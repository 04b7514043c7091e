"""Exercise files: parsing, the refusals of ``exercise validate`` that need no
lab, the shipped examples, and a class's grades as CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from orchestrator.exercises import files, grades
from orchestrator.exercises.session import BREAKS, KEEPS
from orchestrator.model import registry

SHIPPED = sorted((Path(__file__).parents[2] / "exercises").glob("*.toml"))

GOOD = """
[exercise]
name = "wrong-gateway"
topology = "enterprise"

[[fault]]
name = "dhcp-wrong-router"
variant = "dhcp-wrong-router:srv:10.1.2.0/24:10.1.2.254"

[[check]]
name = "dhcp"
points = 3
hint = "Look at the ACK."

[[check]]
name = "l2-scope"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exercise.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    spec = files.parse(write(tmp_path, text))
    return files.problems(spec, registry.load(files.topology_of(spec, None)))


def test_a_good_file_gives_the_exercise_it_says(tmp_path):
    spec = files.parse(write(tmp_path, GOOD))
    topo = registry.load("enterprise")
    assert files.problems(spec, topo) == []
    exercise = files.exercise_from(spec, topo, "enterprise", "alice")
    assert [(d.check, d.points, d.role, d.hint) for d in exercise.deciders] == [
        ("dhcp", 3, BREAKS, "Look at the ACK."), ("l2-scope", 1, KEEPS, "")]
    assert exercise.variants[0].target["subnet"] == "10.1.2.0/24"
    assert exercise.symptom == "xiaoli cannot open http://www.baidu.com/"


def test_without_checks_the_faults_own_decide(tmp_path):
    spec = files.parse(write(tmp_path, '[exercise]\nname = "x"\n[[fault]]\nname = "nat-off"\n'))
    exercise = files.exercise_from(spec, registry.load("enterprise"), "enterprise", None)
    assert [(d.check, d.role) for d in exercise.deciders] == [
        ("reach", BREAKS), ("nat", BREAKS), ("l2-scope", KEEPS)]


def test_unfixed_faults_are_seeded_per_student(tmp_path):
    spec = files.parse(write(tmp_path, '[exercise]\nname = "x"\n'
                                       '[[fault]]\nname = "route-missing"\n'))
    topo = registry.load("enterprise")
    keys = {files.exercise_from(spec, topo, "enterprise", f"s{i}").variants[0].key
            for i in range(12)}
    assert len(keys) >= 4
    assert files.exercise_from(spec, topo, "enterprise", "s1").variants == \
        files.exercise_from(spec, topo, "enterprise", "s1").variants


@pytest.mark.parametrize("text, said", [
    ("not = [toml", "not TOML"),
    ("[[fault]]\nname = 'nat-off'\n", "no [exercise] table"),
    ("[exercise]\ntitle = 'x'\n[[fault]]\nname = 'nat-off'\n", "name is missing"),
    ("[exercise]\nname = 'x'\n", "no [[fault]]"),
    ("[exercise]\nname = 'x'\nlevel = 3\n[[fault]]\nname = 'nat-off'\n",
     "unknown key 'level'"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'nat'\n"
     "points = 0\n", "points 0 is not a positive whole number"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'nat'\n"
     "role = 'maybe'\n", "role 'maybe' is neither"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_why(tmp_path, text, said):
    with pytest.raises(files.ExerciseFileError, match=said.replace("[", r"\[")):
        files.parse(write(tmp_path, text))


@pytest.mark.parametrize("text, said", [
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'cable-cut'\n", "unknown fault 'cable-cut'"),
    ("[exercise]\nname = 'x'\ntopology = 'arp-lan'\n[[fault]]\nname = 'nat-off'\n",
     "nat-off does not apply to arp-lan"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\nvariant = 'nat-off:isp:isp-eth9'\n",
     "nat-off has no variant 'nat-off:isp:isp-eth9'"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'pingall'\n",
     "unknown check 'pingall'"),
    ("[exercise]\nname = 'x'\ntopology = 'arp-lan'\n[[fault]]\nname = 'duplicate-address'\n"
     "[[check]]\nname = 'dhcp'\n", "check dhcp does not apply to arp-lan"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'dhcp'\n",
     "fault nat-off breaks no check of the exercise"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'nat'\n"
     "[[check]]\nname = 'dns'\nrole = 'breaks'\n",
     "check dns is said to break, but no fault of the exercise breaks it"),
    ("[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n[[check]]\nname = 'nat'\n"
     "[[check]]\nname = 'nat'\n", "check nat is listed twice"),
    ("[exercise]\nname = 'x'\nchoices = ['nat-off', 'gremlins']\n[[fault]]\nname = 'nat-off'\n",
     "choices: unknown fault 'gremlins'"),
])
def test_validate_refuses_what_the_model_says_is_broken(tmp_path, text, said):
    found = problems_of(tmp_path, text)
    assert any(said in problem for problem in found), found
    spec = files.parse(write(tmp_path, text))
    with pytest.raises(files.ExerciseFileError, match="exercise.toml"):
        files.exercise_from(spec, registry.load(files.topology_of(spec, None)), "t", None)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_exercises_are_fit_for_a_class(path):
    spec = files.parse(path)
    assert files.problems(spec, registry.load(files.topology_of(spec, None))) == []


def test_there_are_shipped_examples():
    assert len(SHIPPED) >= 3


def grade_of(student: str, dhcp: bool, reason: str = "") -> dict:
    return {"exercise": "wrong-gateway", "topology": "enterprise", "student": student,
            "points": 1 + (3 if dhcp else 0), "max_points": 4, "solved": dhcp,
            "checked_at": "2026-11-28T13:00:00+0000", "symptom": "s", "seconds": 5.0,
            "checks": [{"check": "dhcp", "role": BREAKS, "passed": dhcp,
                        "points": 3 if dhcp else 0, "max_points": 3, "reason": reason,
                        "packets": [], "hint": "", "evidence": ""},
                       {"check": "l2-scope", "role": KEEPS, "passed": True, "points": 1,
                        "max_points": 1, "reason": "", "packets": [], "hint": "",
                        "evidence": "ok"}]}


def test_grades_csv_has_points_and_the_failing_packet_per_check(tmp_path):
    (tmp_path / "alice.json").write_text(json.dumps(grade_of("alice", True)))
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "grade.json").write_text(json.dumps(grade_of(
        "bob", False, "xiaoli: ACK with router 10.1.2.254, not 10.1.2.1")))
    (tmp_path / "bob" / "results.json").write_text("{}")       # beside a grade: not one
    rows = list(csv.reader(io.StringIO(grades.to_csv(tmp_path))))
    assert rows[0] == grades.FIXED + ["dhcp points", "dhcp failing packet",
                                      "l2-scope points", "l2-scope failing packet"]
    assert rows[1][:6] == ["alice", "wrong-gateway", "enterprise", "4", "4", "yes"]
    assert rows[1][8:] == ["3/3", "", "1/1", ""]
    assert rows[2][0] == "bob" and rows[2][7] == "bob/grade.json"
    assert rows[2][8:10] == ["0/3", "xiaoli: ACK with router 10.1.2.254, not 10.1.2.1"]


def test_grades_refuse_a_file_that_is_not_a_grade(tmp_path):
    (tmp_path / "alice.json").write_text(json.dumps(grade_of("alice", True)))
    (tmp_path / "notes.json").write_text('{"todo": 1}')
    with pytest.raises(grades.GradesError, match="notes.json: not a grade"):
        grades.to_csv(tmp_path)
    with pytest.raises(grades.GradesError, match="no grade"):
        grades.to_csv(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty"
    path.mkdir()
    return path


def test_live_problems_name_a_check_failing_without_the_fault():
    from orchestrator.results.grade import Grade, Verdict

    def graded(**passed):
        return Grade("x", "t", tuple(Verdict(c, BREAKS if c == "dhcp" else KEEPS, ok, int(ok), 1,
                                             "" if ok else f"{c} broke")
                                     for c, ok in passed.items()))
    assert files.live_problems(graded(dhcp=True, reach=True), graded(dhcp=False, reach=True),
                               graded(dhcp=True, reach=True)) == []
    found = files.live_problems(graded(dhcp=True, reach=False), graded(dhcp=True, reach=False),
                                graded(dhcp=False, reach=True))
    assert found == ["check reach fails without the fault: reach broke",
                     "the fault does not break check dhcp in the lab",
                     "check reach fails with the fault though it should pass: reach broke",
                     "check dhcp still fails after the reference repair: dhcp broke"]


# -- through the command line (no lab) --------------------------------------------------

def flowlab(*argv: str) -> int:
    from orchestrator.cli import main
    return main(list(argv))


def test_cli_list_shows_the_catalogue_and_where_it_applies(capsys):
    assert flowlab("exercise", "list", "arp-lan", "--format", "json") == 0
    rows = {r["fault"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["duplicate-address"]["applies"] and rows["duplicate-address"]["variants"] == 2
    assert not rows["nat-off"]["applies"] and "nat=True" in rows["nat-off"]["why_not"]


def test_cli_validate_refuses_a_fault_that_breaks_nothing(tmp_path, capsys):
    path = write(tmp_path, "[exercise]\nname = 'x'\n[[fault]]\nname = 'nat-off'\n"
                           "[[check]]\nname = 'dhcp'\n")
    assert flowlab("exercise", "validate", str(path), "--static") == 1
    assert "fault nat-off breaks no check of the exercise" in capsys.readouterr().err
    good = write(tmp_path, GOOD)
    assert flowlab("exercise", "validate", str(good), "--static", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_cli_start_refuses_an_unknown_fault_before_any_work(capsys):
    assert flowlab("exercise", "start", "gremlins", "--no-cli") == 2
    assert "unknown fault 'gremlins'" in capsys.readouterr().err


def test_cli_grades_writes_the_csv(tmp_path, capsys):
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "alice.json").write_text(json.dumps(grade_of("alice", True)))
    assert flowlab("exercise", "grades", str(tmp_path / "g"), "--out",
                   str(tmp_path / "class.csv")) == 0
    assert (tmp_path / "class.csv").read_text().splitlines()[1].startswith("alice,")
