"""A topology that declares its controller: the command line takes it when
its own flags are not given, and its flags still win; a bad declaration is
refused where it is made, naming the field."""

from __future__ import annotations

import argparse

import pytest

from orchestrator.cli import parser
from orchestrator.cli.common import controller_settings
from orchestrator.controller.launcher import ControllerChoiceError
from orchestrator.errors import TopologyError
from orchestrator.model import Topology


def declared(*apps: str) -> Topology:
    topo = Topology("sdn", "a lab that runs under a controller")
    topo.controller(apps=apps or ("l2",))
    return topo


def args_of(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["verify", "sdn", *argv])


def test_without_flags_the_topologys_controller_is_used():
    chosen = controller_settings(args_of(), declared("dhcp-guard"))
    assert chosen is not None and chosen.kind == "os-ken" and chosen.apps == ("dhcp-guard",)


def test_without_flags_or_declaration_there_is_none():
    assert controller_settings(args_of(), Topology("plain")) is None
    assert controller_settings(args_of()) is None


def test_the_command_line_wins():
    assert controller_settings(args_of("--controller", "none"), declared()) is None
    chosen = controller_settings(args_of("--controller-app", "dhcp-guard"), declared("l2"))
    assert chosen.apps == ("dhcp-guard",)
    chosen = controller_settings(args_of("--controller", "os-ken"), declared("dhcp-guard"))
    assert chosen.apps == ("dhcp-guard",)  # the same controller: the declared apps


def test_a_declared_app_that_does_not_exist_is_refused_before_any_work():
    with pytest.raises(ControllerChoiceError, match="no-such-app"):
        controller_settings(args_of(), declared("no-such-app"))


@pytest.mark.parametrize("kind,apps,field", [("ryu", ("l2",), "controller"),
                                             ("os-ken", (), "controller.apps"),
                                             ("os-ken", ("",), "controller.apps")])
def test_a_bad_declaration_is_refused_naming_the_field(kind, apps, field):
    with pytest.raises(TopologyError) as refused:
        Topology("sdn").controller(kind, apps)
    assert refused.value.field == field
