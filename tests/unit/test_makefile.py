"""Every Makefile target parses: ``make -n TARGET`` prints its recipe and runs nothing.

A recipe once got pasted into the middle of another one (``clean``); every make call then
warned "overriding recipe" and ``make clean`` failed with "No rule to make target 'no'". Asking
make itself, for each target the Makefile names, catches any such splice before it lands.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKEFILE = REPO / "Makefile"
RULE = re.compile(r"^([A-Za-z0-9][\w.-]*(?:[ \t]+[A-Za-z0-9][\w.-]*)*)[ \t]*:(?![:=])", re.M)
PHONY = re.compile(r"^\.PHONY[ \t]*:(.*)$", re.M)

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")


def rule_targets(text: str) -> set[str]:
    """The targets of every rule line (recipe lines start with a tab and never match)."""
    return {name for match in RULE.finditer(text) for name in match.group(1).split()}


def phony_targets(text: str) -> set[str]:
    return {name for match in PHONY.finditer(text) for name in match.group(1).split()}


def dry_run(*targets: str) -> subprocess.CompletedProcess:
    """``make -n`` in the repository, outside any make that may be running this suite."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-n", *targets], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=30, check=False)


TEXT = MAKEFILE.read_text()
TARGETS = sorted(rule_targets(TEXT) | phony_targets(TEXT))


def test_the_makefile_names_its_targets():
    """The parse below found the targets the README documents (so the loop is not empty)."""
    assert {"help", "setup", "demo", "unit", "bench", "clean", "verify-runs"} <= set(TARGETS)


def test_every_phony_target_has_a_rule():
    """A .PHONY name without a rule is a typo: make would answer "Nothing to be done"."""
    assert phony_targets(TEXT) - rule_targets(TEXT) == set()


@pytest.mark.parametrize("target", ["", *TARGETS], ids=["(default)", *TARGETS])
def test_target_parses_without_warning(target):
    result = dry_run(*([target] if target else []))
    assert result.returncode == 0, f"make -n {target}: exit {result.returncode}: {result.stderr}"
    assert result.stderr == "", f"make -n {target} warned: {result.stderr}"
