"""Ryu's import names onto os-ken: a Ryu app loads unchanged.

Each test runs in a fresh interpreter: installing the finder changes
``sys.meta_path`` for the process, as it does in the controller's own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from orchestrator.controller.ryu_compat import os_ken_name

SAMPLE = Path(__file__).resolve().parents[1] / "controller_apps" / "ryu_learning_switch.py"


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60)


def test_names_map_package_by_package():
    assert os_ken_name("ryu") == "os_ken"
    assert os_ken_name("ryu.controller.handler") == "os_ken.controller.handler"
    assert os_ken_name("ryutils") is None


def test_ryu_modules_are_the_os_ken_modules_with_ryu_names():
    result = python("""
        from orchestrator.controller import ryu_compat
        ryu_compat.install()
        from ryu.base import app_manager
        from ryu.controller import ofp_event, handler
        from ryu.exception import RyuException
        import os_ken.base.app_manager, os_ken.controller.ofp_event, os_ken.exception
        assert app_manager is os_ken.base.app_manager
        assert app_manager.RyuApp is os_ken.base.app_manager.OSKenApp
        assert ofp_event is os_ken.controller.ofp_event
        assert RyuException is os_ken.exception.OSKenException
        assert app_manager.__spec__.name == "os_ken.base.app_manager"
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_an_unchanged_ryu_app_is_found_by_os_kens_app_manager():
    result = python(f"""
        from orchestrator.controller import ryu_compat
        ryu_compat.install()
        from os_ken.base.app_manager import AppManager, OSKenApp
        cls = AppManager().load_app({str(SAMPLE)!r})
        assert cls is not None and issubclass(cls, OSKenApp), cls
        print(cls.__name__)
    """)
    assert result.stdout.strip() == "LearningSwitch13", result.stderr


def test_what_os_ken_dropped_fails_with_ryus_name():
    result = python("""
        from orchestrator.controller import ryu_compat
        ryu_compat.install()
        import ryu.app.simple_switch_13
    """)
    assert result.returncode != 0
    assert "No module named 'ryu.app.simple_switch_13'" in result.stderr


def test_without_the_layer_ryu_is_not_importable():
    """The layer is what makes the sample load: without it, the import fails."""
    result = python("import ryu.base.app_manager")
    assert result.returncode != 0 and "No module named 'ryu'" in result.stderr
