"""Ryu's import names onto os-ken, so that an app written for Ryu loads unchanged.

os-ken is Ryu's maintained fork with the package renamed (``ryu`` ->
``os_ken``) and a few names with it (``RyuApp`` -> ``OSKenApp``,
``RyuException`` -> ``OSKenException``).  :func:`install` puts a finder on
``sys.meta_path`` that answers an import of ``ryu`` or ``ryu.X.Y`` with the
module ``os_ken.X.Y`` itself (one module under two names: a handler
registered through either name is the same handler), and gives each such
module the Ryu spelling of every ``OSKen*`` name it defines.

What Ryu had and os-ken dropped stays missing and fails with Ryu's name in
the ImportError: the sample apps (``ryu.app.simple_switch_13``...), the
REST/WSGI apps (``ryu.app.wsgi``, ``ofctl_rest``) and the
``ryu-manager`` command.  Installed only in the controller's process.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

RYU, OSKEN = "ryu", "os_ken"


def os_ken_name(ryu_name: str) -> str | None:
    """``ryu.controller.handler`` -> ``os_ken.controller.handler``; None
    for a name outside the ``ryu`` package (``ryutils``)."""
    if ryu_name == RYU:
        return OSKEN
    if ryu_name.startswith(RYU + "."):
        return OSKEN + ryu_name[len(RYU):]
    return None


def add_ryu_names(module) -> None:
    """``OSKenApp`` is also ``RyuApp`` (the same object) in ``module``."""
    for name, value in list(vars(module).items()):
        if name.startswith("OSKen"):
            setattr(module, "Ryu" + name[len("OSKen"):], value)


class RyuAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``ryu.*`` as the same module objects as ``os_ken.*``."""

    def find_spec(self, fullname, path=None, target=None):
        target_name = os_ken_name(fullname)
        if target_name is None:
            return None
        try:
            found = importlib.util.find_spec(target_name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return None      # the import fails as it would with Ryu missing that module
        return importlib.util.spec_from_loader(
            fullname, self, is_package=found.submodule_search_locations is not None)

    def __init__(self):
        self._specs: dict[str, object] = {}

    def create_module(self, spec):
        module = importlib.import_module(os_ken_name(spec.name))
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module):
        # importlib gave the shared module the alias's spec: give it its own back.
        module.__spec__ = self._specs.get(module.__name__, module.__spec__)
        add_ryu_names(module)


RENAMED_IN = ("os_ken.base.app_manager", "os_ken.exception")
"""The modules defining the renamed classes: given their Ryu names at once,
since ``from ryu.base import app_manager`` imports the submodule by its
parent's real name (``os_ken.base.app_manager``), past the finder."""


def install() -> None:
    """Make ``import ryu...`` work in this process (once)."""
    for name in RENAMED_IN:
        add_ryu_names(importlib.import_module(name))
    if not any(isinstance(finder, RyuAliasFinder) for finder in sys.meta_path):
        # First: the path finder would otherwise load os_ken/base/app_manager.py
        # a second time as ryu.base.app_manager, with a second OSKenApp class.
        sys.meta_path.insert(0, RyuAliasFinder())
