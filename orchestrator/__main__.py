"""``python -m orchestrator``: the flowlab command line."""

import sys

from orchestrator.cli import main

sys.exit(main())
