"""Terminal output of the CLI: tables, progress and errors.

Colours and spinners only on a terminal; in CI or a pipe the same
information comes as plain lines.  Library code never prints: it reports
through callbacks, and only the CLI decides how that looks.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Iterator

from rich.console import Console
from rich.table import Table


def _console(stderr: bool = False) -> Console:
    """On a terminal rich sizes tables to it; in a pipe or a CI log a table
    must not be cut to 80 columns, so it gets room."""
    probe = Console(stderr=stderr)
    return Console(stderr=stderr, highlight=False,
                   width=None if probe.is_terminal else 200)


out = _console()
err = _console(stderr=True)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True) if err.is_terminal \
        else err.print(f"error: {message}", markup=False, soft_wrap=True)


def note(message: str) -> None:
    err.print(f"flowlab: {message}", markup=False, soft_wrap=True)


@contextlib.contextmanager
def progress(title: str) -> Iterator:
    """A callback for progress messages: a spinner on a terminal, lines otherwise."""
    if err.is_terminal:
        with err.status(title) as status:
            yield lambda message: status.update(f"{title}: {message}")
    else:
        note(title)
        yield note


def table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*[str(cell) for cell in row])
    out.print(grid)


def unbound(clients: list) -> None:
    """The DHCP clients a lab came up without (``up --allow-unbound``),
    each with why: what it waited for and the end of its log."""
    if not clients:
        return
    note(f"{len(clients)} DHCP client(s) UNBOUND: no lease by their deadline; the lab is up "
         "and they keep trying")
    for client in clients:
        err.print(f"  {client.describe()}".replace("\n", "\n    "), markup=False,
                  soft_wrap=True)


def lab_summary(topology: str, run_id: str, rows: list[dict]) -> None:
    columns = ["node", "role", "interface", "MAC", "address", "lease", "VLAN", "peer", "subnet"]
    table(f"{topology} (run {run_id})", columns,
          [[r["node"], r["role"], r["interface"], r["mac"],
            r["address"] or ("dhcp" if r["dhcp"] else "-"),
            r.get("lease") or ("static" if r["address"] else "-"),
            r["vlan"], r["peer"], r["subnet"]]
           for r in rows])
