"""One name -> topology registry, as Mininet's ``TOPOS``, plus user files by path.

``load("enterprise", options)`` and ``load("./mylab.py", options)`` both
return a built but unvalidated :class:`~orchestrator.model.topology.Topology`.  A
user's file that raises while importing or building is reported with the
user's own traceback, so they see their line, not ours.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from topologies import REGISTRY

from ..errors import TopologyError, TopologyImportError, TopologyNotFound
from .topology import Topology, TopologyOptions


@dataclass(frozen=True)
class TopologyInfo:
    name: str
    description: str
    source: str


def describe(module: ModuleType) -> str:
    """The first line of the module's docstring: what ``list`` prints."""
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def available() -> list[TopologyInfo]:
    return [TopologyInfo(name, describe(importlib.import_module(path)), path)
            for name, path in sorted(REGISTRY.items())]


def looks_like_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec


def recorded_spec(spec: str) -> str:
    """``spec`` as a run records it for later (``report DIR``): a registered
    name as it is, a file by its absolute path."""
    return str(Path(spec).resolve()) if looks_like_path(spec) else spec


def _import_file(path: Path) -> ModuleType:
    """Import a user's file once per process: ``load`` and ``user_checks``
    both need it, and a second import would run the user's code twice."""
    name = f"flowlab_user_topology_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TopologyNotFound(f"{path}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit):     # a sys.exit() in the user's file is a failure too
        sys.modules.pop(name, None)
        raise TopologyImportError(str(path), _user_traceback(path)) from None
    return module


def _user_traceback(path: Path) -> str:
    """The traceback from the user's file down, without our loader frames."""
    exc_type, exc, tb = sys.exc_info()
    frames = traceback.extract_tb(tb)
    resolved = str(path.resolve())
    for index, frame in enumerate(frames):
        if Path(frame.filename).resolve().as_posix() == resolved:
            frames = frames[index:]
            break
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(exc_type, exc)
    return "".join(lines).rstrip()


def module_for(spec: str) -> ModuleType:
    if spec in REGISTRY:
        return importlib.import_module(REGISTRY[spec])
    if looks_like_path(spec):
        path = Path(spec)
        if not path.is_file():
            raise TopologyNotFound(f"{spec}: no such topology file")
        return _import_file(path)
    known = ", ".join(sorted(REGISTRY))
    raise TopologyNotFound(f"unknown topology '{spec}'; known: {known} (or give a path to a .py file)")


def load(spec: str, options: TopologyOptions | None = None) -> Topology:
    """Build the topology named by ``spec`` (a registered name or a path)."""
    options = options or TopologyOptions()
    module = module_for(spec)
    build = getattr(module, "build", None)
    if not callable(build):
        raise TopologyError(None, "build", f"{spec}: defines no build(options) function")
    if options.guests is not None and not getattr(module, "TAKES_GUESTS", False):
        raise TopologyError(None, "guests", f"{spec} takes no guests (--guests is for a "
                                            "topology whose module sets TAKES_GUESTS, as scale)")
    try:
        topo = build(options)
    except TopologyError:
        raise
    except (Exception, SystemExit):     # sys.exit(0) in build() must not pass for success
        if looks_like_path(spec):
            raise TopologyImportError(spec, _user_traceback(Path(spec))) from None
        raise
    if not isinstance(topo, Topology):
        raise TopologyError(None, "build", f"{spec}: build() returned {type(topo).__name__}, "
                            "not a Topology")
    return topo


def checks_file(spec: str) -> Path | None:
    """``<stem>_checks.py`` beside a user's topology file, where checks may
    live apart from the network they prove."""
    if not looks_like_path(spec):
        return None
    path = Path(spec)
    beside = path.with_name(f"{path.stem}_checks.py")
    return beside if beside.is_file() else None


def user_checks(spec: str) -> list:
    """The checks declared with ``@check`` in a topology's module and in the
    checks file beside it, refused when two share a name."""
    from ..checks.user import checks_in
    found = checks_in(module_for(spec))
    beside = checks_file(spec)
    if beside is not None:
        found += checks_in(_import_file(beside))
    seen: dict[str, object] = {}
    for declared in found:
        if declared.name in seen:
            raise TopologyError(None, f"check {declared.name!r}",
                                f"{spec}: declared twice")
        seen[declared.name] = declared
    return found
