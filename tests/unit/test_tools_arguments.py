"""The tools' argument types, and the RARP client's and the starvation
attack's command lines: right values parsed, wrong ones refused by name
before anything is sent."""

from __future__ import annotations

import argparse

import pytest

from services.tools import arguments, dhcp_starvation, rarp_client

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("kind, text, value", [
    (arguments.mac, "02:00:0A:01:01:02", "02:00:0a:01:01:02"),
    (arguments.ipv4, "10.1.1.2", "10.1.1.2"),
    (arguments.port, "0", 0),
    (arguments.port, "65535", 65535),
    (arguments.u32, "4294967295", 0xFFFFFFFF),
    (arguments.hex32, "57a70001", 0x57A70001),
    (arguments.count, "1000", 1000),
    (arguments.seconds, "0", 0.0),
    (arguments.seconds, "2.5", 2.5),
    (arguments.rate, "50", 50.0),
])
def test_right_values_are_parsed(kind, text, value):
    assert kind(text) == value


@pytest.mark.parametrize("kind, text, named", [
    (arguments.mac, "02:00:0a:01:01", "not a MAC address"),
    (arguments.mac, "02:00:0a:01:01:0g", "not a MAC address"),
    (arguments.mac, "020:0:0a:01:01:02", "not a MAC address"),
    (arguments.ipv4, "10.1.1.256", "not an IPv4 address"),
    (arguments.ipv4, "fe80::1", "not an IPv4 address"),
    (arguments.port, "65536", "not a port"),
    (arguments.port, "http", "not a port"),
    (arguments.u32, "-1", "not an unsigned 32-bit number"),
    (arguments.hex32, "100000000", "not a 32-bit hex number"),
    (arguments.count, "0", "not a count of at least 1"),
    (arguments.seconds, "-1", "not a duration"),
    (arguments.seconds, "nan", "not seconds"),
    (arguments.rate, "0", "not a rate"),
    (arguments.rate, "inf", "not a rate"),
])
def test_wrong_values_are_refused_saying_what_was_wanted(kind, text, named):
    with pytest.raises(argparse.ArgumentTypeError, match=named):
        kind(text)


def test_the_rarp_client_takes_an_interface_a_wait_and_macs():
    args = rarp_client.parser().parse_args(["xiaoming-eth0", "3", "02:00:0A:01:01:02",
                                            "02:00:0a:01:01:63"])
    assert (args.iface, args.wait, args.macs) == \
        ("xiaoming-eth0", 3.0, ["02:00:0a:01:01:02", "02:00:0a:01:01:63"])


@pytest.mark.parametrize("argv, named", [
    (["xiaoming-eth0", "3"], "the following arguments are required: MAC"),
    (["xiaoming-eth0", "-3", "02:00:0a:01:01:02"], "argument wait: not a duration"),
    (["xiaoming-eth0", "3", "xiaoming"],
     "argument MAC: not a MAC address (like 02:00:0a:01:01:02): 'xiaoming'"),
])
def test_the_rarp_client_refuses_wrong_arguments(argv, named, capsys):
    with pytest.raises(SystemExit) as refused:
        rarp_client.main(argv)
    assert refused.value.code == 2 and named in capsys.readouterr().err


def test_the_attack_takes_its_five_arguments():
    args = dhcp_starvation.parser().parse_args(["h1-eth0", "1000", "100", "3", "02:5a:00:00"])
    assert (args.iface, args.count, args.rate, args.wait, args.prefix) == \
        ("h1-eth0", 1000, 100.0, 3.0, "02:5a:00:00")


@pytest.mark.parametrize("argv, named", [
    (["h1-eth0", "0", "100", "3", "02:5a:00:00"], "argument count: not a count of at least 1"),
    (["h1-eth0", "10", "0", "3", "02:5a:00:00"], "argument rate: not a rate"),
    (["h1-eth0", "10", "100", "3", "02:5a"], "a prefix of four bytes, like 02:5a:00:00"),
    (["h1-eth0", "70000", "100", "3", "02:5a:00:00"], "at most 65536 MACs under one prefix"),
    (["h1-eth0", "10", "100", "3"], "the following arguments are required: prefix"),
])
def test_the_attack_refuses_wrong_arguments_before_sending(argv, named, capsys, monkeypatch):
    monkeypatch.setattr(dhcp_starvation, "attack", lambda *args: pytest.fail("attacked"))
    with pytest.raises(SystemExit) as refused:
        dhcp_starvation.main(argv)
    assert refused.value.code == 2 and named in capsys.readouterr().err
