"""A user's own suite, in their own folder, sees none of Mininet's warnings but all of its own.

Mininet 2.3.0 compares OVS versions with distutils' ``StrictVersion``: two DeprecationWarnings
per comparison, 36 per lab, in the warnings summary of every suite using our plugin. Our own
pyproject filtered them, which is why our suite never showed them; a user's folder has no
pyproject of ours, so the plugin must filter them itself. The comparison runs here without
root (``OVSSwitch.isOldOVS`` with a version set, as a lab's bring-up does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

MININET_WARNING = "distutils Version classes are deprecated"
USER_WARNING = "the user's own deprecation"

USER_TESTS = textwrap.dedent(f'''
    import warnings

    from mininet.node import OVSSwitch


    def test_compares_ovs_versions_as_a_lab_does():
        OVSSwitch.OVSVersion = "3.1"
        assert not OVSSwitch.isOldOVS()


    def test_warns_on_its_own():
        warnings.warn("{USER_WARNING}", DeprecationWarning)
''')


def run_users_suite(folder, *options: str) -> str:
    """pytest in the user's folder with this venv, as they would run it; its whole output."""
    (folder / "test_users_own.py").write_text(USER_TESTS)
    # Their folder's own (empty) config: pytest must not find one of an enclosing folder.
    (folder / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONWARNINGS", "PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
    return result.stdout


def test_without_the_plugin_mininet_warns(tmp_path):
    """The premise: the user's tests do make Mininet warn (or the next test proves nothing)."""
    out = run_users_suite(tmp_path, "-p", "no:flowlab")
    assert MININET_WARNING in out and USER_WARNING in out


def test_the_plugin_hides_mininets_warnings_and_keeps_the_users(tmp_path):
    out = run_users_suite(tmp_path)
    assert MININET_WARNING not in out, out
    assert USER_WARNING in out, out
