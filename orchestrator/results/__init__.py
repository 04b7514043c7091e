"""The records a run leaves: what verify proved (:mod:`.verify`, results.json),
what the relay race measured (:mod:`.race`, race.json) and how an exercise
was graded (:mod:`.grade`, grade.json).

Each file has one owner here: its name, its keys and its format version are
known to this package only.  Everyone else (the CLI, the report, the ladder,
exercises, benchmarks, a batch of jobs on other machines) writes and reads
typed records through :func:`write` and :func:`read` of the module that owns
the file, so a field renamed here is renamed everywhere, and a file written
by an older flowlab still reads, or is refused saying which version it is.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import FlowlabError


class ResultsError(FlowlabError):
    """A run directory whose record is missing, broken or of another version."""

    exit_status = 2


def kind_of(directory: Path) -> str:
    """``"verify"`` or ``"race"``: which record a run directory holds (a race
    directory may hold its runs in subdirectories, side by side)."""
    from . import race, verify
    directory = Path(directory)
    if verify.holds(directory):
        return "verify"
    if race.files(directory):
        return "race"
    raise ResultsError(f"{directory}: neither {verify.FILE} (verify) nor {race.FILE} (race) "
                       "in it")


__all__ = ["ResultsError", "kind_of"]
