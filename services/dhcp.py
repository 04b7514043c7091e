"""DHCP servers (dnsmasq, ISC dhcpd) and the ISC relay, from the model.

Both server backends are rendered from the same plain data
(:func:`server_data`): one entry per served subnet with its pool, router,
DNS servers and lease time, and the reservations that hosts declare with
``Dhcp(server=..., reserve=...)``.  So the two give ``enterprise`` the same
result, and a difference seen on the wire is the daemon's, not ours.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from orchestrator.model import Interface, Subnet, Topology

from .base import (STAGE_ENTERPRISE, STAGE_RELAYS, Context, Daemon, Launch, LogLine, render)


def subnet_data(subnet: Subnet, relayed: bool) -> dict:
    net = subnet.network
    return {
        "tag": "net_" + str(net.network_address).replace(".", "_"),
        "network": str(net.network_address), "netmask": str(net.netmask),
        "prefix": net.prefixlen, "broadcast": str(net.broadcast_address),
        "pool": subnet.pool is not None,
        "start": str(subnet.pool[0]) if subnet.pool else "",
        "end": str(subnet.pool[1]) if subnet.pool else "",
        "router": str(subnet.gateway) if subnet.gateway else "",
        "dns": [str(d) for d in subnet.dns], "domain": subnet.domain or "",
        "lease_time": subnet.lease_time, "relayed": relayed,
    }


def reservations(topo: Topology, server: str) -> list[dict]:
    """Addresses reserved by MAC; ``renew_time`` (T1) is 0 where the server
    keeps its default, half the lease."""
    return [{"name": iface.node, "mac": iface.mac, "ip": str(iface.dhcp.reserve),
             "renew_time": iface.dhcp.renew_time or 0}
            for iface in topo.interfaces()
            if iface.dhcp and iface.dhcp.server == server and iface.dhcp.reserve is not None]


def _own_networks(topo: Topology, node: str) -> list[IPv4Network]:
    return [i.address.network for i in topo.interfaces(node) if i.address is not None]


def server_data(ctx: Context) -> dict:
    """The plain data both backends' templates render."""
    own = _own_networks(ctx.topo, ctx.host.name)
    subnets = list(ctx.params["subnets"])
    served = [s.network for s in subnets]
    interface = ctx.params.get("interface") or ctx.topo.interfaces(ctx.host.name)[0].name
    local = [Subnet(net) for net in own if net not in served]
    return {
        "node": ctx.host.name,
        "interface": interface,
        "subnets": [subnet_data(s, s.network not in own) for s in subnets],
        "local_subnets": [subnet_data(s, False) for s in local],
        "reservations": reservations(ctx.topo, ctx.host.name),
        "default_lease_time": max((s.lease_time for s in subnets), default=3600),
        "ping_check": bool(ctx.params.get("ping_check", False)),
    }


class DnsmasqDhcp(Daemon):
    name = "dnsmasq-dhcp"
    binary = "dnsmasq"
    stage = STAGE_ENTERPRISE

    @property
    def lease_database(self) -> str:
        """dnsmasq's lease file: one line per lease it holds."""
        return self.ctx.path("leases")

    def launch(self) -> Launch:
        data = server_data(self.ctx)
        conf, log = self.ctx.path("dnsmasq.conf"), self.ctx.path("dnsmasq.log")
        data.update(leasefile=self.lease_database, pidfile=self.ctx.path("dnsmasq.pid"),
                    logfile=log)
        return self.make_launch(
            files={conf: render("dnsmasq-dhcp.conf.j2", **data)},
            check=["dnsmasq", "--test", "-C", conf],
            argv=["dnsmasq", "--keep-in-foreground", "-C", conf],
            log=log, ready=LogLine(r"DHCP, (IP range|static leases only)"))


class IscDhcpd(Daemon):
    name = "dhcpd"
    binary = "dhcpd"
    stage = STAGE_ENTERPRISE

    @property
    def lease_database(self) -> str:
        """dhcpd.leases: every lease change appended as a ``lease`` block."""
        return self.ctx.path("dhcpd.leases")

    def launch(self) -> Launch:
        data = server_data(self.ctx)
        conf, leases = self.ctx.path("dhcpd.conf"), self.lease_database
        return self.make_launch(
            files={conf: render("dhcpd.conf.j2", **data), leases: ""},
            check=["dhcpd", "-t", "-4", "-cf", conf, "-lf", leases],
            # -f foreground, -d log to stderr; the lease file is in the run
            # directory, never /var/lib/dhcp; the supervisor knows the pid.
            argv=["dhcpd", "-f", "-d", "-4", "-cf", conf, "-lf", leases, "--no-pid",
                  data["interface"]],
            log=self.ctx.path("dhcpd.log"), ready=LogLine(r"Server starting service"))


class Dhcrelay(Daemon):
    """ISC dhcrelay: listens on the client side (``downstream``), forwards to
    ``server`` out of ``upstream`` with giaddr set to the downstream address."""

    name = "dhcrelay"
    binary = "dhcrelay"
    stage = STAGE_RELAYS

    def launch(self) -> Launch:
        params = self.ctx.params
        argv = ["dhcrelay", "-d", "-4", "--no-pid"]
        for iface in params["downstream"]:
            argv += ["-id", iface]
        argv += ["-iu", params["upstream"], str(params["server"])]
        return self.make_launch(argv=argv, log=self.ctx.path("dhcrelay.log"),
                      ready=LogLine(r"Sending on\s+Socket/fallback"))


SERVERS = {"dnsmasq": DnsmasqDhcp, "isc": IscDhcpd}


def server_class(backend: str | None) -> type[Daemon]:
    return SERVERS[backend or "dnsmasq"]


def client_interfaces(topo: Topology, node: str) -> list[Interface]:
    return [i for i in topo.interfaces(node) if i.dhcp is not None]
