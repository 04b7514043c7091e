"""Shared test set-up: the ``root`` marker and a private runs directory.

Integration tests (marked ``root``) build real Mininet networks with real
Open vSwitch; they need root, and they start OVS themselves when it is not
running, so that the suite passes on a machine where nothing was started by
hand.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: builds network namespaces and OVS bridges")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


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
