"""Users' own checks: declared with ``@check`` in a topology file or in
``<stem>_checks.py`` beside it, found by ``verify`` without running anything."""

from __future__ import annotations

import textwrap

import pytest

from orchestrator.checks import check
from orchestrator.checks.base import Check
from orchestrator.checks.user import FunctionCheck, checks_in
from orchestrator.errors import TopologyError
from orchestrator.model import registry
from orchestrator.verify import choose

TOPOLOGY = '''
"""Two PCs on one switch, with a check of the user's own."""
from orchestrator.checks import check
from orchestrator.model import Topology


def build(options):
    topo = Topology("pair", "two PCs", options)
    lan = topo.switch("lan")
    for name, ip in (("pc1", "10.9.0.11/24"), ("pc2", "10.9.0.12/24")):
        topo.link(topo.host(name), lan, ip=ip)
    return topo


@check("pc1-pings-pc2", summary="pc1's echo is answered")
def pc1_pings_pc2(ctx):
    return "answered"
'''

BESIDE = '''
from orchestrator.checks import Check, check


@check
def arp_is_heard(ctx):
    """pc2 hears pc1's ARP."""
    return "heard"


@check("by-class")
class ByClass(Check):
    summary = "a Check subclass"

    def run(self, ctx):
        return "ran"
'''


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_checks_in_the_topology_file_and_beside_it_are_found(tmp_path):
    topo_file = write(tmp_path, "pair.py", TOPOLOGY)
    write(tmp_path, "pair_checks.py", BESIDE)
    found = registry.user_checks(str(topo_file))
    assert [c.name for c in found] == ["pc1-pings-pc2", "arp-is-heard", "by-class"]
    assert isinstance(found[0], FunctionCheck) and isinstance(found[2], Check)
    assert found[0].summary == "pc1's echo is answered"
    assert found[1].summary == "pc2 hears pc1's ARP."
    assert found[0].run(None) == "answered" and found[2].run(None) == "ran"
    topo = registry.load(str(topo_file))
    assert all(c.applies_to(topo) for c in found)
    assert [c.name for c in choose(str(topo_file), ["arp-is-heard"], topo)] == ["arp-is-heard"]


def test_loading_the_file_twice_runs_it_once(tmp_path):
    topo_file = write(tmp_path, "once.py", TOPOLOGY + "\nCOUNT = globals().get('COUNT', 0) + 1\n")
    registry.load(str(topo_file))
    module = registry.module_for(str(topo_file))
    registry.user_checks(str(topo_file))
    assert module.COUNT == 1


def test_shipped_topologies_declare_no_user_checks():
    assert registry.user_checks("enterprise") == []


def test_a_name_declared_twice_is_refused(tmp_path):
    topo_file = write(tmp_path, "twice.py", TOPOLOGY)
    write(tmp_path, "twice_checks.py", '''
from orchestrator.checks import check

@check("pc1-pings-pc2")
def again(ctx):
    return ""
''')
    with pytest.raises(TopologyError, match="pc1-pings-pc2.*declared twice"):
        registry.user_checks(str(topo_file))


def test_a_bad_check_name_is_refused():
    with pytest.raises(TopologyError, match="lower-case letters"):
        check("Not A Name")(lambda ctx: "")


def test_imported_checks_are_not_counted_twice(tmp_path):
    import types
    module = types.ModuleType("elsewhere")

    @check("mine")
    def mine(ctx):
        return ""

    module.mine = mine                       # imported from another module: not this one's
    assert checks_in(module) == []
