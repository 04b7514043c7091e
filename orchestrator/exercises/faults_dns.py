"""Faults of name resolution: a resolver asking a dead address upstream (its
forwarder, or its root hint for a recursive resolver).  A model fault: the
resolver's config is rendered from the transformed model and the resolver
restarted from it."""

from __future__ import annotations

from ipaddress import IPv4Address

from services.dns_resolver import DNS_RESOLVER

from ..checks.derived.dns import lookups
from ..model import Topology
from .faults import ModelChange, ModelFault, Swap, Variant, with_params
from .where import free_address, network_of


def end_user(topo: Topology, look, found) -> str:
    """Who a failing resolver ultimately lets down: its user, or, when that
    user is itself a resolver forwarding to it, that resolver's user."""
    upstream_of = {item.resolver: item.client for item in found}
    client, seen = look.client, {look.resolver}
    while client in upstream_of and client not in seen:
        seen.add(client)
        client = upstream_of[client]
    return client


class ResolverDeadUpstream(ModelFault):
    name = "resolver-dead-upstream"
    title = "a DNS resolver asks a dead address upstream"
    why = ("no dns-resolver with a user, an upstream on a known network and a zone to "
           "resolve")

    def variants(self, topo: Topology) -> list[Variant]:
        found = []
        every = lookups(topo)
        for look in every:
            if not look.upstream:
                continue
            network = network_of(topo, IPv4Address(look.upstream[0]))
            dead = free_address(topo, network) if network is not None else None
            if dead is None:
                continue
            what = "forwards to" if look.mode == "forward" else "has its root hint at"
            found.append(Variant(
                self.name, {"resolver": look.resolver, "upstream": str(dead)},
                f"the resolver on {look.resolver} {what} {dead}, not {look.upstream[0]}",
                f"{end_user(topo, look, every)} cannot resolve {look.name.rstrip('.')}",
                ("dns",), ("l2-scope", "reach", "http")))
        return found

    def transform(self, topo: Topology, variant: Variant) -> ModelChange:
        node, dead = variant.target["resolver"], variant.target["upstream"]
        params = next(s.params for s in topo.node(node).services if s.kind == DNS_RESOLVER)
        if params.get("mode") == "forward":
            with_params(topo, node, DNS_RESOLVER, forwarders=[dead])
        else:
            hints = list(params.get("root_hints", ()))
            with_params(topo, node, DNS_RESOLVER,
                        root_hints=[(name, dead) for name, _address in hints[:1]])
        return ModelChange(topo, [Swap(DNS_RESOLVER, node)])


FAULTS = [ResolverDeadUpstream]
