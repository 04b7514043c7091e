"""The controller process: ``python -m orchestrator.controller.run CONFIG``.

os-ken 4 has no launcher command (``osken-manager`` went in 4.0), so this
does what it did: parse os-ken's configuration (listen on loopback, on the
port the lab chose), load the apps and the monitor, instantiate them and
run until SIGTERM.  It logs ``listening on HOST:PORT`` once the OpenFlow
port accepts connections (seen in /proc/net/tcp, without connecting): the
lab's supervisor waits for that line before creating the bridges.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import time

from .config import ControllerConfig

LISTEN_DEADLINE = 10.0
TCP_LISTEN = "0A"


def listening(host: str, port: int) -> bool:
    """Whether a socket listens on host:port (IPv4), from /proc/net/tcp."""
    octets = [int(part) for part in host.split(".")]
    wanted = "".join(f"{o:02X}" for o in reversed(octets)) + f":{port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        return any(fields[1] == wanted and fields[3] == TCP_LISTEN
                   for fields in (line.split() for line in table))


def stop(log: logging.Logger) -> None:
    """SIGTERM: leave at once.  The controller keeps nothing to save, and
    os-ken's own close waits on its server threads for seconds, which the
    lab's teardown would pay at every run."""
    log.info("stopping on SIGTERM")
    logging.shutdown()
    os._exit(0)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m orchestrator.controller.run CONFIG", file=sys.stderr)
        return 2
    config = ControllerConfig.read(argv[0])
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log = logging.getLogger("flowlab-controller")
    if config.ryu_compat:
        from . import ryu_compat
        ryu_compat.install()

    import os_ken.controller.controller  # noqa: F401  (registers the ofp_* options)
    from os_ken import cfg
    from os_ken.base.app_manager import AppManager

    from .apps import (
        MONITOR,
        base,  # noqa: F401  (registers the flowlab_* options)
    )

    cfg.CONF(args=["--ofp-listen-host", config.listen_host,
                   "--ofp-tcp-listen-port", str(config.port)], project="os_ken")
    cfg.CONF.set_override("flowlab_fabric", config.fabric)
    cfg.CONF.set_override("flowlab_status", config.status)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop(log))
    # 'kill -USR1 PID' writes every thread's stack to the log: a stuck app shows where.
    faulthandler.register(signal.SIGUSR1, file=sys.stdout, all_threads=True)

    manager = AppManager.get_instance()
    apps = [*config.apps, MONITOR, "os_ken.controller.ofp_handler"]
    log.info("loading %s", ", ".join(apps))
    manager.load_apps(apps)
    empty = [app for app in config.apps if app not in manager.applications_cls]
    if empty:
        log.error("no app class (a subclass of OSKenApp or RyuApp defined there) in %s",
                  ", ".join(empty))
        return 1
    services = manager.instantiate_apps(**manager.create_contexts())
    deadline = time.monotonic() + LISTEN_DEADLINE
    while not listening(config.listen_host, config.port):
        if time.monotonic() > deadline:
            log.error("nothing listens on %s:%d after %.0f s", config.listen_host,
                      config.port, LISTEN_DEADLINE)
            return 1
        time.sleep(0.01)
    log.info("listening on %s:%d", config.listen_host, config.port)
    try:
        # Not hub.joinall: a thread join holds off SIGTERM's handler for a second or more.
        while any(thread.is_alive() for thread in services):
            time.sleep(0.2)
    finally:
        log.info("stopping")
        manager.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
