"""The command line without root: list, validate, user topology files,
and the errors a user meets before anything is created."""

from __future__ import annotations

import json
import textwrap

import pytest

from orchestrator.cli import _parse, main

GOOD_FILE = '''
"""Two PCs on one switch."""
from orchestrator.model import Topology

def build(options):
    topo = Topology("mini", "two PCs", options)
    sw = topo.switch("sw", subnet=topo.subnet("10.9.0.0/24"))
    for name, ip in (("pc1", "10.9.0.1/24"), ("pc2", "10.9.0.2/24")):
        topo.link(topo.host(name), sw, ip=ip)
    return topo
'''


def write(tmp_path, text, name="lab.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_list_names_every_topology(capsys):
    assert main(["list", "--format", "json"]) == 0
    listed = {t["name"]: t["description"] for t in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"enterprise", "home", "arp-lan", "scale"}
    assert all(listed.values())


def test_list_table(capsys):
    assert main(["list"]) == 0
    assert "enterprise" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["enterprise"], ["enterprise", "--no-vlan"], ["home"],
                                  ["arp-lan"], ["enterprise", "--dhcp-server", "isc"]])
def test_shipped_topologies_validate(args, capsys):
    assert main(["validate", *args]) == 0
    assert "valid" in capsys.readouterr().out


def test_user_file_by_path(tmp_path, capsys):
    assert main(["validate", write(tmp_path, GOOD_FILE)]) == 0
    assert "mini: valid (3 nodes, 2 links)" in capsys.readouterr().out


def test_broken_user_topology_names_node_and_field(tmp_path, capsys):
    path = write(tmp_path, GOOD_FILE.replace('"10.9.0.2/24"', '"10.9.0.1/24"'))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "pc2: pc2-eth0: ip" in err and "10.9.0.1" in err


def test_validate_json_lists_problems(tmp_path, capsys):
    path = write(tmp_path, GOOD_FILE.replace('"10.9.0.2/24"', '"10.8.0.2/24"'))
    assert main(["validate", path, "--format", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["problems"][0]["node"] == "pc2"


def test_file_that_fails_to_import_shows_the_users_traceback(tmp_path, capsys):
    path = write(tmp_path, "import os\nx = 1\nraise RuntimeError('my mistake')\n")
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "failed to load" in err
    assert f'File "{path}", line 3' in err and "RuntimeError: my mistake" in err
    assert "importlib" not in err


@pytest.mark.parametrize("text", ["import sys\nsys.exit(0)\n",
                                  "import sys\ndef build(options):\n    sys.exit(0)\n"],
                         ids=["at-import", "in-build"])
def test_a_sys_exit_in_the_users_file_is_a_failure_not_success(tmp_path, capsys, text):
    path = write(tmp_path, text)
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "failed to load" in err and "SystemExit: 0" in err


def test_build_that_raises_shows_the_users_traceback(tmp_path, capsys):
    path = write(tmp_path, "def build(options):\n    return 1 / 0\n")
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "line 2" in err


def test_builder_errors_name_node_and_field(tmp_path, capsys):
    path = write(tmp_path, GOOD_FILE.replace('"10.9.0.2/24"', '"10.9.0.300/24"'))
    assert main(["validate", path]) == 2
    assert "pc2: pc2-eth0: ip" in capsys.readouterr().err


@pytest.mark.parametrize("spec,message", [
    ("nosuch", "unknown topology 'nosuch'"),
    ("./missing.py", "no such topology file"),
])
def test_unknown_topology(spec, message, capsys):
    assert main(["validate", spec]) == 2
    assert message in capsys.readouterr().err


def test_file_without_build(tmp_path, capsys):
    assert main(["validate", write(tmp_path, "X = 1\n")]) == 2
    assert "defines no build(options) function" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["up", "arp-lan"], ["clean"], ["down"],
                                     ["exec", "A", "--", "true"], ["demo", "arp-lan"]])
def test_commands_that_build_need_root(command, monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(command) == 1
    assert "run it as root" in capsys.readouterr().err


def test_exec_keeps_the_commands_own_options():
    args = _parse(["exec", "xiaoming", "--", "ping", "-c1", "--help"])
    assert args.node == "xiaoming" and args.argv == ["ping", "-c1", "--help"]


def test_conflicting_or_bad_options_are_refused_before_any_work(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["up", "enterprise", "--dhcp-server", "kea"])
    assert exit_info.value.code == 2


def test_a_missing_binary_names_its_debian_package():
    from orchestrator.errors import MissingBinary
    from orchestrator.processes.binaries import require
    with pytest.raises(MissingBinary) as failure:
        require("dhcrelay-nope")
    assert "apt-get install" in str(failure.value)
    from orchestrator.processes.binaries import PACKAGES
    assert PACKAGES["dhcpd"] == "isc-dhcp-server" and PACKAGES["dhcrelay"] == "isc-dhcp-relay"


TOPOLOGY_COMMANDS = ("validate", "up", "demo", "verify")


@pytest.mark.parametrize("command", TOPOLOGY_COMMANDS)
def test_every_topology_command_takes_vlan_and_no_vlan(command):
    assert _parse([command, "enterprise"]).vlan is True
    assert _parse([command, "enterprise", "--vlan"]).vlan is True
    assert _parse([command, "enterprise", "--no-vlan"]).vlan is False


def test_no_vlan_builds_the_flat_variant(capsys):
    assert main(["validate", "enterprise", "--no-vlan", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True
    from orchestrator.cli.common import topology_options
    assert topology_options(_parse(["validate", "enterprise", "--no-vlan"])).vlans is False


@pytest.mark.parametrize("command", [["list"], ["validate", "home"], ["up", "home"],
                                     ["demo", "home"], ["verify", "home"], ["race"],
                                     ["down", "--list"], ["clean"]])
def test_every_command_that_prints_a_table_or_list_takes_format_table_or_json(command):
    assert _parse(command).format == "table"
    assert _parse([*command, "--format", "json"]).format == "json"
    with pytest.raises(SystemExit) as exit_info:
        _parse([*command, "--format", "text"])
    assert exit_info.value.code == 2


def test_down_list_as_json_with_no_lab_up(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWLAB_RUNS", str(tmp_path))
    assert main(["down", "--list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_up_takes_allow_unbound():
    assert _parse(["up", "home"]).allow_unbound is False
    assert _parse(["up", "home", "--allow-unbound"]).allow_unbound is True


def test_the_cards_command_works_with_the_system_interpreter():
    """``sudo python -m orchestrator ...`` in the clone runs Debian's python,
    which hands the command over to the clone's .venv."""
    import os
    import subprocess
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    if not (repo / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in this clone: 'make setup' creates it")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH",
                                                            "FLOWLAB_VENV_HANDOVER")}
    result = subprocess.run(["/usr/bin/python3", "-m", "orchestrator", "list", "--format",
                             "json"], cwd=repo, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "enterprise" in {t["name"] for t in json.loads(result.stdout)}


def test_verify_refuses_a_ladder_in_json_before_any_work(capsys):
    assert main(["verify", "enterprise", "--ladder", "--format", "json"]) == 2
    assert "--ladder" in capsys.readouterr().err
