"""The benchmarks, each against a baseline measured in the same run.

Run from the repository as modules (``sudo .venv/bin/python -m bench.bringup``, as ``make bench``
does): the project itself comes from the editable install of ``.venv``, this package from the
working directory, so no script edits ``sys.path``.  The goals they report on: :mod:`bench.goals`.
"""
