"""What a service kind is: a daemon class that names itself, lists its
parameters with their choices and defaults, and checks its declarations.

A topology declares a service by kind (``service("dhcp-relay", server=...,
downstream=[...], upstream=...)``).  As IPMininet keeps a daemon's options,
defaults and validation in its daemon class, every kind here is one
:class:`ServiceDaemon` subclass in one module of ``services/``, beside its
template; :mod:`services.registry` lists them, one line each.  Validation
(:mod:`orchestrator.model.validation`) asks each declaration's class for its
problems and knows no kind itself, so adding a kind touches neither it nor
the lab.

The rules every kind shares run here, driven by what the class declares:
required and unknown parameters, choices, parameters naming interfaces of
the node, parameters declaring subnets, and a ``listen`` address.  A kind
adds its own after them (``yield from super().problems(...)``).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any, ClassVar, Iterable, Iterator, Mapping

from orchestrator.errors import TopologyError
from orchestrator.model import Host, Service, Subnet, Topology

from .base import Context, Daemon

Problems = Iterator[TopologyError]


def _names(items: Iterable[object]) -> str:
    return ", ".join(str(item) for item in items)


def _as_list(value: object) -> list:
    """A parameter given as one value or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class ServiceDaemon(Daemon):
    """A daemon a topology declares by kind; subclasses set the class
    attributes below and implement :meth:`Daemon.launch`."""

    kind: ClassVar[str] = ""                          # what topologies write: service(kind, ...)
    summary: ClassVar[str] = ""                       # one line, for people
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    choices: ClassVar[Mapping[str, tuple[str, ...]]] = {}   # parameter -> allowed values
    defaults: ClassVar[Mapping[str, Any]] = {}        # what an optional parameter left out means
    interface_params: ClassVar[tuple[str, ...]] = ()  # name interfaces of the service's node
    subnet_params: ClassVar[tuple[str, ...]] = ()     # declare subnets (Subnet objects) served

    @classmethod
    def known_params(cls) -> frozenset[str]:
        return frozenset(cls.required) | frozenset(cls.optional)

    @classmethod
    def create(cls, ctx: Context) -> ServiceDaemon:
        """The daemon carrying out the declaration of ``ctx``: an instance of
        this class, unless the kind picks one of several (a backend)."""
        return cls(ctx)

    @classmethod
    def settings(cls, svc: Service) -> dict[str, Any]:
        """What a declaration of this kind means: its parameters over the
        kind's defaults."""
        return {**cls.defaults, **svc.params}

    @property
    def params(self) -> dict[str, Any]:
        return self.settings(self.ctx.service)

    @property
    def lease_dns_file(self) -> str | None:
        """Where a DHCP client of this node writes the DNS servers of its
        lease, if this service takes them (a local cache); else None."""
        return None

    def listen_address(self) -> str:
        """The declared ``listen`` address, else the node's first address."""
        given = self.ctx.params.get("listen")
        if given:
            return str(given)
        for iface in self.ctx.topo.interfaces(self.ctx.host.name):
            if iface.address is not None:
                return str(iface.address.ip)
        raise ValueError(f"{self.ctx.host.name}: {self.kind} needs a static address")

    # -- validation, before any daemon exists --------------------------------------------

    @classmethod
    def problems(cls, topo: Topology, host: Host, svc: Service) -> Problems:
        """Everything wrong with one declaration of this kind on ``host``,
        each naming the node and the field."""
        field = f"services[{svc.kind}]"
        yield from cls._parameter_problems(host, svc, field)
        yield from cls._interface_problems(topo, host, svc, field)
        if "listen" in svc.params:
            yield from _listen_problems(topo, host, svc.params["listen"], f"{field}.listen")
        for param in cls.subnet_params:
            if param in svc.params:
                yield from _subnets_problems(host, svc.params[param], f"{field}.{param}")

    @classmethod
    def host_problems(cls, topo: Topology, host: Host) -> Problems:
        """What is wrong with this kind's declarations on ``host`` taken
        together (how many there are); asked once per node and kind."""
        return iter(())

    @classmethod
    def declared_subnets(cls, svc: Service) -> Iterator[tuple[str, Subnet]]:
        """(parameter, Subnet) for every subnet a declaration of this kind
        declares, for the checks of subnets and of who serves whom."""
        for param in cls.subnet_params:
            subnets = svc.params.get(param)
            if isinstance(subnets, (list, tuple)):
                yield from ((param, s) for s in subnets if isinstance(s, Subnet))

    @classmethod
    def _parameter_problems(cls, host: Host, svc: Service, field: str) -> Problems:
        for param in sorted(set(cls.required) - set(svc.params)):
            yield TopologyError(host.name, f"{field}.{param}",
                                f"missing required parameter {param!r} of {svc.kind}")
        known = cls.known_params()
        for param in sorted(set(svc.params) - known):
            yield TopologyError(host.name, f"{field}.{param}",
                                f"unknown parameter {param!r} of {svc.kind}; known: "
                                f"{_names(sorted(known))}")
        for param, allowed in cls.choices.items():
            if param in svc.params and svc.params[param] not in allowed:
                yield TopologyError(host.name, f"{field}.{param}",
                                    f"{svc.params[param]!r} is not one of {_names(allowed)}")

    @classmethod
    def _interface_problems(cls, topo: Topology, host: Host, svc: Service,
                            field: str) -> Problems:
        own = {iface.name for iface in topo.interfaces(host.name)}
        for param in cls.interface_params:
            for name in _as_list(svc.params.get(param)):
                if name not in own:
                    yield TopologyError(host.name, f"{field}.{param}",
                                        f"{name!r} is not an interface of {host.name} "
                                        f"({_names(sorted(own)) or 'it has none'})")


def _listen_problems(topo: Topology, host: Host, listen: object, field: str) -> Problems:
    """A daemon can only bind an address of its own node: found here, not
    when the daemon refuses to start in a network already built."""
    try:
        address = IPv4Address(str(listen))
    except ValueError:
        yield TopologyError(host.name, field, f"{listen!r} is not an IPv4 address")
        return
    own = sorted({str(i.ip) for i in topo.interfaces(host.name) if i.ip is not None})
    if str(address) not in own:
        yield TopologyError(host.name, field,
                            f"{address} is not an address of {host.name} "
                            f"({_names(own) or 'it has no static address'})")


def _subnets_problems(host: Host, subnets: object, field: str) -> Problems:
    if not (isinstance(subnets, (list, tuple)) and all(isinstance(s, Subnet) for s in subnets)):
        yield TopologyError(host.name, field,
                            f"must be a list of Subnet objects made with topo.subnet(...), "
                            f"not {subnets!r}")
