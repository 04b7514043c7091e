"""``dhcp-guard``: ``l2`` plus DHCP snooping, the SDN fix of the relay race.

On a flat network a DISCOVER reaches every relay of the broadcast domain,
and each relays it: two OFFERs, the client's subnet decided by a race.
This app keeps the flat network and decides where DHCP goes, from the model:

- a broadcast DHCP client message (UDP 68 -> 67) goes only towards the
  DHCP agents (relays' downstream interfaces, or servers' own) of the
  client's subnet: the subnet of the client's port in the model (found by
  the client's MAC, so a switch further on decides the same), else of the
  port it came in on;
- a DHCP server message (UDP source port 67) is accepted only from a
  trusted port (one behind which a relay or server runs, or another
  switch): a drop flow per untrusted port says so in the flow table.

Everything else is ``l2``'s.
"""

from __future__ import annotations

from os_ken.lib.packet import ipv4, udp

from ..fabric import FabricSwitch
from .l2 import Egress, L2Switch

BROADCAST = "ff:ff:ff:ff:ff:ff"
SERVER_PORT, CLIENT_PORT = 67, 68
GUARD_PRIORITY = 30


class DhcpGuard(L2Switch):
    COOKIE = 0xf10a0003

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropped: dict[int, int] = {}          # dpid -> server messages dropped here
        self._client_subnets = {p.peer_mac: p.subnet for s in self.fabric.switches
                                for p in s.ports if p.peer_mac and p.subnet
                                and not p.to_switch}

    def install_proactive(self, datapath, switch: FabricSwitch) -> None:
        """Drop DHCP server messages from every untrusted port, in the switch
        itself: a learned unicast flow must not carry a rogue OFFER past us."""
        parser = datapath.ofproto_parser
        for port in switch.ports:
            number = self.port_numbers[datapath.id].get(port.name)
            if port.dhcp_trusted or number is None:
                continue
            self.add_flow(datapath, GUARD_PRIORITY,
                          parser.OFPMatch(in_port=number, eth_type=0x0800, ip_proto=17,
                                          udp_src=SERVER_PORT), [])

    def egress(self, datapath, domain: int, in_port: int, vid: int | None, pkt,
               eth) -> list[Egress]:
        ip, datagram = pkt.get_protocol(ipv4.ipv4), pkt.get_protocol(udp.udp)
        if ip is None or datagram is None:
            return super().egress(datapath, domain, in_port, vid, pkt, eth)
        switch = self.switch_of(datapath)
        port = switch.port(self.port_name(datapath, in_port)) if switch else None
        if datagram.src_port == SERVER_PORT and port is not None and not port.dhcp_trusted:
            self.dropped[datapath.id] = self.dropped.get(datapath.id, 0) + 1
            self.logger.info("%s: DHCP server message from untrusted port %s (%s) dropped",
                             switch.name, port.name, eth.src)
            return []
        if (datagram.src_port, datagram.dst_port) == (CLIENT_PORT, SERVER_PORT) \
                and eth.dst == BROADCAST and port is not None:
            toward = self.toward_agents(datapath, switch, domain, in_port, eth.src, port.subnet)
            if toward is not None:
                return toward
        return super().egress(datapath, domain, in_port, vid, pkt, eth)

    def client_subnet(self, mac: str, port_subnet: str) -> str:
        return self._client_subnets.get(mac, "") or port_subnet

    def toward_agents(self, datapath, switch: FabricSwitch, domain: int, in_port: int,
                      client_mac: str, port_subnet: str) -> list[Egress] | None:
        """The ports of this switch towards the client's subnet's DHCP agents:
        an agent's own port, else where its MAC was learned, else the
        links to other switches.  None when the subnet has no agent (then
        l2 floods, as without the guard)."""
        subnet = self.client_subnet(client_mac, port_subnet)
        agents = self.fabric.agents_for(subnet)
        if not agents:
            return None
        members = {e.port: e for e in self.members(datapath, domain, in_port)}
        chosen: dict[int, Egress] = {}
        for agent in agents:
            local = next((p for p in switch.ports if p.peer_mac == agent.mac), None)
            number = self.port_numbers[datapath.id].get(local.name) if local else None
            if number is None:
                number = self.where(datapath, domain, agent.mac)
            candidates = [number] if number is not None else [
                self.port_numbers[datapath.id].get(p.name) for p in switch.ports if p.to_switch]
            for candidate in candidates:
                if candidate in members:
                    chosen[candidate] = members[candidate]
        self.logger.info("%s: DHCP from %s (subnet %s) only to port(s) %s", switch.name,
                         client_mac, subnet, ", ".join(self.port_name(datapath, n)
                                                       for n in sorted(chosen)) or "none")
        return [chosen[n] for n in sorted(chosen)]
