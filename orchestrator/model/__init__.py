"""The topology model: what an emulated network is, free of Mininet.

The builder (:mod:`.topology`) is what topology files use
(``from orchestrator.model import Topology, Dhcp``); beside it, what is
derived from a model before anything runs: its broadcast domains and
subnets (:mod:`.domains`), the paths packets should take (:mod:`.paths`),
its DHCP pools (:mod:`.pools`), whole-model validation (:mod:`.validation`),
and the registry that turns a name or a file into a model (:mod:`.registry`).
"""

from ..errors import TopologyError
from .topology import (
                       CONTROLLER_KINDS,
                       DHCP_CLIENTS,
                       HOST,
                       ROUTER,
                       SWITCH,
                       ControllerRequest,
                       Dhcp,
                       Host,
                       Interface,
                       Link,
                       Node,
                       Port,
                       Route,
                       Router,
                       Service,
                       Subnet,
                       Switch,
                       Topology,
                       TopologyOptions,
                       Vlan,
                       parse_address,
                       parse_interface,
                       parse_mac,
                       parse_network,
                       service,
)

__all__ = ["CONTROLLER_KINDS", "DHCP_CLIENTS", "HOST", "ROUTER", "SWITCH", "ControllerRequest",
           "Dhcp", "Host", "Interface", "Link", "Node", "Port", "Route", "Router", "Service",
           "Subnet", "Switch", "Topology", "TopologyError", "TopologyOptions", "Vlan",
           "parse_address", "parse_interface", "parse_mac", "parse_network", "service"]
