"""The web server of host ``web`` (services/web), on loopback.

Servers run as ``python -m services.web CONFIG`` subprocesses on 127.0.0.1
with a free port (config port 0; the ``ready`` line says which), exactly as
the orchestrator starts them in an emulated host.  The key test captures
loopback traffic with tcpdump and unpacks the eleven segments of FLOWS.md
(web-11) for each of 20 textbook fetches.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest

from orchestrator.capture.tcpdump import Tcpdump
from services.web.config import ConfigError, load_config, parse_config, render_config
from services.web.pages import TEXTBOOK_PAGE_LIMIT
from services.web.textbook import ClientTiming, fetch

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 5.0


def config_data(tmp_path: Path, mode: str = "normal", **changes) -> dict:
    """Plain template data for a loopback server on a free port."""
    data = {
        "listen": "127.0.0.1",
        "port": 0,
        "mode": mode,
        "log": str(tmp_path / "access.log"),
        "sites": [{"name": "www.baidu.com"},
                  {"name": "baidu.com", "title": "Baidu", "body": "the second site"}],
        "document": {"body": "hello from the emulated internet"},
    }
    data.update(changes)
    return data


# -- a server in a subprocess -------------------------------------------------

@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(DEADLINE)

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def logged(self, count: int) -> None:
        """Wait until the log has ``count`` lines.  A request's line is written
        by its handler thread after the answer went out, so the client may
        already be sending the next request: the log is in completion order."""
        deadline = time.monotonic() + DEADLINE
        while len(self.log_lines()) < count and time.monotonic() < deadline:
            time.sleep(0.01)


@contextmanager
def web_server(tmp_path: Path, mode: str = "normal", **changes):
    data = config_data(tmp_path, mode, **changes)
    config = tmp_path / "web.toml"
    config.write_text(render_config(data))
    proc = subprocess.Popen([sys.executable, "-m", "services.web", str(config)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
        line = proc.stdout.readline() if ready else ""
        assert line.startswith("ready 127.0.0.1:"), \
            f"no ready line within {DEADLINE}s: {line!r} {proc.poll()=}"
        yield Server(proc, int(line.rsplit(":", 1)[1]), Path(data["log"]))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(DEADLINE)
        proc.stdout.close()
        proc.stderr.close()


def get(port: int, path: str = "/", host: str = "www.baidu.com") -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and our FIN (a textbook server waits for it before its
    own), read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


# -- config -------------------------------------------------------------------

def test_render_round_trip(tmp_path):
    data = config_data(tmp_path, "textbook", textbook={"response_pause_ms": 15},
                       idle_timeout_s=3, document={"title": 'quote " and \\ and \x7f'})
    config = parse_config(tomllib.loads(render_config(data)))
    assert (config.listen, config.port, config.mode) == ("127.0.0.1", 0, "textbook")
    assert config.log == tmp_path / "access.log"
    assert [site.name for site in config.sites] == ["www.baidu.com", "baidu.com"]
    assert config.sites[0].title == 'quote " and \\ and \x7f'
    assert config.sites[1].title == "Baidu"
    assert config.textbook.response_pause == 0.015
    assert config.idle_timeout == 3


def test_title_defaults_to_site_name(tmp_path):
    config = parse_config(tomllib.loads(render_config(config_data(tmp_path, document={}))))
    assert config.sites[0].title == "www.baidu.com"
    assert b"<title>www.baidu.com</title>" in config.sites[0].page


def test_render_refuses_missing_value(tmp_path):
    data = config_data(tmp_path)
    del data["document"]
    with pytest.raises(jinja2.UndefinedError, match="document"):
        render_config(data)


@pytest.mark.parametrize("change, field", [
    ({"port": 70000}, "port"),
    ({"port": "80"}, "port"),
    ({"mode": "fast"}, "mode"),
    ({"listen": "www.baidu.com"}, "listen"),
    ({"log": ""}, "log"),
    ({"site": []}, "site"),
    ({"site": [{"name": "bad_name!"}]}, "site[0].name"),
    ({"site": [{"name": "a.com"}, {"name": "A.com."}]}, "site[1].name"),
    ({"site": [{"title": "no name"}]}, "site[0].name"),
    ({"site": [{"name": "a.com", "colour": "red"}]}, "site[0].colour"),
    ({"prot": 80}, "prot"),
    ({"document": {"body": 5}}, "document.body"),
    ({"idle_timeout_s": 0}, "idle_timeout_s"),
    ({"textbook": {"response_pause_ms": 20}}, "textbook"),  # mode is normal
    ({"mode": "textbook", "textbook": {"response_pause_ms": -1}},
     "textbook.response_pause_ms"),
    ({"mode": "textbook", "textbook": {"pause": 1}}, "textbook.pause"),
    ({"mode": "textbook", "document": {"body": "x" * TEXTBOOK_PAGE_LIMIT}}, "document.body"),
    ({"mode": "textbook", "site": [{"name": "a.com", "body": "x" * 2000}]}, "site[0].body"),
])
def test_config_errors_name_the_field(change, field):
    data = {"listen": "127.0.0.1", "port": 80, "mode": "normal", "log": "/tmp/web.log",
            "site": [{"name": "www.baidu.com"}]}
    data.update(change)
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_missing_required_key():
    with pytest.raises(ConfigError, match="^listen: is required"):
        parse_config({"log": "/tmp/web.log", "site": [{"name": "a.com"}]})


def test_not_toml(tmp_path):
    path = tmp_path / "web.toml"
    path.write_text("listen = \n")
    with pytest.raises(ConfigError, match="^file: .* is not valid TOML"):
        load_config(path)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.web", *args], check=False, cwd=REPO,
                          capture_output=True, text=True, timeout=DEADLINE)


def test_check_command(tmp_path):
    config = tmp_path / "web.toml"
    config.write_text(render_config(config_data(tmp_path)))
    result = run_cli("check", str(config))
    assert result.returncode == 0, result.stderr
    assert "ok (normal mode, 2 site(s), listen 127.0.0.1:0)" in result.stdout

    config.write_text(render_config(config_data(tmp_path, log=str(tmp_path / "no/such/dir/x.log"))))
    result = run_cli("check", str(config))
    assert result.returncode == 2
    assert "log: directory" in result.stderr and "does not exist" in result.stderr

    config.write_text(config.read_text().replace('mode = "normal"', 'mode = "fast"'))
    result = run_cli("check", str(config))
    assert (result.returncode, result.stderr.split(": ")[2]) == (2, "mode")


def test_serve_refuses_bad_config_before_binding(tmp_path):
    config = tmp_path / "web.toml"
    config.write_text(render_config(config_data(tmp_path)).replace("port = 0", "port = 99999"))
    result = run_cli(str(config))
    assert result.returncode == 2
    assert "port: 99999 is out of range" in result.stderr
    assert result.stdout == ""


# -- normal mode ----------------------------------------------------------------

def test_normal_serves_pages_by_host(tmp_path):
    with web_server(tmp_path) as server:
        status, page = get(server.port)
        assert status == 200
        assert "<title>www.baidu.com</title>" in page
        assert "hello from the emulated internet" in page
        server.logged(1)
        assert get(server.port, "/index.html?wd=flowlab")[0] == 200
        server.logged(2)

        status, page = get(server.port, host="BAIDU.com:80")
        assert (status, "<title>Baidu</title>" in page) == (200, True)
        server.logged(3)

        # Not one of the sites: the first site answers, as a default vhost.
        status, page = get(server.port, host="61.135.169.125")
        assert (status, "<title>www.baidu.com</title>" in page) == (200, True)
        server.logged(4)

        status, page = get(server.port, "/missing")
        assert status == 404 and "404" in page
        assert server.stop() == 0
    lines = server.log_lines()
    assert len(lines) == 5
    assert '"GET / HTTP/1.1" host=www.baidu.com site=www.baidu.com 200' in lines[0]
    assert "host=BAIDU.com:80 site=baidu.com 200" in lines[2]
    assert "site=www.baidu.com 404" in lines[4]


def test_normal_keeps_connection_alive(tmp_path):
    with web_server(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE)
        peers = []
        for method in ("GET", "HEAD", "GET"):
            connection.request(method, "/", headers={"Host": "www.baidu.com"})
            response = connection.getresponse()
            body = response.read()
            peers.append(connection.sock.getsockname())
            assert response.status == 200
            assert response.getheader("Connection") is None
            assert (body == b"") == (method == "HEAD")
        connection.close()
        assert len(set(peers)) == 1  # one TCP connection for all three


@pytest.mark.parametrize("request_bytes", [
    b"garbage\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n",   # a TLS ClientHello
    b"GET / HTTP/1.1\r\n\r\n",                                   # HTTP/1.1 without Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",             # two Hosts
    b"GET / HTTP/9.9\r\nHost: www.baidu.com\r\n\r\n",
])
@pytest.mark.parametrize("mode", ["normal", "textbook"])
def test_bad_requests_get_400(tmp_path, mode, request_bytes):
    with web_server(tmp_path, mode) as server:
        answer = raw_exchange(server.port, request_bytes)
        assert answer.split(b"\r\n", 1)[0] in (b"HTTP/1.1 400 Bad Request",
                                                b"HTTP/1.1 505 HTTP Version Not Supported")
        assert b"Connection: close" in answer
        assert server.stop() == 0
    assert len(server.log_lines()) == 1


def test_http10_without_host_gets_first_site(tmp_path):
    with web_server(tmp_path) as server:
        answer = raw_exchange(server.port, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"<title>www.baidu.com</title>" in answer


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_with_status_0(tmp_path, signum):
    with web_server(tmp_path) as server:
        # An idle keep-alive client must not hold up the stop.
        with socket.create_connection(("127.0.0.1", server.port)):
            assert server.stop(signum) == 0
        assert server.proc.stdout.read() == ""  # nothing after the ready line


# -- textbook mode ----------------------------------------------------------------

FAST = ClientTiming(close_pause=0.010)


def test_textbook_fetch_returns_page(tmp_path):
    with web_server(tmp_path, "textbook", textbook={"response_pause_ms": 10}) as server:
        result = fetch("127.0.0.1", "www.baidu.com", port=server.port, timing=FAST)
        assert (result.status, result.reason) == (200, "OK")
        assert b"<title>www.baidu.com</title>" in result.body
        assert result.headers["connection"] == "close"
        assert int(result.headers["content-length"]) == len(result.body)
        assert result.server_fin
        assert tcp_state(result.local[1], server.port) == "TIME_WAIT"
        deadline = time.monotonic() + DEADLINE  # the server's side: closed, gone
        while tcp_state(server.port, result.local[1]) is not None:
            assert time.monotonic() < deadline, tcp_state(server.port, result.local[1])
            time.sleep(0.01)

        other = fetch("127.0.0.1", "baidu.com", "/nothing", server.port, FAST)
        assert other.status == 404
        # An ordinary client is served too (one request, then close).
        assert get(server.port)[0] == 200
        assert server.stop() == 0
    lines = server.log_lines()
    assert len(lines) == 3
    assert f"127.0.0.1:{result.local[1]} textbook \"GET / HTTP/1.1\"" in lines[0]


def test_fetch_command(tmp_path):
    with web_server(tmp_path, "textbook") as server:
        result = run_cli("fetch", "--textbook", f"http://www.baidu.com:{server.port}/",
                         "--address", "127.0.0.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("200 OK length=")
    assert run_cli("fetch", "http://www.baidu.com/").returncode == 2  # --textbook is required


# The eleven segments of FLOWS.md (web-11): direction, flags, seq, ack, payload
# length, in terms of x, y (initial sequence numbers) and L, R (request and
# response lengths).
ELEVEN = [
    ("c>s", "S",  "x",     None,    "0"),
    ("s>c", "SA", "y",     "x+1",   "0"),
    ("c>s", "A",  "x+1",   "y+1",   "0"),
    ("c>s", "PA", "x+1",   "y+1",   "L"),
    ("s>c", "A",  "y+1",   "x+1+L", "0"),
    ("s>c", "PA", "y+1",   "x+1+L", "R"),
    ("c>s", "A",  "x+1+L", "y+1+R", "0"),
    ("c>s", "FA", "x+1+L", "y+1+R", "0"),
    ("s>c", "A",  "y+1+R", "x+2+L", "0"),
    ("s>c", "FA", "y+1+R", "x+2+L", "0"),
    ("c>s", "A",  "x+2+L", "y+2+R", "0"),
]
RUNS = 20


def test_textbook_eleven_segments(tmp_path):
    """The determinism requirement: 20 fetches, eleven segments each."""
    pcap = tmp_path / "test_textbook_eleven_segments.pcap"
    with (web_server(tmp_path, "textbook", textbook={"response_pause_ms": 10}) as server,
          tcpdump_lo(pcap, server.port, expected=RUNS * len(ELEVEN))):
        results = [fetch("127.0.0.1", "www.baidu.com", port=server.port, timing=FAST)
                   for _ in range(RUNS)]
    assert all(result.status == 200 and result.server_fin for result in results)

    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap
    by_client_port: dict[int, list] = {}
    for packet in rdpcap(str(pcap)):
        tcp = packet[TCP]
        client_port = tcp.sport if tcp.dport == server.port else tcp.dport
        by_client_port.setdefault(client_port, []).append(packet)
    assert len(by_client_port) == RUNS

    for result in results:
        segments = by_client_port[result.local[1]]
        summary = [f"{'c>s' if p[TCP].dport == server.port else 's>c'} {p[TCP].flags} "
                   f"len={len(p[TCP].payload)}" for p in segments]
        assert len(segments) == len(ELEVEN), f"port {result.local[1]}: {summary}"
        syn, syn_ack = segments[0][TCP], segments[1][TCP]
        values = {"x": syn.seq, "y": syn_ack.seq,
                  "L": result.request_length, "R": result.response_length}
        for number, (packet, (direction, flags, seq, ack, length)) in enumerate(
                zip(segments, ELEVEN, strict=True), start=1):
            tcp = packet[TCP]
            where = f"port {result.local[1]}, segment {number}: {summary}"
            assert ("c>s" if tcp.dport == server.port else "s>c") == direction, where
            assert str(tcp.flags) == flags, where
            assert tcp.seq == eval(seq, values) % 2**32, where
            if ack is not None:
                assert tcp.ack == eval(ack, values) % 2**32, where
            assert len(bytes(tcp.payload)) == eval(length, values), where
            assert packet[IP].len - packet[IP].ihl * 4 - tcp.dataofs * 4 == eval(length, values)


# -- capture and socket-state helpers ---------------------------------------------

@contextmanager
def tcpdump_lo(path: Path, port: int, expected: int):
    """tcpdump on lo for ``tcp port PORT`` into ``path``; on exit, waits until
    ``expected`` packets are written, then a little more (past the 200 ms
    delayed-ACK limit) so that any extra segment is caught too."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    if os.geteuid() != 0:
        pytest.skip("capturing on lo needs root (CAP_NET_RAW)")
    capture = Tcpdump.local("lo", path, f"tcp port {port}").start()
    try:
        yield
        deadline = time.monotonic() + DEADLINE
        while pcap_count(path) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        capture.stop()
    assert capture.dropped == 0, f"the kernel dropped {capture.dropped} packets of the capture"


