"""A fake OpenFlow 1.3 datapath and packet-in builder for the controller apps' unit tests.

The apps talk to a datapath only through ``id``, ``ports``, ``ofproto``,
``ofproto_parser`` and ``send_msg``: this one records what is sent, and
:func:`outputs` replays a packet-out's actions to say which port got the
frame with which VLAN tag.
"""

from __future__ import annotations

from types import SimpleNamespace

from os_ken.controller import ofp_event
from os_ken.lib.packet import arp, dhcp, ethernet, ipv4, packet, udp, vlan
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser

from orchestrator.controller.fabric import DhcpAgent, Fabric, FabricSwitch, SwitchPort


class FakeDatapath:
    ofproto = ofproto_v1_3
    ofproto_parser = ofproto_v1_3_parser

    def __init__(self, dpid: int, port_names: list[str]):
        self.id = dpid
        self.ports = {number: SimpleNamespace(port_no=number, name=name.encode())
                      for number, name in enumerate(port_names, start=1)}
        self.sent: list = []

    def send_msg(self, msg) -> None:
        self.sent.append(msg)

    def number(self, name: str) -> int:
        return next(n for n, p in self.ports.items() if p.name.decode() == name)

    def take(self, kind) -> list:
        """The messages of one kind sent so far, forgetting them."""
        found = [m for m in self.sent if isinstance(m, kind)]
        self.sent = [m for m in self.sent if not isinstance(m, kind)]
        return found


def frame(src: str, dst: str, *, vid: int | None = None, payload: str = "arp",
          sport: int = 68, dport: int = 67) -> bytes:
    """An Ethernet frame, 802.1Q-tagged with ``vid``, carrying an ARP
    request or a DHCP message between UDP ``sport`` and ``dport``."""
    pkt = packet.Packet()
    if vid is None:
        pkt.add_protocol(ethernet.ethernet(dst, src, 0x0806 if payload == "arp" else 0x0800))
    else:
        pkt.add_protocol(ethernet.ethernet(dst, src, 0x8100))
        pkt.add_protocol(vlan.vlan(vid=vid, ethertype=0x0806 if payload == "arp" else 0x0800))
    if payload == "arp":
        pkt.add_protocol(arp.arp(src_mac=src, src_ip="10.0.0.1", dst_ip="10.0.0.2"))
    else:
        pkt.add_protocol(ipv4.ipv4(src="0.0.0.0", dst="255.255.255.255", proto=17))
        pkt.add_protocol(udp.udp(src_port=sport, dst_port=dport))
        pkt.add_protocol(dhcp.dhcp(op=1 if sport == 68 else 2, chaddr=src, xid=0x1234,
                                   options=dhcp.options([dhcp.option(53, b"\x01")])))
    pkt.serialize()
    return bytes(pkt.data)


def packet_in(datapath: FakeDatapath, in_port: str, data: bytes):
    parser = datapath.ofproto_parser
    msg = parser.OFPPacketIn(datapath, buffer_id=datapath.ofproto.OFP_NO_BUFFER,
                             total_len=len(data), reason=datapath.ofproto.OFPR_NO_MATCH,
                             table_id=0, cookie=0,
                             match=parser.OFPMatch(in_port=datapath.number(in_port)), data=data)
    return ofp_event.EventOFPPacketIn(msg)


def outputs(datapath: FakeDatapath, actions, tagged: int | None) -> list[tuple[str, int | None]]:
    """Replay ``actions`` on a frame tagged ``tagged``: (port name, VLAN
    tag on the wire or None) for every output."""
    out, tag = [], tagged
    for action in actions:
        if isinstance(action, ofproto_v1_3_parser.OFPActionPopVlan):
            tag = None
        elif isinstance(action, ofproto_v1_3_parser.OFPActionPushVlan):
            tag = 0
        elif isinstance(action, ofproto_v1_3_parser.OFPActionSetField):
            tag = action.value & 0x0fff
        elif isinstance(action, ofproto_v1_3_parser.OFPActionOutput):
            out.append((datapath.ports[action.port].name.decode(), tag))
    return out


def sent_to(datapath: FakeDatapath, tagged: int | None = None) -> list[tuple[str, int | None]]:
    """Where the packet-outs sent since the last call put the frame."""
    found = []
    for msg in datapath.take(ofproto_v1_3_parser.OFPPacketOut):
        found += outputs(datapath, msg.actions, tagged)
    return sorted(found)


def port(name: str, peer: str, *, vlan_id: int | None = None, trunk=None, subnet: str = "",
         mac: str = "", role: str = "host", agent: bool = False,
         trusted: bool = False) -> SwitchPort:
    return SwitchPort(name, peer, f"{peer}-eth0", role, mac, vlan_id,
                      None if trunk is None else tuple(trunk), subnet, agent, trusted)


def fabric_of(*switches: FabricSwitch, agents: tuple[DhcpAgent, ...] = ()) -> Fabric:
    return Fabric("test", tuple(switches), agents)
