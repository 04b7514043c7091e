"""The DHCPINFORM sender without a lab: the INFORM it builds, the ACK it
picks out of the frames that pass, its arguments and what it prints."""

from __future__ import annotations

import json

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from services.tools import dhcp_inform

pytestmark = pytest.mark.timeout(30)

ADDRESS, MAC, XID = "10.1.1.50", "02:00:0a:01:01:02", 0x1234ABCD
SERVER = "10.10.10.2"


def ack(xid: int = XID, op: int = 2, message: str = "ack") -> bytes:
    return bytes(Ether(src="02:00:0a:01:01:01", dst="ff:ff:ff:ff:ff:ff")
                 / IP(src=SERVER, dst="255.255.255.255") / UDP(sport=67, dport=68)
                 / BOOTP(op=op, xid=xid, ciaddr=ADDRESS, flags=0x8000,
                         chaddr=bytes.fromhex(MAC.replace(":", "")))
                 / DHCP(options=[("message-type", message), ("server_id", SERVER),
                                 ("subnet_mask", "255.255.255.0"), ("router", "10.1.1.1"),
                                 ("name_server", "10.10.10.10"), "end"]))


def test_the_inform_carries_ciaddr_chaddr_and_the_parameters_asked():
    bootp = BOOTP(dhcp_inform.inform(ADDRESS, MAC, XID))
    assert (bootp.op, bootp.xid, bootp.flags, bootp.ciaddr, bootp.yiaddr) == \
        (1, XID, 0x8000, ADDRESS, "0.0.0.0")
    assert bytes(bootp.chaddr)[:6].hex(":") == MAC
    options = bootp[DHCP].options
    assert options[0] == ("message-type", 8)                       # DHCPINFORM
    assert ("param_req_list", [1, 3, 6, 15]) in options
    assert not any(o[0] in ("requested_addr", "lease_time") for o in options
                   if isinstance(o, tuple))


def test_the_answer_is_the_reply_with_our_xid():
    got = dhcp_inform.answer(ack(), XID)
    assert got == {"yiaddr": "0.0.0.0",
                   "options": {"message-type": "5", "server_id": SERVER,
                               "subnet_mask": "255.255.255.0", "router": "10.1.1.1",
                               "name_server": "10.10.10.10"}}
    assert json.loads(json.dumps(got)) == got


@pytest.mark.parametrize("frame", [
    ack(xid=XID + 1),                                   # someone else's transaction
    ack(op=1, message="inform"),                        # our own INFORM, seen going out
    bytes(Ether() / IP() / UDP(sport=67, dport=68)),    # no BOOTP
    bytes(Ether() / IP() / UDP(sport=67, dport=68) / BOOTP(op=2, xid=XID)),   # no DHCP
])
def test_other_frames_are_not_the_answer(frame):
    assert dhcp_inform.answer(frame, XID) is None


def test_arguments_are_parsed_and_the_xid_is_hex():
    args = dhcp_inform.parser().parse_args(["xiaoming-eth0", ADDRESS, MAC.upper(), "1234abcd"])
    assert (args.iface, args.address, args.mac, args.xid) == ("xiaoming-eth0", ADDRESS, MAC, XID)


@pytest.mark.parametrize("argv, named", [
    (["eth0", "10.1.1.500", MAC, "1"], "not an IPv4 address: '10.1.1.500'"),
    (["eth0", ADDRESS, "02:00:0a:01:01", "1"], "not a MAC address"),
    (["eth0", ADDRESS, MAC, "xyz"], "not a 32-bit hex number: 'xyz'"),
    (["eth0", ADDRESS, MAC, "1ffffffff"], "not a 32-bit hex number"),
    (["eth0", ADDRESS, MAC], "the following arguments are required: xid"),
])
def test_wrong_arguments_are_refused_by_name(argv, named, capsys):
    with pytest.raises(SystemExit) as refused:
        dhcp_inform.main(argv)
    assert refused.value.code == 2 and named in capsys.readouterr().err


def test_main_prints_the_answer_as_one_json_line(monkeypatch, capsys):
    asked = []

    def ask(*args):
        asked.append(args)
        return {"yiaddr": "0.0.0.0", "options": {"message-type": "5"}}

    monkeypatch.setattr(dhcp_inform, "ask", ask)
    assert dhcp_inform.main(["eth0", ADDRESS, MAC, "1234abcd"]) == 0
    assert asked == [("eth0", ADDRESS, MAC, XID)]
    assert json.loads(capsys.readouterr().out) == {"yiaddr": "0.0.0.0",
                                                   "options": {"message-type": "5"}}


def test_main_says_when_nothing_answered(monkeypatch, capsys):
    monkeypatch.setattr(dhcp_inform, "ask", lambda *args: None)
    assert dhcp_inform.main(["eth0", ADDRESS, MAC, "1"]) == 1
    printed = capsys.readouterr()
    assert (printed.out, printed.err) == ("", "no answer to the DHCPINFORM\n")
