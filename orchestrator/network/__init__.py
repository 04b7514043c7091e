"""From the model to a live network: Mininet nodes, OVS bridges, veth links.

What the machine can do (:mod:`.capabilities`), Open vSwitch as a service
(:mod:`.ovs`), flowlab's node classes (:mod:`.nodes`) and the build itself
(:mod:`.netbuild`).  Nothing here starts a daemon: that is :mod:`..processes`.
"""
