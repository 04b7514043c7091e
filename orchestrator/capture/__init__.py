"""Captures: tcpdump inside lab nodes (:mod:`.tcpdump`), and the one pipeline
from tcpdump to evidence that the checks and the race share
(:mod:`.recording`).  Reading and judging what was captured is
:mod:`orchestrator.packets`.
"""
