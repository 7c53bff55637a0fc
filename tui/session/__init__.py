"""The session layer, shared by the app and ``--plain``: between an event source (a live engine
run or a recording) and what shows it.

:mod:`.bridge` (the app's sources), :mod:`.pump` (reading an engine's batches to the end),
:mod:`.signals` (SIGINT, SIGTERM and SIGHUP: the app's policy and ``--plain``'s) and
:mod:`.exit_codes` (one table for both).
"""