def pcap_count(path: Path) -> int:
    """Complete packet records in a pcap file being written."""
    data = path.read_bytes() if path.exists() else b""
    count, offset = 0, 24
    while offset + 16 <= len(data):
        (length,) = struct.unpack_from("=I", data, offset + 8)
        offset += 16 + length
        if offset <= len(data):
            count += 1
    return count


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}


def tcp_state(local_port: int, remote_port: int) -> str | None:
    """The state of the IPv4 socket with these ports, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(a.split(":")[1], 16) for a in fields[1:3])
        if (local, remote) == (local_port, remote_port):
            return TCP_STATES.get(fields[3], fields[3])
    return None


def test_fetch_command_counts(tmp_path):
    """--count N: N fetches in one process, one JSON line each, each a new
    connection (its own local port); a count below 1 is refused."""
    with web_server(tmp_path, "textbook") as server:
        result = run_cli("fetch", "--textbook", "--json", "--count", "3",
                         f"http://www.baidu.com:{server.port}/", "--address", "127.0.0.1")
    assert result.returncode == 0, result.stderr
    fetches = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["status"] for f in fetches] == [200, 200, 200]
    assert len({f["local"] for f in fetches}) == 3 and all(f["server_fin"] for f in fetches)
    refused = run_cli("fetch", "--textbook", "--count", "0", "http://www.baidu.com/")
    assert refused.returncode == 2 and "--count" in refused.stderr
