"""The controller's configuration file: what the lab asks its controller process to run.

Written by the lab into the run directory, read by
``python -m orchestrator.controller.run CONFIG``: one typed record, so
that neither side parses the other's command line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

LISTEN_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ControllerConfig:
    port: int                        # OpenFlow TCP port on LISTEN_HOST
    apps: tuple[str, ...]            # module names or .py files, loaded in this order
    fabric: str                      # the lab's fabric file (JSON)
    status: str                      # where the monitor writes its status (JSON)
    listen_host: str = LISTEN_HOST
    ryu_compat: bool = True          # ``import ryu...`` answered by os-ken

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def read(cls, path: str | Path) -> "ControllerConfig":
        data = json.loads(Path(path).read_text())
        return cls(**dict(data, apps=tuple(data["apps"])))
