"""A run's bookkeeping: its directory and record (:mod:`.rundir`), removing
what a crashed run left behind by its marks (:mod:`.cleanup`) and how long
run directories are kept (:mod:`.retention`).
"""
