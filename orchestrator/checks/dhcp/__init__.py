"""DHCP: the checks dora-relay, init-reboot, renew, inform, release and home-dora.

Every check drives a real client inside a PC (ISC dhclient: a fresh start,
a reboot with its lease file, a renewal at T1, ``dhclient -r``) or, for
INFORM, a hand-configured address that sends one crafted message through the
node's own kernel, while tcpdump captures the client's wire, both sides of
its relay and the server's wire.  Then a pure ``judge_*`` function decides
from those packets alone (as :mod:`..arp` does), so unit tests can feed it
right and wrong synthetic captures.

What the two server backends (dnsmasq, ISC dhcpd) do differently on the wire
is said in the evidence, not hidden: the ACK to a relayed INFORM (dnsmasq
answers the relay, dhcpd answers ciaddr straight), T1/T2 in every ACK
(dnsmasq only), and a lease database that holds reservations (dnsmasq only).
ISC dhcrelay, with either backend, also relays a copy of the unicast
messages it overhears on its client side (a renewal, a RELEASE); the
evidence counts those copies.
"""


from __future__ import annotations

from .dora import DoraRelay
from .home import HomeDora
from .inform import Inform
from .reboot import InitReboot
from .release import Release
from .renew import Renew

CHECKS = [DoraRelay, InitReboot, Renew, Inform, Release, HomeDora]
