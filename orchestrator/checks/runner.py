"""Running checks in a lab that is up, and collecting their results.

Checks run one after another in the order of FLOWS.md; one that fails does
not stop the others.  Each gets its own pcap directory; ``results.json``
holds, per check, its name, verdict, key evidence, failures, the errata it
demonstrated, its time and the part of it spent waiting on protocol timers,
and per capture block the frames and distinct packets (a ladder's arrows).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Callable

from ..errors import FlowlabError
from ..lab import Lab
from ..ladder.load import capture_counts
from .base import Check, CheckContext, CheckResult


def run_check(lab: Lab, check: Check, pcaps: Path) -> CheckResult:
    ctx = CheckContext(lab, check.name, pcaps / check.name)
    start = time.monotonic()
    result = CheckResult(check.name, passed=False)
    before = lab.controller.packet_ins() if lab.controller is not None else {}
    try:
        result.evidence = check.run(ctx)
        result.passed = True
    except AssertionError as failure:          # ExpectationFailed, and facts off the wire
        result.failures.append(str(failure))
    except FlowlabError as error:
        result.failures.append(f"{type(error).__name__}: {error}")
    except Exception:   # a bug in a check is reported, and the others still run
        result.failures.append(traceback.format_exc())
    result.seconds = time.monotonic() - start
    if lab.controller is not None:       # the flows and packet-ins behind what was seen
        under = lab.controller.evidence(before, pcaps / check.name)
        result.evidence = f"{result.evidence}; {under}" if result.evidence else under
        if result.failures:
            result.failures.append(under)
    result.protocol_wait = ctx.protocol_wait
    result.errata = ctx.errata
    result.pcaps = ctx.pcaps
    return result


def run_checks(lab: Lab, checks: list[Check], out: Path,
               progress: Callable[[str], None] = lambda message: None) -> list[CheckResult]:
    results = []
    for check in checks:
        progress(f"check {check.name}")
        results.append(run_check(lab, check, out / "pcaps"))
    return results


def write_results(out: Path, topology: str, options: dict, results: list[CheckResult],
                  seconds: float, unbound: list[str] = (), spec: str = "") -> Path:
    """``unbound``: the DHCP clients that held no lease when the lab came up;
    ``spec``: where the topology came from (a name or a file), for the report."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.json"
    path.write_text(json.dumps({
        "topology": topology, "spec": spec, "options": options,
        "passed": all(r.passed for r in results),
        "seconds": round(seconds, 3), "unbound": list(unbound),
        "checks": [dict(r.as_dict(), captures=capture_counts(r.pcaps)) for r in results],
    }, indent=2))
    return path
