"""flowlab's orchestrator: topology model, lab lifecycle, captures and checks."""

__version__ = "0.1.0"
