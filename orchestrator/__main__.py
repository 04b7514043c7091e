"""``python -m orchestrator``: the flowlab command line.

The project's card says ``sudo python -m orchestrator up enterprise``, typed
in the clone: there ``python`` is the system's interpreter (Debian's
python-is-python3, which the set-up installs), which lacks the project's
Python packages; they live in the clone's ``.venv``.  So an interpreter
other than that venv's hands the same command over to it, once.
"""

import os
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".venv"
HANDED_OVER = "FLOWLAB_VENV_HANDOVER"


def _hand_over_to_the_venv() -> None:
    python = VENV / "bin" / "python"
    if os.environ.get(HANDED_OVER) or not python.exists():
        return
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    os.environ[HANDED_OVER] = "1"
    os.execv(str(python), [str(python), "-m", "orchestrator", *sys.argv[1:]])


if __name__ == "__main__":
    _hand_over_to_the_venv()
    try:
        from orchestrator.cli import main
    except ModuleNotFoundError as missing:
        sys.exit(f"flowlab: {sys.executable} has no module {missing.name!r}: run 'sudo make "
                 f"setup' in the clone (it creates {VENV}), then the same command again")
    sys.exit(main())
