"""The programs flowlab's checks run inside lab nodes: not daemons, but one
step of a check each (ask, attack, craft a packet, play one end of a TCP
connection), run with the venv's Python as ``python -m services.tools.NAME
ARGS`` (:func:`services.base.python_module` through the lab's exec), so that
they are linted, imported and unit-tested like the rest of the code rather
than shipped as strings of Python.  Each takes its arguments by argparse
(:mod:`.arguments`) and, where the check needs an answer back, prints it as
JSON; the verdict stays the check's, from its captures.
"""
