"""The daemons of a lab as processes: found, started in their nodes, proven
ready, stopped by pid.

The programs a node runs (:mod:`.nodeexec`), the binaries they need
(:mod:`.binaries`), the supervisor that starts and stops them
(:mod:`.supervisor`) and the one API through which checks, exercises and
users reach a running daemon (:mod:`.services_api`).  What each daemon runs
is decided in the top-level ``services`` package, from the model.
"""
