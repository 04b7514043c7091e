"""Exercises for courses: a lab broken on purpose, diagnosed live, graded from packets.

A *fault* (:mod:`.faults`, the catalogue in :mod:`.catalogue`) is a small,
named deviation of a running lab from its model: a daemon rendered from a
transformed copy of the model (a DHCP server offering a wrong router), or a
command in a node (a route deleted, a port moved to another VLAN).  Which
node, route or VLAN it hits is a *variant*, found in the model and chosen
by a seed (the student id).  The lab's model stays the intended design, so
the model-derived checks judge the broken lab against what it should be
and name the packet that is missing.

A *session* (:mod:`.session`) holds one variant on one lab: apply, check,
solve (the reference repair), reset (back to the start of the exercise).
``exercise start`` holds the lab and serves the other commands over a
socket in the run directory (:mod:`.control`).
"""
