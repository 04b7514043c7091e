"""The topology model: what an emulated network is, free of Mininet.

A topology file describes nodes, links and services with the builder methods
of :class:`Topology`; :mod:`orchestrator.model.validation` checks the whole model,
and only then does :mod:`orchestrator.network.netbuild` create anything.  Keeping the
model plain data (as Mininet's ``Topo`` is) lets ``validate`` run without
root, lets tests build models by the hundred, and keeps the order of work
one-way: model -> configs -> processes -> captures -> report.

Values given as strings are parsed at once; a value that does not parse
raises :class:`TopologyError` naming the node and the field, so the user's
mistake is reported at the line that made it.  Everything that needs the
whole model (duplicates, subnets, reachability) is left to validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address, ip_interface, ip_network
from typing import Any, Iterator, Mapping, Sequence

from ..errors import TopologyError

HOST = "host"
ROUTER = "router"
SWITCH = "switch"

DHCP_CLIENTS = ("dhclient", "udhcpc")


# -- parsing helpers: every one names the node and field it parses for --------

def _parse(kind, value, node: str | None, fieldname: str, what: str):
    if value is None:
        return None
    try:
        parsed = kind(value)
    except (ValueError, TypeError) as exc:
        raise TopologyError(node, fieldname, f"{value!r} is not {what} ({exc})") from None
    if parsed.version != 4:
        raise TopologyError(node, fieldname, f"{value!r} is not IPv4")
    return parsed


def parse_address(value, node, fieldname) -> IPv4Address | None:
    return _parse(ip_address, value, node, fieldname, "an IPv4 address")


def parse_interface(value, node, fieldname) -> IPv4Interface | None:
    if value is not None and "/" not in str(value):
        raise TopologyError(node, fieldname,
                            f"{value!r} has no prefix length: write it as address/prefix")
    return _parse(ip_interface, value, node, fieldname, "an IPv4 address/prefix")


def parse_network(value, node, fieldname) -> IPv4Network | None:
    if value == "default":
        value = "0.0.0.0/0"
    if value is None:
        return None
    try:
        return ip_network(value, strict=True)
    except ValueError as exc:
        raise TopologyError(node, fieldname, f"{value!r} is not an IPv4 network ({exc})") from None


def parse_mac(value, node, fieldname) -> str | None:
    if value is None:
        return None
    text = str(value).lower()
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p)
                                  for p in parts):
        raise TopologyError(node, fieldname, f"{value!r} is not a MAC address like 0a:11:22:33:44:01")
    if int(parts[0], 16) & 1:
        raise TopologyError(node, fieldname, f"{value!r} is a multicast MAC address")
    return text


def _check_renew_time(lease: "Dhcp", node: str, ifname: str) -> None:
    """A T1 is given per reservation (the server knows the client by its
    MAC), in whole seconds."""
    if lease.renew_time is None:
        return
    field_name = f"{ifname}: dhcp.renew_time"
    if isinstance(lease.renew_time, bool) or not isinstance(lease.renew_time, int) \
            or lease.renew_time <= 0:
        raise TopologyError(node, field_name,
                            f"{lease.renew_time!r} is not a positive number of seconds")
    if lease.reserve is None:
        raise TopologyError(node, field_name, "a renewal time is given per reservation: "
                                              "set dhcp.reserve too")


# -- the pieces of a network --------------------------------------------------

@dataclass(frozen=True)
class Subnet:
    """An IPv4 subnet with what DHCP hands out on it.

    ``gateway``, ``dns`` and ``lease_time`` are what a DHCP server offers
    (router, DNS server and lease options); ``pool`` is its dynamic range,
    beside the reservations that hosts declare.
    """

    network: IPv4Network
    gateway: IPv4Address | None = None
    pool: tuple[IPv4Address, IPv4Address] | None = None
    dns: tuple[IPv4Address, ...] = ()
    lease_time: int = 3600
    domain: str | None = None


@dataclass(frozen=True)
class Vlan:
    """An 802.1Q VLAN, realised by OVS access ports and trunks."""

    id: int
    name: str
    subnet: Subnet | None = None


@dataclass(frozen=True)
class Dhcp:
    """An interface that takes its address by DHCP.

    ``server`` and ``relay`` name the nodes that serve and relay; ``reserve``
    is the address reserved for the interface's MAC.  Until a run starts real
    DHCP clients, the reservation is also what a lab may configure statically.
    ``renew_time`` is the T1 (option 58, seconds) the server gives this
    reservation instead of half the lease: a renewal to watch within seconds,
    for this one client only, while the lease stays as long as its subnet's.
    """

    server: str
    relay: str | None = None
    reserve: IPv4Address | None = None
    client: str = "dhclient"
    renew_time: int | None = None


@dataclass(frozen=True)
class Route:
    destination: IPv4Network
    via: IPv4Address


@dataclass(frozen=True)
class Service:
    """A daemon declared on a node: a kind from the service catalogue and its
    parameters.  Starting it is the business of :mod:`services`."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


