"""What faults do to a running lab: run commands in nodes, swap a daemon for
one rendered from another model, restart DHCP clients.

Everything goes through the lab's own handles (``lab.run_in`` and
``lab.services``), so what a fault starts is recorded in the run and
stopped with the lab like any daemon.
"""

from __future__ import annotations

from services import plan
from services.dhcp_client import DHCP_CLIENT

from ..errors import LabError
from ..processes.services_api import kind_of

SETTLE_SECONDS = 5.0
"""How long a restarted DHCP client that is not expected to bind is given
before the exercise goes on (it keeps trying): its DISCOVERs are on the
wire by then, which is the symptom."""


def run(lab, node: str, argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> str:
    """Run ``argv`` in ``node``; a status outside ``ok_codes`` raises,
    naming the command and what it said."""
    done = lab.run_in(node, argv)
    if done.returncode not in ok_codes:
        raise LabError(f"{node}: {' '.join(argv)} failed ({done.returncode}): "
                       f"{(done.stderr or done.stdout).strip()}")
    return done.stdout


def swap_daemon(lab, kind: str, node: str, topo) -> None:
    """Restart ``node``'s ``kind`` daemon as rendered from ``topo`` (a
    transformed model, or the lab's own to repair it).  The new launch
    replaces the old one in ``lab.services``: a check that restarts the
    daemon restarts this one."""
    daemon = next(d for d in plan.daemons(topo, lab.run.path)
                  if kind_of(d) == kind and d.ctx.host.name == node)
    lab.services.swap(lab.services.find(kind, node), daemon)


def restart_clients(lab, clients: list[tuple[str, str]], wait: bool = True) -> list[str]:
    """Restart these DHCP clients from scratch, all at once.  ``wait``:
    until each is bound (its deadline); otherwise a few seconds, and those
    still unbound keep trying.  Returns the clients not bound."""
    services = lab.services
    instances = [services.find(DHCP_CLIENT, node, iface) for node, iface in clients]
    if not instances:
        return []
    late = services.restart_dhcp_clients(instances, within=None if wait else SETTLE_SECONDS)
    return [f"{u.node}:{u.iface}" for u in late]
