"""Router chain, broken: r1 lacks its route to lan2 (10.9.1.0/24).

The chain of ``chain.py`` with one static route left out, as a user would
forget it: ``reach`` must fail naming r1 and 10.9.1.0/24.
"""

from __future__ import annotations

from orchestrator.model import Topology, TopologyOptions
from tests.topologies import chain


def build(options: TopologyOptions = TopologyOptions()) -> Topology:
    return chain.build(options, missing_route=True)