def service(kind: str, **params: Any) -> Service:
    return Service(kind, dict(params))


@dataclass
class Interface:
    """The end of a link on a host or router."""

    node: str
    name: str
    address: IPv4Interface | None = None
    mac: str | None = None
    dhcp: Dhcp | None = None
    nat_outside: bool = False

    @property
    def ip(self) -> IPv4Address | None:
        return self.address.ip if self.address else None


@dataclass
class Port:
    """The end of a link on a switch: an access port (``vlan``), a trunk
    (``trunk``, the VLANs it carries) or an untagged port (neither)."""

    node: str
    name: str
    vlan: int | None = None
    trunk: tuple[int, ...] | None = None


End = Interface | Port


@dataclass
class Link:
    a: End
    b: End
    subnet: IPv4Network | None = None

    @property
    def ends(self) -> tuple[End, End]:
        return (self.a, self.b)

    def other(self, end: End) -> End:
        return self.b if end is self.a else self.a


@dataclass
class Node:
    name: str
    description: str = ""

    role = "node"


@dataclass
class Host(Node):
    """A Mininet host: an end system in its own network and mount namespace.

    ``hosts`` are entries of the node's own /etc/hosts (name -> address);
    ``sysctls`` are set inside its namespace (ARP timers, for example).
    """

    gateway: IPv4Address | None = None
    routes: list[Route] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    hosts: dict[str, str] = field(default_factory=dict)
    sysctls: dict[str, str] = field(default_factory=dict)

    role = HOST
    forwarding = False

    def route(self, destination: str, via: str) -> "Host":
        """Add a static route; ``destination`` may be ``"default"``."""
        self.routes.append(Route(parse_network(destination, self.name, "routes.destination"),
                                 parse_address(via, self.name, "routes.via")))
        return self

    def run(self, svc: Service) -> "Host":
        self.services.append(svc)
        return self


@dataclass
class Router(Host):
    """A Linux router: a host with IPv4 forwarding on."""

    role = ROUTER
    forwarding = True


@dataclass
class Switch(Node):
    """An Open vSwitch bridge.

    ``vlans`` False makes the switch flat: the VLAN tags of its ports are kept
    in the model (they still say which subnet a port is meant for) but not
    applied, so every port shares one broadcast domain.  ``mixed_subnets``
    says that several subnets on one of its broadcast domains are intended
    (the relay race); otherwise validation refuses them.  ``subnet`` is the
    subnet of its untagged ports.
    """

    subnet: Subnet | None = None
    vlans: bool = True
    mixed_subnets: bool = False

    role = SWITCH


@dataclass(frozen=True)
class TopologyOptions:
    """Choices a user makes when bringing a topology up, passed to its
    ``build()``: ``vlans`` False is the ``--no-vlan`` variant."""

    vlans: bool = True
    dhcp_server: str | None = None
    guests: int | None = None
    """Extra DHCP hosts, for the topologies that take them (``scale``); None
    is the topology's own default."""


