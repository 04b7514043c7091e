"""Where real captures disagree with the texts (FLOWS.md, "Errata").

Each entry says what the text says and what the wire shows; a check that
demonstrates one records it with the evidence from its own capture, and the
report prints it next to that check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Erratum:
    key: str
    texts_say: str
    wire: str


ERRATA: dict[str, Erratum] = {e.key: e for e in (
    Erratum("dhcp-ports",
            "000: DISCOVER goes to port 68 from port 67, the OFFER to 67 from 68",
            "the client sends from 68 to 67 and the server answers from 67 to 68"),
    Erratum("relay-source",
            "000: the relayed packet's source IP is the gateway's address (10.1.2.1)",
            "ISC dhcrelay sends from its upstream interface's address and carries the "
            "gateway's address in giaddr"),
    Erratum("offer-unicast",
            "000: the OFFER is sent as unicast",
            "unicast or broadcast depends on the client's BROADCAST flag"),
    Erratum("arp-ethertype",
            "000: ARP and RARP frames carry type 0x0800",
            "ARP is 0x0806 (RARP 0x8035); 0x0800 is IPv4"),
    Erratum("arp-expiry",
            "001: an ARP cache entry has a lifetime; when it ends, the whole exchange is "
            "repeated (a broadcast request)",
            "Linux keeps an expired entry as STALE and still sends with it; on use it waits "
            "delay_first_probe_time (DELAY), then confirms the entry with requests unicast to "
            "the cached MAC (PROBE, ucast_solicit = 3); it broadcasts again only once the entry "
            "is gone (garbage-collected, or FAILED after unanswered probes)"),
    Erratum("synack-retries",
            "001: the SYN-ACK is retransmitted every 3 s, five times",
            "Linux backs off from 1 s: 1, 2, 4, 8, 16 s (net.ipv4.tcp_synack_retries = 5)"),
    Erratum("keepalive",
            "001: 10 probes every 75 s after 2 hours",
            "Linux defaults to 9 probes (net.ipv4.tcp_keepalive_probes), 75 s apart, after 2 h"),
    Erratum("time-wait",
            "TIME_WAIT lasts 2MSL",
            "Linux holds TIME_WAIT for a fixed 60 s"),
)}
