"""The monitor, loaded beside every app: which switches are connected and
ready, and how many packets each sent to the controller.

It writes its status as JSON (``CONF.flowlab_status``), replaced whole so a
reader never sees half a file: the lab waits on it for readiness, and the
checks read packet-in counts from it as evidence.  A user's app that is not
one of flowlab's is counted ready when its switch is connected.
"""

from __future__ import annotations

import json
import os
import threading
import time

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from .base import FlowlabApp

WRITE_EVERY = 0.05    # seconds: packet-ins are counted at once, the status written this often


class FlowlabMonitor(app_manager.OSKenApp):
    """Named MONITOR_NAME (os-ken names an app after its class)."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, status_path: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.status_path = status_path if status_path is not None else cfg.CONF.flowlab_status
        self.connected: set[int] = set()
        self.ready: dict[str, set[int]] = {}
        self.packet_in: dict[int, int] = {}
        self.started = time.time()
        self.lock = threading.Lock()

    def start(self):
        thread = super().start()
        self.threads.append(hub.spawn(self._writer))
        return thread

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev):
        dpid = ev.datapath.id
        if dpid is None:
            return
        with self.lock:
            if ev.state == MAIN_DISPATCHER:
                self.connected.add(dpid)
            else:
                self.connected.discard(dpid)
                for dpids in self.ready.values():
                    dpids.discard(dpid)
        self.logger.info("datapath %016x %s", dpid,
                         "connected" if ev.state == MAIN_DISPATCHER else "disconnected")
        self.write()

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def _packet_in(self, ev):
        dpid = ev.msg.datapath.id
        self.packet_in[dpid] = self.packet_in.get(dpid, 0) + 1

    def datapath_ready(self, dpid: int, app: str) -> None:
        """Called by flowlab's apps, in their own threads, once their flows
        are on the switch."""
        with self.lock:
            self.ready.setdefault(app, set()).add(dpid)
        self.write()

    def status(self) -> dict:
        apps = sorted(app.name for app in app_manager.SERVICE_BRICKS.values()
                      if isinstance(app, FlowlabApp))
        return {"pid": os.getpid(), "started": self.started, "written": time.time(),
                "apps": apps, "connected": sorted(self.connected),
                "ready": {app: sorted(dpids) for app, dpids in sorted(self.ready.items())},
                "packet_in": {str(dpid): n for dpid, n in sorted(self.packet_in.items())}}

    def write(self) -> None:
        """Replace the status file; apps' threads and the writer call this."""
        with self.lock:
            if not self.status_path:
                return
            temporary = f"{self.status_path}.tmp"
            with open(temporary, "w") as out:
                json.dump(self.status(), out)
            os.replace(temporary, self.status_path)

    def _writer(self):
        """Write every WRITE_EVERY s: a reader waiting for a status newer than
        some moment (the end of a check) waits no longer than that."""
        while self.is_active:
            self.write()
            hub.sleep(WRITE_EVERY)
