"""Assertions over packet captures: the library a check (or a user's pytest
suite) uses to prove a flow from pcaps.

Reading
    ``read(path, point=None)`` -> :class:`Capture` (pcap of either byte order,
    micro- or nanosecond, or pcapng), a sequence of :class:`Packet`;
    ``merge(*captures)`` interleaves several points by time, each packet keeping
    its ``point`` label; ``write_pcap``/``write_pcapng`` save any packets for
    Wireshark.  Decoding is lazy: a field is read from the bytes when it is
    asked for (``p.dhcp.yiaddr``, ``p.tcp.flags``, ``p["ip.ttl"]``).

Matching
    ``eth arp ip udp tcp icmp dhcp dns pkt`` build matchers from field names
    and values (exact, a set of allowed values, or a predicate such as
    ``within("10.1.1.0/24")``, ``present``), combined with ``&``, ``|``, ``~``.
    See :mod:`.match` for the names a keyword can use.

Expecting
    ``expect(packets)`` then ``.sequence(steps, kind=..., only=False)`` (strict:
    nothing else of that kind in between), ``.in_order(steps)`` (others
    allowed in between), ``.count(m, exactly=/at_least=/at_most=)``,
    ``.count_per(field, m, exactly=...)``, ``.none(m)``, ``.one(m)``,
    ``.first(m)``, ``.forwarded(after, ...)`` (across routers),
    ``.translated(outside, ...)`` (across a NAT).  They return what they matched
    and raise :class:`ExpectationFailed` (an ``AssertionError``) naming the
    expectation and listing, one tcpdump-like line each (``describe``), the
    packets that were there instead.
    ``conversation(packets, client, server)`` gives a TCP connection as rows
    (direction, flags, relative seq and ack, length) and checks them.

Worked example: DHCP through the relay gw1 (FLOWS.md, dora-relay), with
captures on xiaoming's wire and on the server's::

    from orchestrator.packets import read, merge, expect, dhcp, arp, present

    client = read("xiaoming-eth0.pcap")
    server = read("srv-eth0.pcap")
    mac = "02:00:0a:01:01:02"

    discover, offer, request, ack = expect(client).sequence(
        [dhcp(type="DISCOVER", chaddr=mac, giaddr="0.0.0.0", src="0.0.0.0",
              dst="255.255.255.255", sport=68, dport=67),
         dhcp(type="OFFER", yiaddr="10.1.1.2"),
         dhcp(type="REQUEST", requested_ip="10.1.1.2", server_id="10.10.10.10"),
         dhcp(type="ACK", yiaddr="10.1.1.2", subnet_mask="255.255.255.0",
              router="10.1.1.1", dns_servers=["10.10.10.10"], lease_time=present)],
        kind=dhcp(chaddr=mac))
    xid = discover.dhcp.xid

    # On the server's LAN: the relayed DISCOVER and the OFFER to giaddr:67.
    relayed, offered = expect(server).sequence(
        [dhcp(type="DISCOVER", giaddr="10.1.1.1", dst="10.10.10.10", dport=67),
         dhcp(type="OFFER", yiaddr="10.1.1.2", dst="10.1.1.1", dport=67)],
        kind=dhcp(xid=xid, type={"DISCOVER", "OFFER"}))

    # Then the client probes its new address before using it.
    expect(client).in_order([dhcp(type="ACK", xid=xid),
                             arp(op="request", sender_ip="0.0.0.0", target_ip="10.1.1.2")])

    # The whole exchange, in time order across both points, for the report:
    print(merge(client, server).filter(dhcp(xid=xid)).describe())

Had the server offered an address of the wrong pool, the failure would read
(long lines wrapped here)::

    step 2 of 4: expected dhcp(type=OFFER, yiaddr=10.1.1.2) after DHCP DISCOVER
      xid 0x1a2b3c4d chaddr 02:00:0a:01:01:02 [broadcast] (step 1, 0.000000
      xiaoming-eth0); the next packet of kind dhcp(chaddr=02:00:0a:01:01:02) did not match
    matched so far:
       0.000000 xiaoming-eth0 0.0.0.0.68 > 255.255.255.255.67: DHCP DISCOVER
         xid 0x1a2b3c4d chaddr 02:00:0a:01:01:02 [broadcast]
    there were instead:
       0.002100 xiaoming-eth0 10.1.1.1.67 > 255.255.255.255.68: DHCP OFFER xid 0x1a2b3c4d
         yiaddr 10.1.2.2 giaddr 10.1.1.1 server-id 10.10.10.10 [broadcast]
         <- yiaddr is 10.1.2.2, not 10.1.1.2
       ...

Field names, per layer (``p.<layer>.<field>``, ``p["<layer>.<field>"]``,
``<layer>(<field>=...)``): ``frame`` time point index number file len caplen;
``eth`` src dst type vlan; ``arp`` op sender_mac sender_ip target_mac
target_ip is_probe is_gratuitous; ``ip`` src dst ttl id proto len hdr_len df
mf frag_offset dsfield checksum host; ``udp`` sport dport port len
payload_len payload; ``tcp`` sport dport port seq ack (relative) seq_raw
ack_raw flags window len (payload) hdr_len payload; ``icmp`` type code id seq
payload; ``dhcp`` op type xid flags broadcast ciaddr yiaddr siaddr giaddr
chaddr hops secs sname file options subnet_mask router dns_servers hostname
domain_name requested_ip lease_time server_id param_request_list message
max_size t1 t2 client_id relay_agent_info; ``dns`` id qr opcode aa tc rd ra
ad cd rcode qdcount ancount nscount arcount qname qtype qclass answers
authority additional a malformed transport.

Modules, one concern each: ``pcapio`` (file formats), ``packet`` (a packet
and its classification), ``fields`` (declaring fields), ``layers``/``dhcp``/
``dns`` (the protocols), ``tcpseq`` (relative numbers), ``captures``
(reading, merging), ``match``, ``expect``, ``correlate``, ``conversation``,
``describe``, ``failure``, ``crosscheck`` (agreement with tshark), ``synth``
(captures of the flows made with scapy, for tests), ``pause`` (why the
garbage collector is paused during scans).
"""

from __future__ import annotations

from .captures import Capture, Packets, from_frames, merge, read
from .conversation import CLIENT_TO_SERVER, SERVER_TO_CLIENT, Conversation, Segment, conversation
from .correlate import Pair, forwarded, pair_up, translated
from .describe import describe, summary
from .dns import Record
from .expect import Expect, expect
from .failure import ExpectationFailed
from .layers import Flags
from .match import (
                    Matcher,
                    absent,
                    arp,
                    between,
                    dhcp,
                    dns,
                    eth,
                    icmp,
                    ip,
                    pkt,
                    present,
                    tcp,
                    udp,
                    within,
)
from .packet import FIELDS, LAYERS, Packet
from .pcapio import CaptureFileError, write_pcap, write_pcapng

__all__ = [
    "CLIENT_TO_SERVER", "Capture", "CaptureFileError", "Conversation", "Expect",
    "ExpectationFailed", "FIELDS", "Flags", "LAYERS", "Matcher", "Packet", "Packets", "Pair",
    "Record", "SERVER_TO_CLIENT", "Segment", "absent", "arp", "between", "conversation",
    "describe", "dhcp", "dns", "eth", "expect", "forwarded", "from_frames", "icmp", "ip", "merge",
    "pair_up", "pkt", "present", "read", "summary", "tcp", "translated", "udp", "within",
    "write_pcap", "write_pcapng",
]
