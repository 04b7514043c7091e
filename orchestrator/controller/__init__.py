"""The optional OpenFlow controller of a lab: os-ken (Ryu's API, maintained).

- :mod:`.launcher`: the lab's side: which apps, the fabric file rendered
  from the model, the supervised process, readiness, evidence;
- :mod:`.run`: the controller process (``python -m orchestrator.controller.run``);
- :mod:`.fabric`: the model as the apps see it, typed records parsed once;
- :mod:`.apps`: the apps flowlab ships (``l2``, ``dhcp-guard``) and the monitor;
- :mod:`.ryu_compat`: ``import ryu...`` answered by os-ken, for users' Ryu apps.
"""
