"""The shipped scale topology and the --guests option: sizes that fit the
pool, switches of 100 ports in a chain, every guest a DHCP client of the
one server; a topology that takes no guests refuses them, before anything."""

from __future__ import annotations

import pytest

from orchestrator.cli import main
from orchestrator.errors import TopologyError
from orchestrator.model import Switch, TopologyOptions, registry
from orchestrator.model.validation import validate
from topologies import scale


@pytest.mark.parametrize("guests,switches", [(1, 1), (100, 1), (101, 2), (1000, 10)])
def test_guests_fill_switches_of_a_hundred_ports_in_a_chain(guests, switches):
    topo = registry.load("scale", TopologyOptions(guests=guests))
    validate(topo)
    assert len([n for n in topo.nodes if isinstance(n, Switch)]) == switches
    clients = [i for i in topo.interfaces() if i.dhcp is not None]
    assert len(clients) == guests and all(e.dhcp.server == "srv" for e in clients)
    chain = [link for link in topo.links
             if all(isinstance(topo.node(e.node), Switch) for e in link.ends)]
    assert len(chain) == switches - 1


def test_the_default_is_a_hundred_guests():
    assert len(registry.load("scale").hosts()) == 1 + scale.DEFAULT_GUESTS


def test_more_guests_than_the_pool_holds_are_refused():
    with pytest.raises(TopologyError, match="1 to 4081 guests"):
        registry.load("scale", TopologyOptions(guests=scale.POOL_SIZE + 1))


def test_a_topology_without_guests_refuses_them(capsys):
    with pytest.raises(TopologyError, match="enterprise takes no guests"):
        registry.load("enterprise", TopologyOptions(guests=3))
    assert main(["validate", "enterprise", "--guests", "3"]) == 2
    assert "takes no guests" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-4", "many"])
def test_guests_must_be_a_positive_number(value, capsys):
    with pytest.raises(SystemExit) as parsed:
        main(["validate", "scale", "--guests", value])
    assert parsed.value.code == 2
    assert "--guests" in capsys.readouterr().err
