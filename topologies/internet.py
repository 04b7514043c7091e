"""The emulated internet that ``enterprise`` and ``home`` reach through NAT.

::

                          isp (router)
     uplink ------------- isp-eth0            (the customer's WAN link)
     pubdns   8.8.8.8 ---- isp-eth1  8.8.8.1
     web      61.135.169.125 -- isp-eth2  61.135.169.1     www.baidu.com (:80, :8080)
     root     198.41.0.4 ----- isp-eth3  198.41.0.1         a.root-servers.net
     tld      192.5.6.30 ----- isp-eth4  192.5.6.1          a.gtld-servers.net (com.)
     auth     202.108.22.220 - isp-eth5  202.108.22.1       ns1.baidu.com (baidu.com.)

Every server sits alone on its own /24, point to point with the isp router,
so each has "one interface per internet subnet" as the texts draw it.
``web`` serves www.baidu.com twice: an ordinary server on port 80 (what curl
and browsers get) and the texts' "textbook" server on port 8080, whose
exchange with the textbook client is the eleven segments of web-11.  The
isp router knows no route to any private network: the customer's edge must
translate, as on the real internet.  Nothing here is ever connected to the
machine's real interfaces.
"""

from __future__ import annotations

from orchestrator.model import Router, Topology, service

TEXTBOOK_PORT = 8080

ROOT_HINTS = [("a.root-servers.net.", "198.41.0.4")]

ZONES = {
    "root": {
        ".": [
            ". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
            ". 518400 IN NS a.root-servers.net.",
            "a.root-servers.net. 518400 IN A 198.41.0.4",
            "com. 172800 IN NS a.gtld-servers.net.",
            "a.gtld-servers.net. 172800 IN A 192.5.6.30",
        ],
    },
    "tld": {
        "com.": [
            "com. 900 IN SOA a.gtld-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
            "com. 172800 IN NS a.gtld-servers.net.",
            "a.gtld-servers.net. 172800 IN A 192.5.6.30",
            "baidu.com. 172800 IN NS ns1.baidu.com.",
            "ns1.baidu.com. 172800 IN A 202.108.22.220",
        ],
    },
    "auth": {
        "baidu.com.": [
            "baidu.com. 600 IN SOA ns1.baidu.com. dnsadmin.baidu.com. 1 300 300 2592000 600",
            "baidu.com. 86400 IN NS ns1.baidu.com.",
            "ns1.baidu.com. 86400 IN A 202.108.22.220",
            "www.baidu.com. 300 IN A 61.135.169.125",
            "news.baidu.com. 300 IN CNAME www.baidu.com.",
            # An RRset too large for 512 bytes of UDP: answered with TC=1, so
            # resolvers must retry over TCP.
            *[f"many.baidu.com. 300 IN A 61.135.170.{i}" for i in range(1, 41)],
        ],
    },
}

# (node, its address, the isp's address on that subnet, services)
SERVERS = [
    ("pubdns", "8.8.8.8/24", "8.8.8.1/24",
     [service("dns-resolver", mode="recursive", root_hints=ROOT_HINTS)]),
    ("web", "61.135.169.125/24", "61.135.169.1/24",
     [service("http", sites=["www.baidu.com"]),
      service("http", sites=["www.baidu.com"], mode="textbook", port=TEXTBOOK_PORT)]),
    ("root", "198.41.0.4/24", "198.41.0.1/24",
     [service("dns-authoritative", zones=ZONES["root"])]),
    ("tld", "192.5.6.30/24", "192.5.6.1/24",
     [service("dns-authoritative", zones=ZONES["tld"])]),
    ("auth", "202.108.22.220/24", "202.108.22.1/24",
     [service("dns-authoritative", zones=ZONES["auth"])]),
]


def add_internet(topo: Topology, customer: Router, customer_wan: str, isp_side: str) -> Router:
    """Add the isp router and its servers, and link ``customer``'s WAN
    (``customer_wan``, address/prefix; masqueraded) to the isp
    (``isp_side``).  Returns the isp router."""
    isp = topo.router("isp", description="router of the emulated internet")
    topo.link(customer, isp, ip=customer_wan, nat=True, peer_ip=isp_side)
    for name, address, isp_address, services in SERVERS:
        host = topo.host(name, gateway=isp_address.split("/")[0], services=services)
        topo.link(host, isp, ip=address, peer_ip=isp_address)
    customer.route("default", via=isp_side.split("/")[0])
    return isp
