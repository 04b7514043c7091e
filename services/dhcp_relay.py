"""The ``dhcp-relay`` kind: ISC dhcrelay on a router between clients and their server.

It listens on the client side (``downstream``), and forwards what it hears
to ``server`` out of ``upstream``, with giaddr set to the downstream
interface's address: the server picks the subnet to serve by that address.
"""

from __future__ import annotations

from .base import STAGE_RELAYS, Launch, LogLine
from .kind import ServiceDaemon

DHCP_RELAY = "dhcp-relay"


class Dhcrelay(ServiceDaemon):
    kind = DHCP_RELAY
    summary = "ISC dhcrelay: relays client broadcasts to a DHCP server"
    required = ("server", "downstream", "upstream")
    interface_params = ("downstream", "upstream")
    name = "dhcrelay"
    binary = "dhcrelay"
    stage = STAGE_RELAYS

    def launch(self) -> Launch:
        params = self.params
        argv = ["dhcrelay", "-d", "-4", "--no-pid"]
        for iface in params["downstream"]:
            argv += ["-id", iface]
        argv += ["-iu", params["upstream"], str(params["server"])]
        return self.make_launch(argv=argv, log=self.ctx.path("dhcrelay.log"),
                                ready=LogLine(r"Sending on\s+Socket/fallback"))
