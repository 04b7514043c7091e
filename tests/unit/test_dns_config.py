"""Configs of the DNS daemons: rendering from the topology's plain data,
validation that names the field, and the ``check`` dry run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services.dns.config import (
    AuthoritativeConfig,
    ResolverConfig,
    load_config,
    parse_config,
    render_authoritative_config,
    render_resolver_config,
)
from services.dns.endpoint import Endpoint, parse_endpoint
from topologies.internet import ROOT_HINTS, ZONES

REPO = Path(__file__).resolve().parents[2]


def resolver_text(**overrides) -> str:
    data = dict(listen="10.10.10.10", mode="forward", forwarders=["8.8.8.8"],
                query_log="/run/flowlab/x/srv/dns-resolver.log")
    data.update(overrides)
    return render_resolver_config(**data)


# -- rendering ---------------------------------------------------------------
def test_render_forward_resolver_as_the_enterprise_declares_it():
    text = resolver_text()
    config = parse_config(text)
    assert isinstance(config, ResolverConfig)
    assert config.mode == "forward" and config.forwarders == (Endpoint("8.8.8.8", 53),)
    assert config.server.listen == "10.10.10.10" and config.server.port == 53
    assert str(config.server.query_log) == "/run/flowlab/x/srv/dns-resolver.log"
    assert config.timeout == 2.0 and config.attempts == 2
    assert tomllib.loads(text)["service"] == "dns-resolver"


def test_render_recursive_resolver_with_the_internet_root_hints():
    config = parse_config(render_resolver_config(listen="8.8.8.8", mode="recursive",
                                                 root_hints=ROOT_HINTS, query_log="q.log"))
    assert config.mode == "recursive" and config.forwarders == ()
    [hint] = config.root_hints
    assert hint.name == "a.root-servers.net." and hint.endpoint == Endpoint("198.41.0.4", 53)


def test_ports_on_upstreams_and_hints():
    config = parse_config(render_resolver_config(
        listen="127.0.0.31", port=5353, mode="recursive", nameserver_port=5354, timeout=0.5,
        forwarders=["127.0.0.11:5300", "[::1]:5301", "::1"],
        root_hints=[("a.root-servers.net.", "127.0.0.21:5353"),
                    {"name": "b.root-servers.net.", "address": "127.0.0.22", "port": 5355}]))
    assert config.server.port == 5353 and config.nameserver_port == 5354
    assert config.forwarders == (Endpoint("127.0.0.11", 5300), Endpoint("::1", 5301),
                                 Endpoint("::1", 53))
    assert [h.endpoint for h in config.root_hints] == [Endpoint("127.0.0.21", 5353),
                                                       Endpoint("127.0.0.22", 5355)]
    assert config.timeout == 0.5


def test_render_authoritative_with_the_internet_zones():
    for node in ("root", "tld", "auth"):
        config = parse_config(render_authoritative_config(listen="192.0.2.1",
                                                          zones=ZONES[node]))
        assert isinstance(config, AuthoritativeConfig)
        assert [z.origin for z in config.zones] == list(ZONES[node])
        assert list(config.zones[0].records) == list(ZONES[node].values())[0]


def test_render_escapes_toml_special_characters():
    lines = ZONES["auth"]["baidu.com."] + [
        'q.baidu.com. 60 IN TXT "quote \\" backslash \\\\ tab\tend"']
    config = parse_config(render_authoritative_config(listen="127.0.0.1", zones={"baidu.com.": lines},
                                                      query_log='/tmp/odd "name".log'))
    assert config.zones[0].records[-1] == lines[-1]
    assert str(config.server.query_log) == '/tmp/odd "name".log'


def test_render_missing_field_is_named():
    with pytest.raises(ValueError, match="listen"):
        render_resolver_config(mode="forward", forwarders=["8.8.8.8"])
    with pytest.raises(ValueError, match="zones"):
        render_authoritative_config(listen="127.0.0.1")


def test_render_unknown_field_is_named():
    with pytest.raises(ValueError, match="'forwarder'"):
        render_resolver_config(listen="127.0.0.1", mode="forward", forwarder=["8.8.8.8"])


def test_rendered_config_is_validated_before_anyone_launches_it():
    with pytest.raises(ValueError, match=r"resolver\.forwarders: forward mode needs"):
        render_resolver_config(listen="127.0.0.1", mode="forward")
    with pytest.raises(ValueError, match=r"zone\[0\]\.records\[1\]"):
        render_authoritative_config(listen="127.0.0.1",
                                    zones={"x.": ["x. 60 IN SOA a. b. 1 2 3 4 5", "x. 60 IN A 1"]})


# -- validation names the field ---------------------------------------------------
BASE = """service = "dns-resolver"
[server]
listen = "127.0.0.1"
port = 53
[resolver]
mode = "forward"
forwarders = ["127.0.0.11:5300"]
"""


@pytest.mark.parametrize("old, new, field", [
    ('mode = "forward"', 'mode = "stub"', "resolver.mode"),
    ('["127.0.0.11:5300"]', '["127.0.0.11:5300", "not-an-ip"]', r"resolver.forwarders\[1\]"),
    ('["127.0.0.11:5300"]', '["127.0.0.11:99999"]', r"resolver.forwarders\[0\]"),
    ('["127.0.0.11:5300"]', '[]', "resolver.forwarders"),
    ('mode = "forward"', 'mode = "recursive"', "resolver.root_hints"),
    ("port = 53", "port = 70000", "server.port"),
    ("port = 53", 'port = "53"', "server.port"),
    ('listen = "127.0.0.1"', 'listen = "localhost"', "server.listen"),
    ('listen = "127.0.0.1"', 'lisen = "127.0.0.1"', "server.listen: missing"),
    ('mode = "forward"', 'mode = "forward"\ntimeout = -1', "resolver.timeout"),
    ('mode = "forward"', 'mode = "forward"\ntimeout = true', "resolver.timeout"),
    ('mode = "forward"', 'mode = "forward"\nattempts = 0', "resolver.attempts"),
    ('mode = "forward"', 'mode = "forward"\nretries = 3', "resolver.retries: unknown field"),
    ('5300"]\n', '5300"]\n[limits]\nmax_queries = 0\n', "limits.max_queries"),
    ('service = "dns-resolver"', 'service = "dhcp"', "service"),
    ('[server]', '[server\n', "not valid TOML"),
])
def test_resolver_validation_names_the_field(old, new, field):
    parse_config(BASE)                                   # the base is valid
    assert old in BASE
    with pytest.raises(ValueError, match=field):
        parse_config(BASE.replace(old, new, 1))


def test_root_hint_fields_are_named():
    text = BASE.replace('mode = "forward"', 'mode = "recursive"') + (
        'root_hints = [{ name = "a.root-servers.net.", address = "127.0.0.21:5353", port = 5354 }]\n')
    with pytest.raises(ValueError, match=r"resolver.root_hints\[0\]\.port"):
        parse_config(text)
    with pytest.raises(ValueError, match=r"resolver.root_hints\[0\]\.name"):
        parse_config(text.replace("a.root-servers.net.", "a.root-servers.net").replace(
            ", port = 5354", ""))


@pytest.mark.parametrize("zone_text, field", [
    ('[[zone]]\norigin = "baidu.com"\nrecords = []\n', r"zone\[0\]\.origin"),
    ('[[zone]]\norigin = "baidu.com."\nrecords = ["baidu.com. 60 IN NS ns1.baidu.com."]\n',
     r"zone\[0\]\.records: zone baidu.com. needs exactly one SOA"),
    ('[[zone]]\norigin = "baidu.com."\nrecords = "www"\n', r"zone\[0\]\.records"),
    ('[[zone]]\norigin = "baidu.com."\n', r"zone\[0\]\.records: missing"),
    ('', "zone: missing"),
])
def test_authoritative_validation_names_the_field(zone_text, field):
    text = 'service = "dns-authoritative"\n[server]\nlisten = "127.0.0.1"\n' + zone_text
    with pytest.raises(ValueError, match=field):
        parse_config(text)


@pytest.mark.parametrize("text, port", [("192.0.2.1", 53), ("192.0.2.1:5300", 5300),
                                        ("[2001:db8::1]:5300", 5300), ("2001:db8::1", 53)])
def test_endpoints(text, port):
    assert parse_endpoint(text, "f").port == port


@pytest.mark.parametrize("text", ["", "192.0.2.1:", "192.0.2.1:0", "[::1", "[::1]5300", "host:53"])
def test_bad_endpoints_name_the_field(text):
    with pytest.raises(ValueError, match="^f: "):
        parse_endpoint(text, "f")


# -- files and the dry run ---------------------------------------------------------
def test_load_config_from_a_file(tmp_path):
    path = tmp_path / "resolver.toml"
    path.write_text(resolver_text())
    assert load_config(path).forwarders == (Endpoint("8.8.8.8", 53),)
    with pytest.raises(ValueError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def _check(path):
    return subprocess.run([sys.executable, "-m", "services.dns", "check", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=30)


def test_check_command_is_a_dry_run(tmp_path):
    good = tmp_path / "auth.toml"
    good.write_text(render_authoritative_config(listen="198.41.0.4", zones=ZONES["root"]))
    result = _check(good)
    assert result.returncode == 0 and result.stdout.startswith("ok: ")
    assert "dns-authoritative" in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('mode = "forward"', 'mode = "stub"'))
    result = _check(bad)
    assert result.returncode == 2 and "resolver.mode" in result.stderr and not result.stdout