@dataclass(frozen=True)
class ControllerRequest:
    """A topology that wants its switches driven by an OpenFlow controller,
    as ``--controller os-ken --controller-app ...`` would ask: the command
    line's flags, when given, still win (``--controller none`` included)."""

    kind: str = "os-ken"
    apps: tuple[str, ...] = ("l2",)


CONTROLLER_KINDS = ("os-ken",)


# -- the topology and its builder --------------------------------------------

class Topology:
    """A whole emulated network, declared node by node and link by link.

    Nodes are kept in a list, not a dict, so that validation can report a
    duplicate name instead of silently keeping the last one.
    """

    def __init__(self, name: str, description: str = "",
                 options: TopologyOptions | None = None):
        self.name = name
        self.description = description
        self.options = options or TopologyOptions()
        self.nodes: list[Node] = []
        self.links: list[Link] = []
        self.vlans: list[Vlan] = []
        self.controller_request: ControllerRequest | None = None

    def controller(self, kind: str = "os-ken", apps: Sequence[str] = ("l2",)
                   ) -> ControllerRequest:
        """Run this topology's switches under an OpenFlow controller with
        these apps (shipped names, or paths of .py files with Ryu or os-ken
        apps), unless the command line says otherwise."""
        if kind not in CONTROLLER_KINDS:
            raise TopologyError(None, "controller", f"controller {kind!r}: one of "
                                                    f"{', '.join(CONTROLLER_KINDS)}")
        apps = (apps,) if isinstance(apps, str) else tuple(apps)
        if not apps or not all(isinstance(a, str) and a for a in apps):
            raise TopologyError(None, "controller.apps", "a controller needs one app or more, "
                                                         f"each a name or a path, not {apps!r}")
        self.controller_request = ControllerRequest(kind, apps)
        return self.controller_request

    # nodes
    def _add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def host(self, name: str, *, description: str = "", gateway: str | None = None,
             services: Sequence[Service] = (), hosts: Mapping[str, str] | None = None,
             sysctls: Mapping[str, Any] | None = None) -> Host:
        return self._add(Host(name, description, parse_address(gateway, name, "gateway"),
                              [], list(services), dict(hosts or {}),
                              {k: str(v) for k, v in (sysctls or {}).items()}))

    def router(self, name: str, *, description: str = "", services: Sequence[Service] = (),
               hosts: Mapping[str, str] | None = None,
               sysctls: Mapping[str, Any] | None = None) -> Router:
        return self._add(Router(name, description, None, [], list(services), dict(hosts or {}),
                                {k: str(v) for k, v in (sysctls or {}).items()}))

    def switch(self, name: str, *, description: str = "", subnet: Subnet | None = None,
               vlans: bool = True, mixed_subnets: bool = False) -> Switch:
        return self._add(Switch(name, description, subnet, vlans, mixed_subnets))

    # addressing
    def subnet(self, network: str, *, gateway: str | None = None,
               pool: tuple[str, str] | None = None, dns: Sequence[str] = (),
               lease_time: int = 3600, domain: str | None = None) -> Subnet:
        where = f"subnet {network}"
        net = parse_network(network, None, where)
        rng = None
        if pool is not None:
            rng = (parse_address(pool[0], None, f"{where}: pool"),
                   parse_address(pool[1], None, f"{where}: pool"))
        if isinstance(lease_time, bool) or not isinstance(lease_time, int) or lease_time <= 0:
            raise TopologyError(None, f"{where}: lease_time",
                                f"{lease_time!r} is not a positive number of seconds")
        return Subnet(net, parse_address(gateway, None, f"{where}: gateway"), rng,
                      tuple(parse_address(d, None, f"{where}: dns") for d in dns),
                      lease_time, domain)

    def vlan(self, vid: int, name: str, subnet: Subnet | None = None) -> Vlan:
        vlan = Vlan(int(vid), name, subnet)
        self.vlans.append(vlan)
        return vlan

    # links
    def link(self, a: Node | str, b: Node | str, *, ip: str | None = None,
             mac: str | None = None, dhcp: Dhcp | None = None, nat: bool = False,
             vlan: int | Vlan | None = None, trunk: Sequence[int | Vlan] | None = None,
             peer_ip: str | None = None, peer_mac: str | None = None,
             subnet: str | None = None, name: str | None = None,
             peer_name: str | None = None) -> Link:
        """Link ``a`` to ``b``.

        ``ip``, ``mac``, ``dhcp``, ``nat`` (masquerade out of this interface)
        and ``name`` describe ``a``'s end; ``peer_*`` describe ``b``'s end when
        ``b`` is a host or router.  ``vlan`` makes the switch end an access
        port, ``trunk`` a trunk carrying those VLANs.  ``subnet`` declares the
        link's subnet where no VLAN or switch gives one (point-to-point).
        """
        a_name = a if isinstance(a, str) else a.name
        b_name = b if isinstance(b, str) else b.name
        vid = vlan.id if isinstance(vlan, Vlan) else vlan
        tr = None if trunk is None else tuple(t.id if isinstance(t, Vlan) else int(t)
                                               for t in trunk)
        ends = []
        for node_name, ifname, addr, hw, lease, masq in (
                (a_name, name, ip, mac, dhcp, nat),
                (b_name, peer_name, peer_ip, peer_mac, None, False)):
            node = self.find(node_name)
            ifname = ifname or self._next_ifname(node_name, node)
            if isinstance(node, Switch):
                for given, what in ((addr, "ip"), (hw, "mac"), (lease, "dhcp")):
                    if given is not None:
                        raise TopologyError(node_name, f"{ifname}: {what}",
                                            "a switch port has no address; give it to the "
                                            "host or router end of the link")
                ends.append(Port(node_name, ifname, vid, tr))
            else:
                if lease is not None:
                    lease = replace(lease, reserve=parse_address(
                        lease.reserve, node_name, f"{ifname}: dhcp.reserve"))
                    _check_renew_time(lease, node_name, ifname)
                ends.append(Interface(node_name, ifname,
                                      parse_interface(addr, node_name, f"{ifname}: ip"),
                                      parse_mac(hw, node_name, f"{ifname}: mac"),
                                      lease, masq))
        if (vid is not None or tr is not None) and not any(isinstance(e, Port) for e in ends):
            raise TopologyError(a_name, f"{ends[0].name}: {'vlan' if vid is not None else 'trunk'}",
                                f"VLANs are set on switch ports, and neither {a_name} nor "
                                f"{b_name} is a switch (declared before this link)")
        link = Link(ends[0], ends[1], parse_network(subnet, a_name, "link subnet"))
        self.links.append(link)
        return link

    def _next_ifname(self, node_name: str, node: Node | None) -> str:
        """Mininet's naming: hosts count from eth0, switch ports from eth1."""
        used = {e.name for e in self.ends_of(node_name)}
        index = 1 if isinstance(node, Switch) else 0
        while f"{node_name}-eth{index}" in used:
            index += 1
        return f"{node_name}-eth{index}"

    # queries
    def find(self, name: str) -> Node | None:
        for node in self.nodes:
            if node.name == name:
                return node
        return None

    def node(self, name: str) -> Node:
        found = self.find(name)
        if found is None:
            raise KeyError(name)
        return found

    def hosts(self) -> list[Host]:
        """Hosts and routers: every node with a namespace of its own."""
        return [n for n in self.nodes if isinstance(n, Host)]

    def switches(self) -> list[Switch]:
        return [n for n in self.nodes if isinstance(n, Switch)]

    def ends_of(self, name: str) -> Iterator[End]:
        for link in self.links:
            for end in link.ends:
                if end.node == name:
                    yield end

    def interfaces(self, name: str | None = None) -> list[Interface]:
        return [e for link in self.links for e in link.ends
                if isinstance(e, Interface) and (name is None or e.node == name)]

    def vlan_by_id(self, vid: int) -> Vlan | None:
        for vlan in self.vlans:
            if vlan.id == vid:
                return vlan
        return None

    def link_of(self, end: End) -> Link:
        for link in self.links:
            if end is link.a or end is link.b:
                return link
        raise KeyError(end.name)
