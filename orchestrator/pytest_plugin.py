"""flowlab's pytest plugin: a lab per test module, captures named after tests.

Installed with the project (entry point ``pytest11``), so a user's own suite
gets it without a conftest::

    import pytest
    from orchestrator.packets import dhcp, expect

    pytestmark = [pytest.mark.root,
                  pytest.mark.flowlab(topology="enterprise", vlans=False, dhcp_server="isc")]

    def test_two_offers(flowlab_lab, flowlab_capture):
        with flowlab_capture([("xiaoming", "xiaoming-eth0")], "udp port 67 or udp port 68") as cap:
            flowlab_lab.restart_dhcp_client("xiaoming")
        expect(cap["xiaoming-eth0"]).count(dhcp(type="OFFER"), at_least=2)

    def test_a_documented_flow(flowlab_check):
        assert flowlab_check("arp-same-subnet").passed

- ``@pytest.mark.root``: the test needs root (network namespaces, OVS); it is
  skipped, with that reason, when the suite does not run as root.
- ``@pytest.mark.flowlab(topology=..., vlans=True, dhcp_server=None)`` on a
  module (or class) chooses the lab ``flowlab_lab`` brings up once for it.
- ``flowlab_capture(points, bpf)``: a context manager capturing on (node,
  interface) points; its pcaps go to a directory named after the test.
- ``flowlab_check(name)``: runs one check of FLOWS.md in the module's lab, as
  ``verify`` does (its pcaps, results.json and report.html in a directory
  named after the test), and returns its
  :class:`~orchestrator.results.verify.CheckRecord`.
- Mininet's own DeprecationWarnings (distutils version classes) are filtered;
  the suite's own warnings are not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT_REASON = "needs root: builds network namespaces and OVS bridges"
# Mininet 2.3.0 compares OVS versions with distutils' StrictVersion: 36 DeprecationWarnings per
# lab that are none of the user's business. Only Mininet's own modules: a user's stay visible.
MININET_WARNINGS = r"ignore::DeprecationWarning:mininet(\..*)?"


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", MININET_WARNINGS)
    config.addinivalue_line("markers", f"root: {ROOT_REASON}")
    config.addinivalue_line("markers", "flowlab(topology, vlans=True, dhcp_server=None): the lab "
                            "the module's flowlab_lab fixture brings up")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason=ROOT_REASON)
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def _lab_options(request) -> dict:
    marker = request.node.get_closest_marker("flowlab")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: flowlab_lab needs "
                                "@pytest.mark.flowlab(topology=...) on the module or class")
    options = dict(marker.kwargs)
    if marker.args:
        options.setdefault("topology", marker.args[0])
    return options


@pytest.fixture(scope="module")
def flowlab_lab(request):
    """The lab of this module, up with its daemons for all of its tests."""
    from orchestrator.lab import Lab
    from orchestrator.model import TopologyOptions, registry
    options = _lab_options(request)
    topo = registry.load(options["topology"],
                         TopologyOptions(vlans=options.get("vlans", True),
                                         dhcp_server=options.get("dhcp_server")))
    with Lab(topo) as lab:
        yield lab


def _test_dir(request, lab) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    return lab.run.path / "tests" / name


@pytest.fixture
def flowlab_capture(request, flowlab_lab):
    """``with flowlab_capture(points, bpf) as cap:`` -> ``cap[point]`` packets."""
    from orchestrator.checks.base import CheckContext
    ctx = CheckContext(flowlab_lab, request.node.name, _test_dir(request, flowlab_lab))
    return ctx.capture


@pytest.fixture
def flowlab_check(request, flowlab_lab):
    """Run a check by name in the module's lab, through verify's pipeline."""
    from orchestrator.verify import choose, verify

    def run(name: str):
        checks = choose(flowlab_lab.spec, [name], flowlab_lab.topo)
        return verify(flowlab_lab, checks, _test_dir(request, flowlab_lab)).check(name)
    return run
