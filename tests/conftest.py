"""Shared test set-up: a private runs directory.

Integration tests (marked ``root``) build real Mininet networks with real
Open vSwitch; they need root, and they start OVS themselves when it is not
running, so that the suite passes on a machine where nothing was started by
hand.  The ``root`` marker and its skip come from flowlab's own pytest
plugin (orchestrator/pytest_plugin.py), as they do in a user's suite.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_runs_dir(tmp_path_factory):
    """Every run of the suite writes under pytest's temporary directory, and
    the CLI subprocesses the tests start inherit it."""
    path = tmp_path_factory.mktemp("runs")
    previous = os.environ.get("FLOWLAB_RUNS")
    os.environ["FLOWLAB_RUNS"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("FLOWLAB_RUNS", None)
    else:
        os.environ["FLOWLAB_RUNS"] = previous
