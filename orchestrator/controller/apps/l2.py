"""``l2``: a VLAN-aware learning switch driven by the model, as OVS's normal mode.

Under a controller in secure fail mode, OVS applies no ``tag=`` or
``trunks=`` of its ports (they belong to the NORMAL action): tagging is
this app's job, from the model's ports.

- An access port puts untagged frames into its VLAN and sends that VLAN's
  frames out untagged; a trunk carries its VLANs tagged and drops what it
  does not carry; an untagged port is in the switch's own (untagged)
  domain.  A flat switch (``vlans=False``) is one untagged domain, whatever
  its ports' tags say.
- Source MACs are learned per switch and VLAN.  A frame to a known unicast
  MAC is sent there and a flow is installed for its (in port, source,
  destination, tag), so the next frames stay in the switch; it idles out
  after :data:`IDLE_TIMEOUT` s.  Anything else is flooded by packet-out to
  the other ports of its VLAN only.  A MAC seen on a new port has its old
  flows deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet, vlan

from ..fabric import UNTAGGED, FabricSwitch, SwitchPort
from .base import FlowlabApp

IDLE_TIMEOUT = 60
UNICAST_PRIORITY = 10
RESERVED_PREFIX = "01:80:c2:00:00:0"     # 802.1D link-local: never forwarded by a bridge


@dataclass(frozen=True)
class PortRole:
    """How a port treats VLANs: the domain of the untagged frames it takes
    and sends (None: it takes none), and the VLANs it carries tagged."""

    untagged: int | None
    tagged: frozenset[int] = frozenset()

    def carries(self, domain: int) -> bool:
        return domain == self.untagged or domain in self.tagged


def port_role(switch: FabricSwitch, port: SwitchPort) -> PortRole:
    if not switch.vlans:
        return PortRole(UNTAGGED)
    if port.trunk is not None:
        return PortRole(None, frozenset(port.trunk))
    if port.vlan is not None:
        return PortRole(port.vlan)
    return PortRole(UNTAGGED)


@dataclass(frozen=True)
class Egress:
    """Where a frame goes: an OpenFlow port, tagged with its VLAN or not."""

    port: int
    tagged: bool


def is_group(mac: str) -> bool:
    return bool(int(mac.split(":")[0], 16) & 1)


class L2Switch(FlowlabApp):
    COOKIE = 0xf10a0002

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.macs: dict[tuple[int, int], dict[str, int]] = {}    # (dpid, vlan) -> mac -> port

    def datapath_down(self, dpid: int) -> None:
        for key in [k for k in self.macs if k[0] == dpid]:
            del self.macs[key]

    # -- VLANs ---------------------------------------------------------------------------
    def role(self, datapath, number: int) -> PortRole | None:
        switch = self.switch_of(datapath)
        port = switch.port(self.port_name(datapath, number)) if switch else None
        return port_role(switch, port) if port else None

    def ingress_domain(self, datapath, in_port: int, vid: int | None) -> int | None:
        """The VLAN a frame belongs to, or None when the port does not take it."""
        role = self.role(datapath, in_port)
        if role is None:
            return None
        if vid is None:
            return role.untagged
        return vid if vid in role.tagged else None

    def members(self, datapath, domain: int, exclude: int) -> list[Egress]:
        """Every other port of the switch in ``domain``, as it sends it."""
        found = []
        for number in sorted(self.port_names.get(datapath.id, {})):
            role = self.role(datapath, number)
            if number != exclude and role is not None and role.carries(domain):
                found.append(Egress(number, domain in role.tagged))
        return found

    def egress_actions(self, datapath, domain: int, ingress_tagged: bool,
                       outs: list[Egress]) -> list:
        """Output actions: untagged ports first (popping the tag), then tagged
        ones (pushing it), so one action list serves both."""
        parser, ofp = datapath.ofproto_parser, datapath.ofproto
        actions, tagged = [], ingress_tagged
        for out in [o for o in outs if not o.tagged]:
            if tagged:
                actions.append(parser.OFPActionPopVlan())
                tagged = False
            actions.append(parser.OFPActionOutput(out.port))
        for out in [o for o in outs if o.tagged]:
            if not tagged:
                actions += [parser.OFPActionPushVlan(0x8100),
                            parser.OFPActionSetField(vlan_vid=ofp.OFPVID_PRESENT | domain)]
                tagged = True
            actions.append(parser.OFPActionOutput(out.port))
        return actions

    # -- learning ------------------------------------------------------------------------
    def learn(self, datapath, domain: int, mac: str, port: int) -> None:
        table = self.macs.setdefault((datapath.id, domain), {})
        before = table.get(mac)
        table[mac] = port
        if before is not None and before != port:
            self.logger.info("%016x: %s moved from port %d to %d", datapath.id, mac, before, port)
            parser, ofp = datapath.ofproto_parser, datapath.ofproto
            datapath.send_msg(parser.OFPFlowMod(
                datapath=datapath, cookie=self.COOKIE, cookie_mask=0xffffffffffffffff,
                command=ofp.OFPFC_DELETE, table_id=ofp.OFPTT_ALL, out_port=ofp.OFPP_ANY,
                out_group=ofp.OFPG_ANY, match=parser.OFPMatch(eth_dst=mac)))

    def where(self, datapath, domain: int, mac: str) -> int | None:
        return self.macs.get((datapath.id, domain), {}).get(mac)

    # -- packets -------------------------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        msg = ev.msg
        datapath = msg.datapath
        if datapath.id not in self.datapaths:
            return
        pkt = packet.Packet(msg.data)
        eth = pkt.get_protocol(ethernet.ethernet)
        if eth is None or eth.dst.startswith(RESERVED_PREFIX):
            return
        tag = pkt.get_protocol(vlan.vlan)
        vid = tag.vid if tag is not None else None
        in_port = msg.match["in_port"]
        domain = self.ingress_domain(datapath, in_port, vid)
        if domain is None:
            return
        self.learn(datapath, domain, eth.src, in_port)
        outs = self.egress(datapath, domain, in_port, vid, pkt, eth)
        if outs:
            self.packet_out(datapath, msg, in_port,
                            self.egress_actions(datapath, domain, vid is not None, outs))

    def egress(self, datapath, domain: int, in_port: int, vid: int | None, pkt,
               eth) -> list[Egress]:
        """Where a frame goes: its learned port (installing a flow), else
        every other port of its VLAN.  Subclasses decide some frames first."""
        known = None if is_group(eth.dst) else self.where(datapath, domain, eth.dst)
        if known == in_port:
            return []
        if known is None:
            return self.members(datapath, domain, in_port)
        role = self.role(datapath, known)
        out = [Egress(known, role is not None and domain in role.tagged)]
        parser, ofp = datapath.ofproto_parser, datapath.ofproto
        match = parser.OFPMatch(in_port=in_port, eth_src=eth.src, eth_dst=eth.dst,
                                vlan_vid=ofp.OFPVID_NONE if vid is None
                                else ofp.OFPVID_PRESENT | vid)
        self.add_flow(datapath, UNICAST_PRIORITY, match,
                      self.egress_actions(datapath, domain, vid is not None, out),
                      idle_timeout=IDLE_TIMEOUT)
        return out
