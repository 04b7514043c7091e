"""The ``dhcp-server`` kind: dnsmasq or ISC dhcpd, for the subnets it is given.

Both backends are rendered from the same plain data
(:func:`server_data`): one entry per served subnet with its pool, router,
DNS servers and lease time, and the reservations that hosts declare with
``Dhcp(server=..., reserve=...)``.  So the two give ``enterprise`` the same
result, and a difference seen on the wire is the daemon's, not ours.
"""

from __future__ import annotations

from ipaddress import IPv4Network

from orchestrator.model import Subnet, Topology

from .base import STAGE_ENTERPRISE, Context, Launch, LogLine, render
from .kind import ServiceDaemon

DHCP_SERVER = "dhcp-server"
DNSMASQ, ISC = "dnsmasq", "isc"


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


class DhcpServer(ServiceDaemon):
    """The kind; a declaration runs one of its backends (:data:`BACKENDS`):
    its own ``backend``, else the topology's option, else dnsmasq."""

    kind = DHCP_SERVER
    summary = "DHCP server (dnsmasq or ISC dhcpd) for the given subnets"
    required = ("subnets",)
    optional = ("backend", "interface")
    choices = {"backend": (DNSMASQ, ISC)}
    defaults = {"backend": DNSMASQ}
    interface_params = ("interface",)
    subnet_params = ("subnets",)
    stage = STAGE_ENTERPRISE
    backend = ""

    @classmethod
    def create(cls, ctx: Context) -> DhcpServer:
        chosen = ctx.params.get("backend") or ctx.topo.options.dhcp_server
        return BACKENDS[chosen or cls.defaults["backend"]](ctx)

    @property
    def lease_database(self) -> str:
        raise NotImplementedError


class DnsmasqDhcp(DhcpServer):
    name = "dnsmasq-dhcp"
    binary = "dnsmasq"
    backend = DNSMASQ

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


class IscDhcpd(DhcpServer):
    name = "dhcpd"
    binary = "dhcpd"
    backend = ISC

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


BACKENDS: dict[str, type[DhcpServer]] = {cls.backend: cls for cls in (DnsmasqDhcp, IscDhcpd)}
