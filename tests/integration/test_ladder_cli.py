"""``verify --ladder`` on a small lab (the router chain): after the table,
every check's capture is drawn as a ladder with arrows, fitting the width;
``ladder DIR --check NAME`` draws the same from the files left behind."""

from __future__ import annotations

import os
import re

import pytest

from orchestrator.results import verify as results

from .test_cli_lifecycle import flowlab

pytestmark = pytest.mark.root

CHAIN = "tests/topologies/chain.py"
ARROW = re.compile(r"^\*?\d+(,\d+)*\s+.*(-->|<--|==>|<==)")


def ladders(stdout: str) -> dict[str, list[str]]:
    """Each drawn ladder's lines, by the check named in its title."""
    found: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        title = re.match(r"^(\S+?)( \(capture \d+ of \d+\))?: /", line)
        if title:
            current = found.setdefault(title.group(1), [])
        elif current is not None:
            current.append(line)
    return found


def test_verify_ladder_draws_every_check(tmp_path, untouched_machine):
    out = tmp_path / "verify"
    env = dict(os.environ, COLUMNS="100")
    result = flowlab("verify", CHAIN, "--out", str(out), "--ladder", timeout=600, env=env)
    run = results.read(out)
    assert run.checks, result.stderr[-2000:]
    drawn = ladders(result.stdout)
    for check in run.checks:
        lines = drawn.get(check.name)
        assert lines, f"no ladder for {check.name}:\n{result.stdout[-3000:]}"
        assert any(ARROW.match(line) for line in lines), "\n".join(lines)
        assert all(len(line) <= 100 for line in lines)

    name = run.checks[0].name
    again = flowlab("ladder", str(out), "--check", name, "--topology", CHAIN, "--width", "80")
    assert again.returncode == 0, again.stderr
    lines = ladders(again.stdout)[name]
    assert any(ARROW.match(line) for line in lines)
    assert all(len(line) <= 80 for line in lines)
