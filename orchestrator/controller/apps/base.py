"""What flowlab's own apps share: the fabric, port names, the table-miss flow.

An app learns the lab's model from the fabric file the lab rendered
(``CONF.flowlab_fabric``; tests pass ``fabric=`` instead) and finds a
switch by its datapath id.  A datapath becomes usable when os-ken has its
port descriptions (the MAIN state): the app then maps OpenFlow port numbers
to the model's port names, installs its proactive flows and the table-miss
flow, and tells the monitor it is ready.  Until then, in secure fail mode,
the switch forwards nothing, so a lab is ready only when every app has
said so for every switch.
"""

from __future__ import annotations

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import DEAD_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

from ..fabric import Fabric, FabricSwitch, load

cfg.CONF.register_opts([
    cfg.StrOpt("flowlab_fabric", default="", help="the lab's fabric file (JSON)"),
    cfg.StrOpt("flowlab_status", default="", help="where the monitor writes its status"),
])

MONITOR_NAME = "FlowlabMonitor"
TABLE_MISS_PRIORITY = 0


class FlowlabApp(app_manager.OSKenApp):
    """Base of flowlab's apps: one OpenFlow 1.3 app per lab, knowing its fabric."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]
    COOKIE = 0           # subclasses mark their flows, so that dump-flows shows whose they are

    def __init__(self, *args, fabric: Fabric | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fabric = fabric if fabric is not None else load(cfg.CONF.flowlab_fabric)
        self.port_names: dict[int, dict[int, str]] = {}      # dpid -> ofport -> name
        self.port_numbers: dict[int, dict[str, int]] = {}    # dpid -> name -> ofport
        self.datapaths: dict[int, object] = {}

    # -- datapaths coming and going ------------------------------------------------------
    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def _state_change(self, ev):
        datapath = ev.datapath
        if ev.state == MAIN_DISPATCHER:
            self.datapath_up(datapath)
        elif datapath.id is not None:
            self.datapaths.pop(datapath.id, None)
            self.datapath_down(datapath.id)

    @set_ev_cls(ofp_event.EventOFPPortStateChange, MAIN_DISPATCHER)
    def _port_change(self, ev):
        self._map_ports(ev.datapath)

    def datapath_up(self, datapath) -> None:
        switch = self.fabric.switch(datapath.id)
        if switch is None:
            self.logger.warning("datapath %016x is not a switch of %s: ignored", datapath.id,
                                self.fabric.topology)
            return
        self.datapaths[datapath.id] = datapath
        self._map_ports(datapath)
        missing = [p.name for p in switch.ports if p.name not in self.port_numbers[datapath.id]]
        if missing:
            self.logger.warning("%s: ports of the model not on the bridge: %s", switch.name,
                                ", ".join(missing))
        self.install_proactive(datapath, switch)
        self.add_flow(datapath, TABLE_MISS_PRIORITY, datapath.ofproto_parser.OFPMatch(),
                      [datapath.ofproto_parser.OFPActionOutput(
                          datapath.ofproto.OFPP_CONTROLLER, datapath.ofproto.OFPCML_NO_BUFFER)])
        self.logger.info("datapath %016x (%s, %d ports) ready for %s", datapath.id, switch.name,
                         len(self.port_numbers[datapath.id]), self.name)
        monitor = app_manager.lookup_service_brick(MONITOR_NAME)
        if monitor is not None:
            monitor.datapath_ready(datapath.id, self.name)

    def datapath_down(self, dpid: int) -> None:
        """A switch disconnected: forget what was learned on it."""

    def install_proactive(self, datapath, switch: FabricSwitch) -> None:
        """Flows an app installs before the first packet (none by default)."""

    def _map_ports(self, datapath) -> None:
        names = {}
        for number, port in getattr(datapath, "ports", {}).items():
            name = port.name.decode() if isinstance(port.name, bytes) else str(port.name)
            if number < datapath.ofproto.OFPP_MAX:
                names[number] = name
        self.port_names[datapath.id] = names
        self.port_numbers[datapath.id] = {name: number for number, name in names.items()}

    # -- helpers -----------------------------------------------------------------------------
    def switch_of(self, datapath) -> FabricSwitch | None:
        return self.fabric.switch(datapath.id)

    def port_name(self, datapath, number: int) -> str:
        return self.port_names.get(datapath.id, {}).get(number, "")

    def add_flow(self, datapath, priority: int, match, actions, idle_timeout: int = 0) -> None:
        parser, ofp = datapath.ofproto_parser, datapath.ofproto
        instructions = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)] \
            if actions else []
        datapath.send_msg(parser.OFPFlowMod(datapath=datapath, cookie=self.COOKIE,
                                            priority=priority, match=match,
                                            instructions=instructions,
                                            idle_timeout=idle_timeout))

    def packet_out(self, datapath, msg, in_port: int, actions) -> None:
        parser, ofp = datapath.ofproto_parser, datapath.ofproto
        data = msg.data if msg.buffer_id == ofp.OFP_NO_BUFFER else None
        datapath.send_msg(parser.OFPPacketOut(datapath=datapath, buffer_id=msg.buffer_id,
                                              in_port=in_port, actions=actions, data=data))
